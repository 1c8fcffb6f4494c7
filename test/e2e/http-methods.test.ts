/**
 * End to end: unusual HTTP methods (CONNECT, TRACE, custom tokens) sent over a
 * raw socket to the production bundle on workerd: what reaches the Worker is a
 * JSON 404/405, and CONNECT never becomes a tunnel. Raw sockets because fetch
 * refuses to send CONNECT and TRACE at all.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  await gateway?.stop();
});

/** Sends one raw HTTP/1.1 request and returns the status and body of the answer. */
function rawRequest(method: string, target: string): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = "";
    socket.setEncoding("utf8");
    socket.setTimeout(10_000, () => socket.destroy(new Error("timed out")));
    socket.on("data", (chunk) => {
      data += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", body = ""] = data.split("\r\n\r\n");
      resolve({ status: Number(head.split(" ")[1]), head, body });
    });
    socket.write(
      `${method} ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${gateway.adminToken}\r\nConnection: close\r\n\r\n`,
    );
  });
}

describe("unusual HTTP methods on the wire", () => {
  it.each(["TRACE", "PROPFIND"])("%s reaches the Worker and is a JSON 404 or 405", async (method) => {
    for (const target of ["/", "/mcp", "/api/backends", "/health"]) {
      const res = await rawRequest(method, target);
      expect([404, 405], `${method} ${target}: ${res.head}\n${res.body}`).toContain(res.status);
      expect(res.head.toLowerCase()).toContain("content-type: application/json");
    }
  });

  // workerd answers these itself, before any Worker code runs: an unregistered method token is a
  // 501 from its HTTP parser, and CONNECT goes to the Worker's `connect()` socket handler, which
  // workerd first accepts with "200 OK" (global-scope.c++), so the gateway exports none: without
  // one, workerd refuses the CONNECT (with a 500 of its own). The Worker cannot answer 405 here.
  it.each(["TRACK", "X-CUSTOM"])("%s is refused by the runtime with 501", async (method) => {
    const res = await rawRequest(method, "/mcp");
    expect(res.status, res.head).toBe(501);
  });

  it("CONNECT never opens a tunnel", async () => {
    for (const target of ["/", "/mcp", new URL(gateway.url).host, "127.0.0.1:22"]) {
      const res = await rawRequest("CONNECT", target);
      expect(res.status, `${target}: ${res.head}`).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toMatch(/at \S+ \(|stack/i);
    }
  });
});
