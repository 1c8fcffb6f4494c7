// What reaches a backend from a client's call: its configured headers (decrypted), never the client's credentials.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, api, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

const fakes: FakeBackend[] = [];
afterEach(() => {
  for (const fake of fakes.splice(0)) fake.close();
});

const CLIENT_HEADERS = {
  cookie: "session=client-cookie",
  "proxy-authorization": "Basic Y2xpZW50OnNlY3JldA==",
  "x-api-key": "client-api-key",
};

async function post(path: string, body: unknown, session?: string): Promise<Response> {
  return exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers: {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      authorization: `Bearer ${ADMIN}`,
      ...CLIENT_HEADERS,
      ...(session && { "mcp-session-id": session }),
    },
    body: JSON.stringify(body),
  });
}

describe("requests to backends", () => {
  it("carry the backend's configured headers and none of the client's credentials", async () => {
    const name = uniqueName("up");
    const fake = fakeBackend(`https://93.184.215.14/${name}/mcp`, ["echo"]);
    fakes.push(fake);
    const created = await api("POST", "/api/backends", {
      body: { name, url: fake.url, headers: { "X-Backend-Key": "backend-key-value" } },
    });
    expect(created.status).toBe(201);

    const init = await post("/mcp", {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    const session = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    const before = fake.headers.length;
    const call = await post(
      "/mcp",
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: `${name}__echo`, arguments: {} } },
      session,
    );
    expect(await call.json()).toMatchObject({ id: 2, result: { content: [{ type: "text", text: "ok" }] } });

    // The call opened an upstream session (initialize, initialized) and made the call: never an empty list.
    const sent = fake.headers.slice(before);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const headers of sent) {
      expect(headers.get("x-backend-key")).toBe("backend-key-value");
      expect(headers.get("authorization")).toBeNull();
      expect(headers.get("cookie")).toBeNull();
      expect(headers.get("proxy-authorization")).toBeNull();
      expect(headers.get("x-api-key")).toBeNull();
      expect([...headers.values()].join("\n")).not.toContain(ADMIN);
    }
  });
});
