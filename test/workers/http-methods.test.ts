// Unusual HTTP methods: those workerd delivers to fetch get a JSON 404 from the Worker; CONNECT never reaches it.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN } from "./helpers";

const PATHS = [
  "/",
  "/health",
  "/mcp",
  "/servers/x/mcp",
  "/sse",
  "/messages",
  "/servers/x/sse",
  "/api/backends",
  "/api/backends/x",
  "/metrics",
  "/nowhere",
];

describe("unusual HTTP methods", () => {
  it.each(["TRACE", "PROPFIND", "MKCOL", "PURGE"])("%s is a JSON 404 or 405 on every path", async (method) => {
    for (const path of PATHS) {
      const res = await exports.default.fetch(`http://gateway.test${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const text = await res.text();
      expect([404, 405], `${method} ${path}: ${res.status} ${text}`).toContain(res.status);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(JSON.parse(text)).toHaveProperty("error.code");
    }
  });

  // workerd hands CONNECT to a `connect()` socket handler, never to `fetch`, and its Request type
  // cannot even carry CONNECT or unregistered tokens: test/e2e/http-methods.test.ts covers them
  // on the wire.
  it.each(["CONNECT", "TRACK", "X-CUSTOM"])("%s cannot reach the fetch handler", (method) => {
    expect(() => new Request("http://gateway.test/", { method })).toThrow(TypeError);
  });
});

describe("HEAD on the MCP endpoints", () => {
  it("is 405 and opens no stream, with or without a session", async () => {
    const init = await exports.default.fetch("http://localhost/mcp", {
      method: "POST",
      headers: {
        authorization: `Bearer ${ADMIN}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    });
    const session = init.headers.get("mcp-session-id") ?? "";
    expect(session).not.toBe("");
    await init.body?.cancel();
    const head = await exports.default.fetch("http://localhost/mcp", {
      method: "HEAD",
      headers: { authorization: `Bearer ${ADMIN}`, accept: "text/event-stream", "mcp-session-id": session },
    });
    expect(head.status).toBe(405);
    expect(head.headers.get("content-type")).not.toContain("text/event-stream");
  });
});
