// Identity downstream of authentication: plugin conditions on teams and roles, rate-limit keys of OAuth callers by subject, and spans that carry the subject but never the token.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { rateKey } from "../../src/plugins/kinds/rate-limit";
import type { RequestContext } from "../../src/plugins/types";
import { api, uniqueName } from "./helpers";
import { startIdp, type TestIdp } from "./idp";
import { type FakeBackend, fakeBackend } from "./outbound";

const V = "2026-07-28";

function rpcRequest(token: string, method: string, params: Record<string, unknown> = {}): Request {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": V,
    "mcp-method": method,
    authorization: `Bearer ${token}`,
  };
  if (typeof params.name === "string") headers["mcp-name"] = params.name;
  const meta = { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} };
  return new Request("http://localhost/mcp", {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: meta } }),
  });
}

async function call(token: string, tool: string) {
  const res = await exports.default.fetch(rpcRequest(token, "tools/call", { name: tool, arguments: { text: "hi" } }));
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}

async function token(body: Record<string, unknown>): Promise<string> {
  const res = await api("POST", "/api/tokens", { body: { name: uniqueName("dt"), ...body } });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${res.text}`);
  return (res.body as { token: string }).token;
}

const teamX = uniqueName("dx");
const teamY = uniqueName("dy");
const backendName = uniqueName("db");
let backend: FakeBackend;
let devX: string;
let adminY: string;
let plain: string;
let idp: TestIdp;

beforeAll(async () => {
  for (const team of [teamX, teamY]) {
    expect((await api("POST", "/api/teams", { body: { name: team } })).status).toBe(201);
  }
  devX = await token({ scopes: ["mcp"], team: teamX, role: "developer" });
  adminY = await token({ scopes: ["mcp", "admin"], team: teamY, role: "team_admin" });
  plain = await token({ scopes: ["mcp"] });
  backend = fakeBackend(`https://93.184.215.14/${backendName}/mcp`, ["echo"]);
  expect((await api("POST", "/api/backends", { body: { name: backendName, url: backend.url } })).status).toBe(201);
  idp = await startIdp("https://idp.test", { jwksPath: "/jwks" });
});

afterAll(() => {
  backend?.close();
  idp?.close();
});

describe("plugin conditions on teams and roles", () => {
  it("a plugin conditioned on a team or a role applies to those callers only", async () => {
    const plugin = uniqueName("dp");
    const created = await api("POST", "/api/plugins", {
      body: {
        name: plugin,
        kind: "tool_filter",
        config: { deny: ["*echo"] },
        conditions: [{ teams: [teamX] }, { roles: ["team_admin"] }],
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ conditions: [{ teams: [teamX] }, { roles: ["team_admin"] }] });
    const tool = `${backendName}__echo`;
    expect((await call(devX, tool)).error).toBeDefined(); // team X
    expect((await call(adminY, tool)).error).toBeDefined(); // role team_admin
    expect((await call(plain, tool)).error).toBeUndefined(); // neither
    expect((await api("DELETE", `/api/plugins/${plugin}`)).status).toBe(204);
  });
});

describe("rate-limit keys", () => {
  it("count OAuth callers by subject (names repeat across providers) and API tokens by name", () => {
    const base = { entity: "tool", name: "b__echo", original: "echo", backend: "b", server: null, endpoint: "*" };
    const ctx = (user: string, subject: string) => ({ ...base, user, subject }) as unknown as RequestContext;
    const a = rateKey("rl", ["token"], ctx("alice", "oauth:corp:alice"));
    const b = rateKey("rl", ["token"], ctx("alice", "oauth:other:alice"));
    expect(a).not.toBe(b);
    expect(a).toContain("oauth:corp:alice");
    expect(rateKey("rl", ["token"], ctx("ci", "tok_123"))).toBe("rl|u=ci");
  });
});

describe("spans", () => {
  it("carry an OAuth caller's subject and never its token", async () => {
    const jwt = await idp.sign({ aud: "http://localhost/mcp", sub: "span-user", preferred_username: "spanner" });
    const sent: unknown[] = [];
    const sink = {
      async send(body: unknown) {
        sent.push(body);
      },
      async sendBatch(messages: Iterable<{ body: unknown }>) {
        for (const m of messages) sent.push(m.body);
      },
    };
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      rpcRequest(jwt, "tools/list"),
      { ...env, SPANS: sink as unknown as Queue<unknown> },
      ctx,
    );
    expect(res.status).toBe(200);
    await res.text();
    await waitOnExecutionContext(ctx);
    const text = JSON.stringify(sent);
    expect(text).toContain('"subject":"oauth:idp:span-user"');
    expect(text).not.toContain(jwt);
    expect(text).not.toContain(jwt.split(".")[2] ?? "unreachable");
  });
});
