// The MCP endpoints over HTTP in workerd: sessions, token limits, Host/Origin checks, transport and JSON-RPC errors.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { keyRing } from "../../src/auth/keys";
import { seal, unseal } from "../../src/auth/seal";
import { SESSION_TTL_MS, type SessionClaims } from "../../src/edge/sessions";
import worker from "../../src/index";
import { ADMIN, api, uniqueName } from "./helpers";

const ACCEPT = "application/json, text/event-stream";

interface RpcReply {
  status: number;
  headers: Headers;
  body: {
    jsonrpc?: string;
    id?: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string };
  } | null;
}

async function mcp(
  path: string,
  message: unknown,
  options: { token?: string | null; session?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<RpcReply> {
  const headers: Record<string, string> = { accept: ACCEPT, "content-type": "application/json", ...options.headers };
  const token = options.token === undefined ? ADMIN : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.session) headers["mcp-session-id"] = options.session;
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: options.method ?? "POST",
    headers,
    body:
      options.method && options.method !== "POST"
        ? undefined
        : typeof message === "string"
          ? message
          : JSON.stringify(message),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as RpcReply["body"]) : null };
}

function initialize(protocolVersion = "2025-11-25") {
  return {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion, capabilities: {}, clientInfo: { name: "test", version: "1" } },
  };
}

async function session(path = "/mcp", token: string | null = ADMIN): Promise<string> {
  const res = await mcp(path, initialize(), { token });
  expect(res.status).toBe(200);
  const id = res.headers.get("mcp-session-id");
  expect(id).toBeTruthy();
  return id as string;
}

async function token(body: Record<string, unknown>): Promise<string> {
  const res = await api("POST", "/api/tokens", { body: { name: uniqueName("tk"), ...body } });
  return (res.body as { token: string }).token;
}

