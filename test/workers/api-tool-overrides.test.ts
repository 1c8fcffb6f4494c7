// Tool overrides at the admin API: stored and answered in camelCase (snake_case accepted), checked at save (names, collisions, unknown tools, arguments against the schema, a backend down), nothing written on a 400; and a call by alias through the Worker.
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, api, errorOf, uniqueName } from "./helpers";
import { route } from "./outbound";

const TOOLS = [
  {
    name: "search",
    description: "Search code",
    inputSchema: {
      type: "object",
      properties: {
        q: { type: "string" },
        repo: { $ref: "#/$defs/repo" },
        limit: { type: "integer", minimum: 1 },
      },
      required: ["q", "repo"],
      $defs: { repo: { type: "string", pattern: "^[a-z]+/[a-z]+$" } },
    },
  },
  { name: "issues", inputSchema: { type: "object", properties: { state: { enum: ["open", "closed"] } } } },
];

interface Scripted {
  url: string;
  down: boolean;
  calls: Array<{ name: unknown; arguments: unknown }>;
  close(): void;
}

const open: Scripted[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function json(body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
}

/** A 2025-era backend with real input schemas that records every tools/call it gets. */
function scripted(name: string): Scripted {
  const s: Scripted = { url: `https://93.184.215.14/${name}/mcp`, down: false, calls: [], close: () => undefined };
  s.close = route(s.url, async (request) => {
    if (s.down) return new Response("down", { status: 503 });
    if (request.method !== "POST") return new Response(null, { status: request.method === "DELETE" ? 200 : 405 });
    const m = (await request.json()) as { id?: unknown; method: string; params?: Record<string, unknown> };
    const reply = (result: unknown) => json({ jsonrpc: "2.0", id: m.id, result });
    if (m.method === "initialize") {
      return json(
        {
          jsonrpc: "2.0",
          id: m.id,
          result: { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name, version: "1" } },
        },
        { "mcp-session-id": "s-1" },
      );
    }
    if (m.id === undefined) return new Response(null, { status: 202 });
    if (m.method === "tools/list") return reply({ tools: TOOLS });
    if (m.method === "ping") return reply({});
    if (m.method === "tools/call") {
      s.calls.push({ name: m.params?.name, arguments: m.params?.arguments });
      return reply({ content: [{ type: "text", text: JSON.stringify(m.params?.arguments ?? {}) }] });
    }
    return json({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
  });
  open.push(s);
  return s;
}

async function backendWith(): Promise<{ name: string; backend: Scripted }> {
  const name = uniqueName("ov");
  const backend = scripted(name);
  const created = await api("POST", "/api/backends", { body: { name, url: backend.url } });
  expect(created.status).toBe(201);
  return { name, backend };
}

async function configVersion(): Promise<number> {
  const row = await env.DB.prepare("SELECT version FROM config_meta WHERE id = 1").first<{ version: number }>();
  return row?.version ?? -1;
}

function paths(body: unknown): string[] {
  return (errorOf(body).details ?? []).map((d) => d.path);
}

describe("storing tool overrides", () => {
  it("stores them, answers in camelCase and takes the snake_case spelling with a Deprecation header", async () => {
    const { name: b } = await backendWith();
    const server = uniqueName("s");
    const created = await api("POST", "/api/servers", {
      body: {
        name: server,
        backends: [b],
        tool_overrides: [
          {
            tool: `${b}__search`,
            alias: "code_search",
            annotations: { readOnlyHint: true },
            fixed_arguments: { repo: "acme/gateway" },
            default_arguments: { limit: 5 },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("deprecation")).toBe("true");
    expect(created.headers.get("mcpgw-deprecated-fields")).toContain("toolOverrides.0.fixed_arguments=fixedArguments");
    const stored = {
      tool: `${b}__search`,
      alias: "code_search",
      annotations: { readOnlyHint: true },
      fixedArguments: { repo: "acme/gateway" },
      defaultArguments: { limit: 5 },
    };
    expect((created.body as { toolOverrides: unknown }).toolOverrides).toEqual([stored]);
    expect(((await api("GET", `/api/servers/${server}`)).body as { toolOverrides: unknown }).toolOverrides).toEqual([
      stored,
    ]);
    const doc = (await api("GET", "/api/config/export")).body as { servers: Array<{ name: string }> };
    expect(doc.servers.find((s) => s.name === server)).toMatchObject({ toolOverrides: [stored] });
    const spec = (await api("GET", "/api/openapi.json")).body as { components: { schemas: Record<string, unknown> } };
    expect(spec.components.schemas.ToolOverrideInput).toBeDefined();
    expect(JSON.stringify(spec.components.schemas.Server)).toContain("toolOverrides");
  });

  it("refuses bad overrides with one 400 naming each problem, and writes nothing", async () => {
    const { name: b } = await backendWith();
    const server = uniqueName("s");
    expect((await api("POST", "/api/servers", { body: { name: server, backends: [b] } })).status).toBe(201);
    const before = await configVersion();
    const res = await api("PATCH", `/api/servers/${server}`, {
      body: {
        toolOverrides: [
          { tool: `${b}__search`, alias: `${b}__issues`, fixedArguments: { repo: "Not A Repo", nope: 1 } },
          { tool: `${b}__missing`, description: "x" },
          { tool: "nobackend__search" },
          { tool: `${b}__issues`, defaultArguments: { state: "merged" } },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).code).toBe("validation_failed");
    expect(paths(res.body).sort()).toEqual([
      "toolOverrides.0.alias",
      "toolOverrides.0.fixedArguments.nope",
      "toolOverrides.0.fixedArguments.repo",
      "toolOverrides.1.tool",
      "toolOverrides.2.tool",
      "toolOverrides.3.defaultArguments.state",
    ]);
    const messages = JSON.stringify(errorOf(res.body).details);
    expect(messages).toContain(`unknown tool '${b}__missing'`);
    expect(messages).toContain("collides with the public name of a tool");
    expect(await configVersion()).toBe(before);
    expect(((await api("GET", `/api/servers/${server}`)).body as { toolOverrides: unknown }).toolOverrides).toEqual([]);
  });

  it("refuses invalid names, duplicates, an alias in `tools` and an argument both fixed and defaulted", async () => {
    const { name: b } = await backendWith();
    const bad = async (body: Record<string, unknown>) => {
      const res = await api("POST", "/api/servers", { body: { name: uniqueName("s"), backends: [b], ...body } });
      expect(res.status).toBe(400);
      return paths(res.body);
    };
    expect(await bad({ toolOverrides: [{ tool: `${b}__search`, alias: "has space" }] })).toEqual([
      "toolOverrides.0.alias",
    ]);
    expect(
      await bad({
        toolOverrides: [
          { tool: `${b}__search`, alias: "same" },
          { tool: `${b}__issues`, alias: "same" },
        ],
      }),
    ).toEqual(["toolOverrides.1.alias"]);
    expect(await bad({ toolOverrides: [{ tool: `${b}__search` }, { tool: `${b}__search`, title: "t" }] })).toEqual([
      "toolOverrides.1.tool",
    ]);
    expect(
      await bad({
        toolOverrides: [{ tool: `${b}__search`, fixedArguments: { limit: 1 }, defaultArguments: { limit: 2 } }],
      }),
    ).toEqual(["toolOverrides.0.defaultArguments.limit"]);
    expect(await bad({ tools: ["s1"], toolOverrides: [{ tool: `${b}__search`, alias: "s1" }] })).toEqual([
      "tools.0",
      "toolOverrides.0.tool",
    ]);
    expect(await bad({ toolOverrides: [{ tool: `${b}__search`, fixedArguments: {} }], tool_overrides: [] })).toEqual([
      "toolOverrides",
    ]);
    // On a prefixed server an alias may not look like another public name of one of its backends.
    expect(await bad({ toolOverrides: [{ tool: `${b}__search`, alias: `${b}__later` }] })).toEqual([
      "toolOverrides.0.alias",
    ]);
  });

  it("checks unprefixed servers by the names they expose", async () => {
    const { name: b } = await backendWith();
    const res = await api("POST", "/api/servers", {
      body: {
        name: uniqueName("s"),
        backends: [b],
        prefix: false,
        toolOverrides: [{ tool: "search", alias: "issues" }],
      },
    });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(["toolOverrides.0.alias"]);
    const ok = await api("POST", "/api/servers", {
      body: { name: uniqueName("s"), backends: [b], prefix: false, toolOverrides: [{ tool: "search", alias: "find" }] },
    });
    expect(ok.status).toBe(201);
  });

  it("saves while a backend is down, with the checks that need no catalog", async () => {
    const { name: b, backend } = await backendWith();
    backend.down = true;
    const saved = await api("POST", "/api/servers", {
      body: {
        name: uniqueName("s"),
        backends: [b],
        toolOverrides: [{ tool: `${b}__not-yet-known`, fixedArguments: { anything: 1 } }],
      },
    });
    expect(saved.status).toBe(201);
    const refused = await api("POST", "/api/servers", {
      body: { name: uniqueName("s"), backends: [b], toolOverrides: [{ tool: "other__search" }] },
    });
    expect(refused.status).toBe(400);
    expect(paths(refused.body)).toEqual(["toolOverrides.0.tool"]);
  });
});

async function mcp(path: string, body: unknown, session?: string): Promise<Response> {
  return exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers: {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      authorization: `Bearer ${ADMIN}`,
      ...(session && { "mcp-session-id": session }),
    },
    body: JSON.stringify(body),
  });
}

describe("a server's overrides on the MCP path", () => {
  it("lists the alias and calls the backend's tool with fixed and default arguments", async () => {
    const { name: b, backend } = await backendWith();
    const server = uniqueName("s");
    const saved = await api("POST", "/api/servers", {
      body: {
        name: server,
        backends: [b],
        toolOverrides: [
          {
            tool: `${b}__search`,
            alias: "code_search",
            fixedArguments: { repo: "acme/gw" },
            defaultArguments: { limit: 3 },
          },
        ],
      },
    });
    expect(saved.status).toBe(201);
    const path = `/servers/${server}/mcp`;
    const init = await mcp(path, {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    const session = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    const list = (await (await mcp(path, { jsonrpc: "2.0", id: 2, method: "tools/list" }, session)).json()) as {
      result: { tools: Array<{ name: string; inputSchema: { properties: object } }> };
    };
    expect(list.result.tools.map((t) => t.name).sort()).toEqual(["code_search", `${b}__issues`]);
    const aliased = list.result.tools.find((t) => t.name === "code_search");
    expect(Object.keys(aliased?.inputSchema.properties ?? {})).toEqual(["q", "limit"]);

    const call = (name: string, args: Record<string, unknown>, id: number) =>
      mcp(path, { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }, session);
    expect(await (await call("code_search", { q: "x" }, 3)).json()).toMatchObject({ id: 3, result: {} });
    expect(backend.calls.at(-1)).toEqual({ name: "search", arguments: { q: "x", limit: 3, repo: "acme/gw" } });

    const sent = backend.calls.length;
    const forged = (await (await call("code_search", { q: "x", repo: "evil/repo" }, 4)).json()) as {
      error: { code: number; data: unknown };
    };
    expect(forged.error).toMatchObject({ code: -32602, data: { reason: "fixed_argument", argument: "repo" } });
    const replaced = (await (await call(`${b}__search`, { q: "x" }, 5)).json()) as { error: { code: number } };
    expect(replaced.error.code).toBe(-32602);
    expect(backend.calls.length).toBe(sent);
  });
});
