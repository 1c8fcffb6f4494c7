// Covers MCP 2026-07-28 requests on /mcp (era classification, header/envelope checks, discover, shapes) inside workerd.
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, api, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

const V = "2026-07-28";
const CAPS = "io.modelcontextprotocol/clientCapabilities";
const VERSION = "io.modelcontextprotocol/protocolVersion";

interface Reply {
  status: number;
  headers: Headers;
  body: {
    id?: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  } | null;
}

function envelope(extra: Record<string, unknown> = {}) {
  return { [VERSION]: V, [CAPS]: {}, ...extra };
}

async function post(body: unknown, headers: Record<string, string | undefined> = {}, path = "/mcp"): Promise<Reply> {
  const message = body as { method?: string };
  const all: Record<string, string> = {
    authorization: `Bearer ${ADMIN}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": V,
    ...(typeof message.method === "string" && { "mcp-method": message.method }),
  };
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete all[k];
    else all[k] = v;
  }
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers: all,
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Reply["body"]) : null };
}

function request(id: number | string, method: string, params: Record<string, unknown> = {}) {
  return { jsonrpc: "2.0", id, method, params: { ...params, _meta: envelope() } };
}

let backend: FakeBackend;
let name: string;

beforeAll(async () => {
  name = uniqueName("mod");
  backend = fakeBackend(`https://93.184.215.14/${name}/mcp`, ["echo"]);
  const res = await api("POST", "/api/backends", { body: { name, url: backend.url } });
  expect(res.status).toBe(201);
});

afterAll(() => backend.close());