describe("MCP endpoint: initialize and sessions", () => {
  it("answers initialize with the gateway's info, the negotiated version and a session id", async () => {
    const res = await mcp("/mcp", initialize("2025-06-18"));
    expect(res.status).toBe(200);
    expect(res.body?.result).toMatchObject({
      protocolVersion: "2025-06-18",
      serverInfo: { name: "mcp-edge-gateway" },
      capabilities: { tools: { listChanged: true } },
    });
    expect(res.headers.get("mcp-session-id")).toMatch(/^v2\.[0-9a-f]{16}\./);
  });

  it("offers its latest version when the client asks for an unknown one", async () => {
    const res = await mcp("/mcp", initialize("1999-01-01"));
    expect(res.body?.result?.protocolVersion).toBe("2025-11-25");
  });

  it("rejects initialize with invalid params", async () => {
    const res = await mcp("/mcp", { jsonrpc: "2.0", id: 1, method: "initialize", params: { capabilities: {} } });
    expect(res.body?.error?.code).toBe(-32602);
  });

  it("answers ping locally and lists nothing when no backend is registered for a server", async () => {
    const name = uniqueName("empty");
    await api("POST", "/api/servers", { body: { name, backends: [] } });
    const sid = await session(`/servers/${name}/mcp`);
    const ping = await mcp(`/servers/${name}/mcp`, { jsonrpc: "2.0", id: 2, method: "ping" }, { session: sid });
    expect(ping.body).toEqual({ jsonrpc: "2.0", id: 2, result: {} });
    const list = await mcp(`/servers/${name}/mcp`, { jsonrpc: "2.0", id: 3, method: "tools/list" }, { session: sid });
    expect(list.body?.result).toEqual({ tools: [] });
  });

  it("answers cached listings with each request's own id, in JSON and in batches", async () => {
    const name = uniqueName("listing");
    await api("POST", "/api/servers", { body: { name, backends: [] } });
    const sid = await session(`/servers/${name}/mcp`);
    const path = `/servers/${name}/mcp`;
    for (const id of [7, "seven", 8]) {
      const res = await mcp(path, { jsonrpc: "2.0", id, method: "tools/list" }, { session: sid });
      expect(res.body).toEqual({ jsonrpc: "2.0", id, result: { tools: [] } });
    }
    const bad = await mcp(
      path,
      { jsonrpc: "2.0", id: 9, method: "tools/list", params: { cursor: "x" } },
      { session: sid },
    );
    expect(bad.body?.error?.code).toBe(-32602);
    // An empty cursor is invalid too, even once the first page is cached.
    const empty = await mcp(
      path,
      { jsonrpc: "2.0", id: 12, method: "tools/list", params: { cursor: "" } },
      { session: sid },
    );
    expect(empty.body?.error?.code).toBe(-32602);
    const legacy = (await mcp(path, initialize("2025-03-26"))).headers.get("mcp-session-id") as string;
    const batch = await mcp(
      path,
      [
        { jsonrpc: "2.0", id: 10, method: "tools/list" },
        { jsonrpc: "2.0", id: 11, method: "prompts/list" },
      ],
      { session: legacy, headers: { "mcp-protocol-version": "2025-03-26" } },
    );
    expect(batch.body).toEqual([
      { jsonrpc: "2.0", id: 10, result: { tools: [] } },
      { jsonrpc: "2.0", id: 11, result: { prompts: [] } },
    ]);
  });

  it("400 without a session id on a non-initialize request", async () => {
    const res = await mcp("/mcp", { jsonrpc: "2.0", id: 2, method: "ping" });
    expect(res.status).toBe(400);
  });

  it("404 for a forged or unknown session id", async () => {
    const res = await mcp("/mcp", { jsonrpc: "2.0", id: 2, method: "ping" }, { session: "v1.AAAA.BBBB" });
    expect(res.status).toBe(404);
    expect(res.body?.error?.code).toBe(-32001);
  });

  it("404 for a session id past its sealed expiry, though its session is still live", async () => {
    const sid = await session();
    const claims = (await unseal(sid, await keyRing(env), "session")) as SessionClaims;
    const ping = (id: string) => mcp("/mcp", { jsonrpc: "2.0", id: 2, method: "ping" }, { session: id });
    // Resealed unchanged, the id still works: the 404 below is the expiry's doing, not the resealing's.
    expect((await ping(await seal(claims, await keyRing(env), "session"))).status).toBe(200);
    const expired = await ping(await seal({ ...claims, exp: Date.now() - 1000 }, await keyRing(env), "session"));
    expect(expired.status).toBe(404);
    expect(expired.body?.error?.code).toBe(-32001);
    expect((await ping(sid)).status).toBe(200);
    // And the id the client holds stops working once its lifetime has passed.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + SESSION_TTL_MS + 1000);
      expect((await ping(sid)).status).toBe(404);
    } finally {
      vi.useRealTimers();
    }
  });

  it("binds a session to the token that created it", async () => {
    const a = await token({ scopes: ["mcp"] });
    const b = await token({ scopes: ["mcp"] });
    const sid = await session("/mcp", a);
    expect((await mcp("/mcp", { jsonrpc: "2.0", id: 2, method: "ping" }, { session: sid, token: a })).status).toBe(200);
    expect((await mcp("/mcp", { jsonrpc: "2.0", id: 2, method: "ping" }, { session: sid, token: b })).status).toBe(404);
  });

  it("binds a session to its endpoint", async () => {
    const name = uniqueName("vs");
    await api("POST", "/api/servers", { body: { name } });
    const sid = await session("/mcp");
    expect(
      (await mcp(`/servers/${name}/mcp`, { jsonrpc: "2.0", id: 2, method: "ping" }, { session: sid })).status,
    ).toBe(404);
  });

  it("DELETE ends the session; then 404", async () => {
    const sid = await session();
    const del = await mcp("/mcp", null, { session: sid, method: "DELETE" });
    expect(del.status).toBe(200);
    const after = await mcp("/mcp", { jsonrpc: "2.0", id: 2, method: "ping" }, { session: sid });
    expect(after.status).toBe(404);
  });

  it("rejects a second initialize in a session", async () => {
    const sid = await session();
    const res = await mcp("/mcp", initialize(), { session: sid });
    expect(res.status).toBe(400);
  });
});

