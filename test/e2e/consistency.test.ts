/**
 * End to end, two isolates: a 2025-03-26 batch with a forwarded (streamed)
 * call answers every member; a session ended on one isolate is 404 on the
 * other at once; a revoked token stops working on every isolate within the
 * README's 3 s bound (the isolate's 2 s plus its config shard's 1 s). Each request is sent to a chosen isolate's own URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatefulBackend, startStatefulBackend } from "../fixtures/backends";
import { adminCall, initializeMessage, mcpPost, openSession } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let backend: StatefulBackend;
let token: string;
let a: string;
let b: string;

const admin = (method: string, path: string, body?: unknown) =>
  adminCall(gateway.url, gateway.adminToken, method, path, body);

const list = (base: string, session: string, t = token) =>
  mcpPost(
    `${base}/mcp`,
    { jsonrpc: "2.0", id: 3, method: "tools/list" },
    { token: t, session, protocolVersion: "2025-11-25" },
  );

beforeAll(async () => {
  backend = await startStatefulBackend("alpha");
  gateway = await startGateway({ isolates: 2 });
  [a = "", b = ""] = gateway.isolateUrls;
  expect((await admin("POST", "/api/backends", { name: "alpha", url: backend.url })).status).toBe(201);
  token = ((await admin("POST", "/api/tokens", { name: "client", scopes: ["mcp"] })).json as { token: string }).token;
});

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});

describe("two isolates agree", () => {
  it("answers a 2025-03-26 batch holding a streamed tools/call with each member's response, in order", async () => {
    const session = await openSession(`${a}/mcp`, token, "2025-03-26");
    const reply = await mcpPost(
      `${b}/mcp`,
      [
        {
          jsonrpc: "2.0",
          id: "call",
          method: "tools/call",
          params: { name: "alpha__echo", arguments: { text: "hi" } },
        },
        { jsonrpc: "2.0", id: 2, method: "ping" },
        { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "alpha__nope", arguments: {} } },
      ],
      { token, session, protocolVersion: "2025-03-26" },
    );
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual([
      { jsonrpc: "2.0", id: "call", result: { content: [{ type: "text", text: "hi" }] } },
      { jsonrpc: "2.0", id: 2, result: {} },
      expect.objectContaining({ id: 3, result: expect.objectContaining({ isError: true }) }),
    ]);
    // The backend ran each call once.
    expect(backend.received.filter((r) => r.method === "tools/call")).toHaveLength(2);
  });

  it("a session ended on one isolate is 404 on the other from the moment DELETE returns", async () => {
    const session = await openSession(`${a}/mcp`, token);
    expect((await list(b, session)).status).toBe(200); // warm on B
    const ended = await fetch(`${a}/mcp`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
    });
    expect(ended.status).toBe(200);
    const after = await list(b, session);
    expect(after.status).toBe(404);
    expect(after.json).toMatchObject({ error: { code: -32001 } });
    const call = await mcpPost(
      `${b}/mcp`,
      { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "alpha__echo", arguments: { text: "x" } } },
      { token, session, protocolVersion: "2025-11-25" },
    );
    expect(call.status).toBe(404);
  });

  it("a token revoked on one isolate is refused on the other within 3 s", async () => {
    const created = (await admin("POST", "/api/tokens", { name: "short-lived", scopes: ["mcp"] })).json as {
      id: string;
      token: string;
    };
    // The new token reaches B within the same bound; then B has just checked its config.
    await eventually(
      async () => (await mcpPost(`${b}/mcp`, initializeMessage(), { token: created.token })).status === 200,
    );
    expect((await adminCall(a, gateway.adminToken, "DELETE", `/api/tokens/${created.id}`)).status).toBe(204);
    // The promised bound, not a measurement: after it, B must not trust its old snapshot.
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    const refused = await mcpPost(`${b}/mcp`, initializeMessage(), { token: created.token });
    expect(refused.status).toBe(401);
  });
});
