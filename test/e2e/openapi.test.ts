// End to end: a REST service with an OpenAPI document as a backend (transport "openapi") on the production bundle: save-time checks, tools, calls, errors, timeouts, breaker, plugins, spans, health.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RestApi, startRestApi, toYaml } from "../fixtures/rest-api";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let api: RestApi;
let client: Client;
let mcpToken: string;

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${gateway.adminToken}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function connect(): Promise<Client> {
  const c = new Client({ name: "e2e-openapi", version: "1" });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${mcpToken}` } },
    }),
  );
  return c;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

async function rpcError(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

/** The first issue of a 400 answer. */
function issue(res: { status: number; json: unknown }): { path: string; message: string } | undefined {
  expect(res.status, JSON.stringify(res.json)).toBe(400);
  return (res.json as { error: { details?: Array<{ path: string; message: string }> } }).error.details?.[0];
}

beforeAll(async () => {
  [gateway, api] = await Promise.all([startGateway(), startRestApi()]);
  const pets = await admin("POST", "/api/backends", {
    name: "pets",
    url: api.url,
    transport: "openapi",
    openapi: { document: { url: `${api.url}/openapi.json` }, exclude: ["deletePet"], healthPath: "/health" },
    headers: { Authorization: "Bearer rest-secret" },
    timeoutMs: 1000,
    healthIntervalSeconds: 5,
  });
  expect(pets.status, JSON.stringify(pets.json)).toBe(201);
  const token = await admin("POST", "/api/tokens", { name: "e2e-openapi", scopes: ["mcp"] });
  mcpToken = (token.json as { token: string }).token;
  client = await connect();
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await Promise.all([gateway?.stop(), api?.close()]);
});

describe("OpenAPI backends", () => {
  it("refuses bad documents and settings at save time with a 400 naming the problem", async () => {
    const create = (openapi: unknown, extra: Record<string, unknown> = {}) =>
      admin("POST", "/api/backends", { name: "bad", url: api.url, transport: "openapi", openapi, ...extra });
    expect(issue(await create({ document: { inline: "{ not: [json" } }))).toMatchObject({
      path: "openapi.document",
      message: expect.stringMatching(/neither JSON nor YAML/),
    });
    expect(issue(await create({ document: { inline: { swagger: "2.0", paths: {} } } }))?.message).toMatch(
      /Swagger 2.0/,
    );
    expect(issue(await create({ document: { inline: { openapi: "3.1.0", paths: {} } } }))?.message).toMatch(
      /no operations/,
    );
    const dup = {
      openapi: "3.0.0",
      paths: { "/a": { get: { operationId: "x" } }, "/b": { get: { operationId: "x" } } },
    };
    expect(issue(await create({ document: { inline: dup } }))?.message).toMatch(/'x' is used twice/);
    const ref = { openapi: "3.0.0", paths: { "/a": { get: { operationId: "a", parameters: [{ $ref: "#/nope" }] } } } };
    expect(issue(await create({ document: { inline: ref } }))?.message).toMatch(/\$ref '#\/nope' cannot be resolved/);
    expect(issue(await create({ document: { url: `${api.url}/not-a-doc` } }))?.message).toMatch(
      /not a JSON\/YAML object/,
    );
    expect(issue(await create({ document: { url: `${api.url}/missing.json` } }))?.message).toMatch(/HTTP 404/);
    expect(issue(await create(undefined))).toMatchObject({
      path: "openapi",
      message: expect.stringMatching(/required/),
    });
    const wrongTransport = await admin("POST", "/api/backends", {
      name: "bad",
      url: api.url,
      openapi: { document: { url: `${api.url}/openapi.json` } },
    });
    expect(issue(wrongTransport)).toMatchObject({ path: "openapi" });
    // Nothing was stored.
    expect((await admin("GET", "/api/backends/bad")).status).toBe(404);
  });

  it("stores the settings and lists the operations as tools (inline YAML too), minus the excluded ones", async () => {
    const view = await admin("GET", "/api/backends/pets");
    expect(view.json).toMatchObject({
      transport: "openapi",
      tools: ["listPets", "createPet", "getPet", "boom", "greeting", "huge", "slow"],
      headers: { Authorization: "********" },
    });
    const inline = await admin("POST", "/api/backends", {
      name: "pets-yaml",
      url: api.url,
      transport: "openapi",
      openapi: { document: { inline: await toYaml(api.document) }, include: ["getPet"] },
    });
    expect(inline.status, JSON.stringify(inline.json)).toBe(201);
    let names: string[] = [];
    await eventually(async () => {
      names = (await client.listTools()).tools.map((t) => t.name);
      return names.includes("pets-yaml__getPet") && names.includes("pets__listPets");
    }, 15_000);
    expect(names.filter((n) => n.startsWith("pets"))).toEqual(
      expect.arrayContaining(["pets__listPets", "pets__createPet", "pets__getPet", "pets__boom", "pets__slow"]),
    );
    expect(names).not.toContain("pets__deletePet");
    expect(names.filter((n) => n.startsWith("pets-yaml__"))).toEqual(["pets-yaml__getPet"]);
    // A changed operation list reaches the listing without waiting for the cached catalog to age out.
    const patched = await admin("PATCH", "/api/backends/pets-yaml", {
      openapi: { document: { inline: await toYaml(api.document) }, include: ["getPet", "greeting"] },
    });
    expect(patched.json).toMatchObject({ tools: ["getPet", "greeting"] });
    await eventually(async () => {
      names = (await client.listTools()).tools.map((t) => t.name);
      return names.includes("pets-yaml__greeting");
    }, 15_000);
    const tool = (await client.listTools()).tools.find((t) => t.name === "pets__createPet");
    expect(tool?.description).toBe("Create a pet");
    expect(tool?.inputSchema).toMatchObject({ required: ["body"], properties: { body: { required: ["name"] } } });
    expect((await admin("DELETE", "/api/backends/pets-yaml")).status).toBe(204);
  });

  it("calls become HTTP requests: path, query, header and body parameters, the configured credentials, JSON as structuredContent", async () => {
    const seen = api.received.length;
    const pet = await client.callTool({ name: "pets__getPet", arguments: { petId: "a/b" } });
    expect(pet.structuredContent).toEqual({ id: "a/b", name: "Slash", tag: "odd" });
    expect(JSON.parse(textOf(pet))).toEqual({ id: "a/b", name: "Slash", tag: "odd" });
    const list = await client.callTool({
      name: "pets__listPets",
      arguments: { tag: "cat", limit: 5, ids: ["2", "x y"], "X-Trace-Tag": "t-1" },
    });
    expect(list.structuredContent).toEqual({ result: [{ id: "2", name: "Tom", tag: "cat" }] });
    const created = await client.callTool({
      name: "pets__createPet",
      arguments: { body: { name: "Kit", tag: "cat" } },
    });
    expect(created.structuredContent).toEqual({ id: "3", name: "Kit", tag: "cat" });
    const requests = api.received.slice(seen);
    // A `/` inside a path parameter stays inside its segment.
    expect(requests[0]).toMatchObject({ method: "GET", url: "/pets/a%2Fb" });
    // Query parameters in the document's order; an array repeats its parameter (style form, explode).
    expect(requests[1]).toMatchObject({ method: "GET", url: "/pets?limit=5&tag=cat&ids=2&ids=x+y" });
    expect(requests[1]?.headers["x-trace-tag"]).toBe("t-1");
    expect(requests[2]).toMatchObject({ method: "POST", url: "/pets", body: '{"name":"Kit","tag":"cat"}' });
    expect(requests[2]?.headers["content-type"]).toBe("application/json");
    // The backend's configured header went out; the client's token never did.
    for (const r of requests) expect(r.headers.authorization).toBe("Bearer rest-secret");
    expect(JSON.stringify(requests)).not.toContain(mcpToken);
  });

  it("a text answer has no structuredContent; an answer over 4 MiB fails the call as too large", async () => {
    const text = await client.callTool({ name: "pets__greeting", arguments: {} });
    expect(text).toMatchObject({ content: [{ type: "text", text: "hello there" }] });
    expect(text.structuredContent).toBeUndefined();
    expect(text.isError).toBeFalsy();
    const huge = await rpcError(client.callTool({ name: "pets__huge", arguments: {} }));
    expect(huge.code).toBe(-32010);
    expect(huge.message).toMatch(/larger than 4 MiB/);
  });

  it("a 2026-07-28 client calls an OpenAPI tool statelessly", async () => {
    const res = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${mcpToken}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "pets__getPet",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: {
          name: "pets__getPet",
          arguments: { petId: "1" },
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: Record<string, unknown> };
    expect(body.result).toMatchObject({
      resultType: "complete",
      structuredContent: { id: "1", name: "Rex", tag: "dog" },
    });
  });

  it("bad arguments are -32602 before any request; API errors are tool results with isError", async () => {
    const seen = api.received.length;
    const bad = await rpcError(client.callTool({ name: "pets__listPets", arguments: { limit: 0 } }));
    expect(bad.code).toBe(-32602);
    const missing = await rpcError(client.callTool({ name: "pets__createPet", arguments: {} }));
    expect(missing.code).toBe(-32602);
    expect(api.received.length).toBe(seen);
    const notFound = await client.callTool({ name: "pets__getPet", arguments: { petId: "99" } });
    expect(notFound.isError).toBe(true);
    expect(textOf(notFound)).toBe('HTTP 404 Not Found: {"error":"no such pet"}');
    const boom = await client.callTool({ name: "pets__boom", arguments: {} });
    expect(boom.isError).toBe(true);
    expect(textOf(boom)).toBe("HTTP 500 Internal Server Error: kaboom");
  });

  it("plugins apply to OpenAPI tools: a deny_list blocks the call before the API sees it", async () => {
    const plugin = await admin("POST", "/api/plugins", {
      name: "no-dragons",
      kind: "deny_list",
      hooks: ["tool_pre_invoke"],
      config: { words: ["dragon"] },
    });
    expect(plugin.status, JSON.stringify(plugin.json)).toBe(201);
    const seen = api.received.length;
    const err = await rpcError(client.callTool({ name: "pets__createPet", arguments: { body: { name: "dragon" } } }));
    expect(err.code).toBe(-32011);
    expect(err.data).toMatchObject({ plugin: "no-dragons", code: "DENIED_CONTENT" });
    expect(api.received.slice(seen).some((r) => r.body.includes("dragon"))).toBe(false);
    expect((await admin("DELETE", "/api/plugins/no-dragons")).status).toBe(204);
  });

  it("records spans of OpenAPI calls like any backend call", async () => {
    let spans: Array<{ status: string; attributes: Record<string, unknown> }> = [];
    await eventually(
      async () => {
        const res = await admin("GET", "/api/spans?backend=pets&tool=getPet&limit=10");
        spans = (res.json as { spans: typeof spans }).spans;
        return spans.length >= 2;
      },
      15_000,
      250,
    );
    expect(spans.every((s) => s.attributes.backend === "pets" && s.attributes.tool === "getPet")).toBe(true);
    expect(spans.some((s) => s.status === "ok")).toBe(true);
  });

  it("the health probe GETs the configured path: a 503 there makes the backend unhealthy", async () => {
    await eventually(async () => api.received.some((r) => r.url === "/health"), 20_000, 200);
    expect((await admin("GET", "/api/backends/pets/health")).json).toMatchObject({ breaker: "closed", healthy: true });
    api.mode = "sick";
    try {
      let health: { healthy?: boolean; lastError?: string } = {};
      await eventually(
        async () => {
          health = (await admin("GET", "/api/backends/pets/health")).json as typeof health;
          return health.healthy === false;
        },
        20_000,
        200,
      );
      expect(health.lastError).toMatch(/HTTP 503/);
    } finally {
      api.mode = "ok";
    }
  });

  it("PATCH re-checks a changed document, and the export/import round trip keeps the settings", async () => {
    const bad = await admin("PATCH", "/api/backends/pets", { openapi: { document: { inline: "openapi: 2.9" } } });
    expect(issue(bad)?.path).toBe("openapi.document");
    const toSse = await admin("PATCH", "/api/backends/pets", { transport: "sse" });
    expect(issue(toSse)).toMatchObject({
      path: "openapi",
      message: expect.stringMatching(/only for transport 'openapi'/),
    });
    const exported = (await admin("GET", "/api/config/export")).json as { backends: Array<Record<string, unknown>> };
    expect(exported.backends.find((b) => b.name === "pets")).toMatchObject({
      transport: "openapi",
      openapi: { document: { url: `${api.url}/openapi.json` }, exclude: ["deletePet"], healthPath: "/health" },
    });
    const again = await admin("POST", "/api/config/import?dryRun=true", exported);
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect((again.json as { changes: { backends: { updated: unknown[] } } }).changes.backends.updated).toEqual([]);
    const narrowed = structuredClone(exported);
    const entry = narrowed.backends.find((b) => b.name === "pets") as { openapi: { include?: string[] } };
    entry.openapi.include = ["nope"];
    const refused = await admin("POST", "/api/config/import?dryRun=true", narrowed);
    expect(issue(refused)?.path).toMatch(/^backends\.\d+\.openapi\.document$/);
    // Unchanged by all of the above.
    expect(((await admin("GET", "/api/backends/pets")).json as { tools: string[] }).tools).toHaveLength(7);
  });

  it("a timeout is the backend failure MCP backends get, and failures open the breaker", async () => {
    const slow = await rpcError(client.callTool({ name: "pets__slow", arguments: {} }));
    expect(slow.code).toBe(-32010);
    expect(slow.message).toMatch(/Backend 'pets' did not answer/);
    // A backend whose API is gone: network failures open its breaker, then calls fail fast.
    const dead = await admin("POST", "/api/backends", {
      name: "gone",
      url: "http://127.0.0.1:9",
      transport: "openapi",
      openapi: { document: { inline: api.document }, include: ["getPet"] },
      failureThreshold: 2,
      cooldownSeconds: 60,
    });
    expect(dead.status, JSON.stringify(dead.json)).toBe(201);
    await eventually(async () => (await client.listTools()).tools.some((t) => t.name === "gone__getPet"), 15_000);
    const reasons: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const err = await rpcError(client.callTool({ name: "gone__getPet", arguments: { petId: "1" } }));
      expect(err.code).toBe(-32010);
      reasons.push((err.data as { reason?: string } | undefined)?.reason);
    }
    expect(reasons.slice(2)).toEqual(["unavailable", "unavailable"]);
    // The isolate's breaker opened at once; its Durable Object learns it from the isolate's report.
    let breaker = "";
    await eventually(async () => {
      breaker = ((await admin("GET", "/api/backends/gone/health")).json as { breaker: string }).breaker;
      return breaker !== "closed";
    }, 15_000);
    expect(breaker).toBe("open");
  });
});