describe("MCP 2026-07-28 on the same endpoint", () => {
  it("answers server/discover with versions, capabilities, cache hints and the gateway's identity", async () => {
    const res = await post(request("d1", "server/discover"));
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect(res.body).toMatchObject({
      id: "d1",
      result: {
        resultType: "complete",
        supportedVersions: [V],
        capabilities: { tools: { listChanged: true } },
        ttlMs: expect.any(Number),
        cacheScope: "private",
        _meta: { "io.modelcontextprotocol/serverInfo": { name: "mcp-edge-gateway" } },
      },
    });
  });

  it("lists and calls tools statelessly through a 2025 backend, every result shaped for 2026", async () => {
    const list = await post(request(2, "tools/list"));
    expect(list.status).toBe(200);
    expect(list.body?.result).toMatchObject({
      resultType: "complete",
      cacheScope: "private",
      ttlMs: expect.any(Number),
    });
    const tools = ((list.body?.result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
    expect(tools).toContain(`${name}__echo`);
    const call = await post(request(3, "tools/call", { name: `${name}__echo`, arguments: { text: "hi" } }), {
      "mcp-name": `${name}__echo`,
    });
    expect(call.status).toBe(200);
    expect(call.body).toMatchObject({ id: 3, result: { resultType: "complete", content: [{ text: "ok" }] } });
    // The 2025 backend got an ordinary session-bound call, no 2026 envelope.
    expect(backend.received).toContain("initialize");
  });

  it("accepts Mcp-Name in the Base64 sentinel form and refuses a malformed one", async () => {
    const tool = `${name}__echo`;
    const encoded = `=?base64?${btoa(tool)}?=`;
    const ok = await post(request(4, "tools/call", { name: tool, arguments: {} }), { "mcp-name": encoded });
    expect(ok.status).toBe(200);
    expect(ok.body?.result?.resultType).toBe("complete");
    const bad = await post(request(5, "tools/call", { name: tool, arguments: {} }), {
      "mcp-name": "=?base64?SGVsbG8?=",
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ id: 5, error: { code: -32020 } });
  });

  it("refuses header/body disagreements with -32020 and the request's id", async () => {
    const cases: Array<[Record<string, string | undefined>, unknown]> = [
      [{ "mcp-method": "prompts/list" }, request(6, "tools/list")],
      [{ "mcp-method": "TOOLS/LIST" }, request(6, "tools/list")],
      [{ "mcp-method": undefined }, request(6, "tools/list")],
      [{ "mcp-protocol-version": undefined }, request(6, "tools/list")],
      [{ "mcp-name": "wrong" }, request(6, "tools/call", { name: `${name}__echo`, arguments: {} })],
      [{}, request(6, "tools/call", { name: `${name}__echo`, arguments: {} })],
      [
        { "mcp-protocol-version": "2026-07-28" },
        { ...request(6, "tools/list"), params: { _meta: envelope({ [VERSION]: "v999.0.0" }) } },
      ],
    ];
    for (const [headers, body] of cases) {
      const res = await post(body, headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.body, JSON.stringify(headers)).toMatchObject({ id: 6, error: { code: -32020 } });
    }
  });

  it("refuses an invalid envelope with -32602, an unsupported version with -32022 and its supported list", async () => {
    const noCaps = await post({ jsonrpc: "2.0", id: 7, method: "tools/list", params: { _meta: { [VERSION]: V } } });
    expect(noCaps.status).toBe(400);
    expect(noCaps.body).toMatchObject({ id: 7, error: { code: -32602 } });
    expect(noCaps.body?.error?.message).toContain("clientCapabilities");
    const noMeta = await post({ jsonrpc: "2.0", id: 8, method: "tools/list", params: {} });
    expect(noMeta.status).toBe(400);
    expect(noMeta.body).toMatchObject({ id: 8, error: { code: -32602 } });
    const future = await post(
      { jsonrpc: "2.0", id: 9, method: "tools/list", params: { _meta: envelope({ [VERSION]: "v999.0.0" }) } },
      { "mcp-protocol-version": "v999.0.0" },
    );
    expect(future.status).toBe(400);
    expect(future.body).toMatchObject({
      id: 9,
      error: { code: -32022, data: { supported: [V], requested: "v999.0.0" } },
    });
    const discovered = await post(request("d2", "server/discover"));
    const supported = discovered.body?.result?.supportedVersions as string[];
    expect(supported).toEqual(expect.arrayContaining((future.body?.error?.data?.supported ?? ["missing"]) as string[]));
  });

  it("answers removed and unknown methods with 404 -32601, and serves a request without clientInfo", async () => {
    for (const method of ["initialize", "ping", "logging/setLevel", "resources/subscribe", "unknown/method"]) {
      const res = await post(request(10, method));
      expect(res.status, method).toBe(404);
      expect(res.body, method).toMatchObject({ id: 10, error: { code: -32601 } });
    }
    const bare = await post(request(11, "tools/list"));
    expect(bare.status).toBe(200);
  });

  it("answers a method whose capability discover did not advertise with 404 -32601", async () => {
    // The only backend offers tools, so this server has no resources (server/discover said so).
    const uri = "mcpgw://nobody/thing";
    const res = await post(request(12, "resources/read", { uri }), { "mcp-name": uri });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ id: 12, error: { code: -32601 } });
  });

  it("refuses a batch holding a 2026 message and drops 2026 notifications with 202", async () => {
    const batch = await post([request(13, "tools/list")], { "mcp-method": undefined });
    expect(batch.status).toBe(400);
    expect(batch.body?.error?.code).toBe(-32600);
    const note = await post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { _meta: envelope() } });
    expect(note.status).toBe(202);
  });

  it("keeps 2025 traffic on its sessions, unchanged, on the same endpoint", async () => {
    const init = await post(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "old", version: "1" } },
      },
      { "mcp-protocol-version": undefined, "mcp-method": undefined },
    );
    expect(init.status).toBe(200);
    expect(init.headers.get("mcp-session-id")).toBeTruthy();
    expect(init.body?.result?.resultType).toBeUndefined();
    // initialize while naming the 2026 revision in the header is a contradiction.
    const mixed = await post(
      { jsonrpc: "2.0", id: 2, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {} } },
      { "mcp-method": undefined },
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body?.error?.code).toBe(-32020);
  });

  it("serves a virtual server without auth publicly cacheable listings, and another token's calls privately", async () => {
    const server = uniqueName("open");
    expect((await api("POST", "/api/servers", { body: { name: server, auth: "none", backends: [name] } })).status).toBe(
      201,
    );
    const res = await post(request(14, "tools/list"), { authorization: undefined }, `/servers/${server}/mcp`);
    expect(res.status).toBe(200);
    expect(res.body?.result?.cacheScope).toBe("public");
  });
});