describe("MCP endpoint: transport validation", () => {
  it("401 with WWW-Authenticate without a token or with a bad one", async () => {
    for (const t of [null, "mcpgw_nope", "wrong"]) {
      const res = await mcp("/mcp", initialize(), { token: t });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("403 for a token without the mcp scope or limited to other servers", async () => {
    const adminOnly = await token({ scopes: ["admin"] });
    expect((await mcp("/mcp", initialize(), { token: adminOnly })).status).toBe(403);
    const name = uniqueName("vs");
    const other = uniqueName("vs");
    await api("POST", "/api/servers", { body: { name } });
    await api("POST", "/api/servers", { body: { name: other } });
    const limited = await token({ scopes: ["mcp"], servers: [name] });
    expect((await mcp("/mcp", initialize(), { token: limited })).status).toBe(403);
    expect((await mcp(`/servers/${name}/mcp`, initialize(), { token: limited })).status).toBe(200);
    const elsewhere = await mcp(`/servers/${other}/mcp`, initialize(), { token: limited });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body?.error?.message).toMatch(/may not use this endpoint/);
  });

  it("opens a server with auth none without a token", async () => {
    const name = uniqueName("open");
    await api("POST", "/api/servers", { body: { name, auth: "none" } });
    expect((await mcp(`/servers/${name}/mcp`, initialize(), { token: null })).status).toBe(200);
  });

  it("404 for an unknown virtual server", async () => {
    expect((await mcp("/servers/no-such-server/mcp", initialize())).status).toBe(404);
  });

  it("403 for a foreign Origin, and allows the gateway's own", async () => {
    const evil = await mcp("/mcp", initialize(), { headers: { origin: "https://evil.example" } });
    expect(evil.status).toBe(403);
    const own = await mcp("/mcp", initialize(), { headers: { origin: "http://localhost" } });
    expect(own.status).toBe(200);
  });

  it("403 for a Host outside ALLOWED_HOSTS (DNS rebinding) on every MCP method; any Host when unset", async () => {
    // The Worker's own fetch handler with this suite's bindings plus ALLOWED_HOSTS, as a deployment sets it.
    const send = async (url: string, method: string, hosts?: string) => {
      const ctx = createExecutionContext();
      const headers = { accept: ACCEPT, "content-type": "application/json", authorization: `Bearer ${ADMIN}` };
      const body = method === "POST" ? JSON.stringify(initialize()) : undefined;
      const res = await worker.fetch(
        new Request(url, { method, headers, body }),
        { ...env, ALLOWED_HOSTS: hosts },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return { status: res.status, body: (await res.json()) as RpcReply["body"] };
    };
    const hosts = "localhost, 127.0.0.1,[::1]";
    for (const method of ["POST", "GET", "DELETE"]) {
      const refused = await send("http://rebind.example/mcp", method, hosts);
      expect(refused.status).toBe(403);
      expect(refused.body?.error?.message).toBe("Forbidden: Host not allowed");
    }
    expect((await send("http://rebind.example/servers/any/mcp", "POST", hosts)).status).toBe(403);
    expect((await send("http://127.0.0.1:8787/mcp", "POST", hosts)).status).toBe(200);
    expect((await send("http://[::1]:8787/mcp", "POST", hosts)).status).toBe(200);
    expect((await send("http://LOCALHOST/mcp", "POST", hosts)).status).toBe(200);
    expect((await send("http://rebind.example/mcp", "POST")).status).toBe(200);
  });

  it("400 for an unsupported MCP-Protocol-Version", async () => {
    const sid = await session();
    const res = await mcp(
      "/mcp",
      { jsonrpc: "2.0", id: 2, method: "ping" },
      { session: sid, headers: { "mcp-protocol-version": "2020-01-01" } },
    );
    expect(res.status).toBe(400);
  });

  it("406 without the right Accept, 415 without JSON", async () => {
    expect((await mcp("/mcp", initialize(), { headers: { accept: "application/json" } })).status).toBe(406);
    expect((await mcp("/mcp", initialize(), { headers: { "content-type": "text/plain" } })).status).toBe(415);
  });

  it("malformed JSON is a JSON-RPC parse error, never a 500", async () => {
    const res = await mcp("/mcp", '{"jsonrpc": "2.0", ');
    expect(res.status).toBe(400);
    expect(res.body?.error?.code).toBe(-32700);
  });

  it("an invalid message is InvalidRequest, an unknown method MethodNotFound", async () => {
    const sid = await session();
    const bad = await mcp("/mcp", { jsonrpc: "1.0", id: 2, method: "ping" }, { session: sid });
    expect(bad.body?.error?.code).toBe(-32600);
    const unknown = await mcp("/mcp", { jsonrpc: "2.0", id: 3, method: "nope/nothing" }, { session: sid });
    expect(unknown.body?.error?.code).toBe(-32601);
  });

  it("notifications are accepted with 202", async () => {
    const sid = await session();
    const res = await mcp("/mcp", { jsonrpc: "2.0", method: "notifications/initialized" }, { session: sid });
    expect(res.status).toBe(202);
  });

  it("batches only on 2025-03-26", async () => {
    const modern = await session();
    const refused = await mcp("/mcp", [{ jsonrpc: "2.0", id: 1, method: "ping" }], {
      session: modern,
      headers: { "mcp-protocol-version": "2025-11-25" },
    });
    expect(refused.status).toBe(400);

    const res = await mcp("/mcp", initialize("2025-03-26"));
    const legacy = res.headers.get("mcp-session-id") as string;
    const batch = await mcp(
      "/mcp",
      [
        { jsonrpc: "2.0", id: 1, method: "ping" },
        { jsonrpc: "2.0", id: 2, method: "ping" },
      ],
      { session: legacy, headers: { "mcp-protocol-version": "2025-03-26" } },
    );
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual([
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: 2, result: {} },
    ]);
  });

  it("a tool on an unknown backend is InvalidParams", async () => {
    const sid = await session();
    const res = await mcp(
      "/mcp",
      { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "ghost__echo", arguments: {} } },
      { session: sid },
    );
    expect(res.body?.error?.code).toBe(-32602);
  });
});
