/**
 * End to end, two isolates: per-server tool overrides with a real SDK
 * backend on 127.0.0.1 and the SDK clients of both eras. Listings show the
 * alias, description and annotations; a call by alias reaches the backend's
 * own tool with the fixed and default arguments; a client that sets a fixed
 * argument is refused before anything reaches the backend; a plugin
 * configured for the name before the alias still applies; colliding
 * overrides are a 400 at save and leave the stored configuration as it was.
 *
 * Propagation: servers and plugins are written before the token that uses
 * them, and a client connects once every isolate accepts the token (config
 * versions only grow), so no test races the isolates' config refresh.
 */
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type StatelessBackend, startStatelessBackend } from "../fixtures/backends";
import { readJsonBody, type StartedHttpServer, startHttpServer } from "../fixtures/http";
import { adminCall } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let repo: StartedHttpServer;
let repoUrl: string;
let beta: StatelessBackend;
/** The arguments of every `search` call the repo backend ran. */
const searches: Array<Record<string, unknown>> = [];
const clients: Array<{ close(): Promise<void> }> = [];
let tokens = 0;

const admin = (method: string, path: string, body?: unknown) =>
  adminCall(gateway.url, gateway.adminToken, method, path, body);

/** A stateless SDK backend with a `search` tool that answers with the arguments it got. */
async function startRepoBackend(): Promise<void> {
  repo = await startHttpServer(
    async (req, res) => {
      const body = req.method === "POST" ? await readJsonBody(req) : undefined;
      const server = new McpServer({ name: "repo", version: "1.0.0" }, { capabilities: { tools: {} } });
      server.registerTool(
        "search",
        {
          description: "Searches a repository",
          inputSchema: { q: z.string(), repo: z.string(), limit: z.number().int().optional() },
        },
        async (args) => {
          searches.push(args);
          return { content: [{ type: "text", text: JSON.stringify(args) }] };
        },
      );
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on("close", () => {
        void transport.close().catch(() => undefined);
        void server.close().catch(() => undefined);
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    },
    { host: "127.0.0.1", port: 0, logPrefix: "[fixture repo]" },
  );
  repoUrl = `http://127.0.0.1:${repo.address.port}/mcp`;
}

async function newToken(): Promise<string> {
  const res = await admin("POST", "/api/tokens", { name: `e2e-overrides-${++tokens}`, scopes: ["mcp"] });
  expect(res.status).toBe(201);
  return (res.json as { token: string }).token;
}

/** A 2025 SDK client on `path`, once every isolate accepts a token created now. */
async function legacyClient(path: string): Promise<Client> {
  const token = await newToken();
  let client: Client | undefined;
  await eventually(async () => {
    const candidate = new Client({ name: "e2e-overrides", version: "1" });
    try {
      await candidate.connect(
        new StreamableHTTPClientTransport(new URL(`${gateway.url}${path}`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      client = candidate;
      return true;
    } catch {
      await candidate.close().catch(() => undefined);
      return false;
    }
  }, 10_000);
  if (!client) throw new Error("not connected");
  clients.push(client);
  return client;
}

function textOf(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("");
}

const PREFIXED_OVERRIDE = {
  tool: "repo__search",
  alias: "code_search",
  title: "Code search",
  description: "Searches the acme/gateway repository",
  annotations: { readOnlyHint: true },
  fixedArguments: { repo: "acme/gateway" },
  defaultArguments: { limit: 5 },
};

beforeAll(async () => {
  [gateway, beta] = await Promise.all([
    startGateway({ isolates: 2 }),
    startStatelessBackend("beta"),
    startRepoBackend(),
  ]);
  expect((await admin("POST", "/api/backends", { name: "repo", url: repoUrl })).status).toBe(201);
  expect((await admin("POST", "/api/backends", { name: "beta", url: beta.url })).status).toBe(201);
  const prefixed = await admin("POST", "/api/servers", {
    name: "ov-prefixed",
    backends: ["repo"],
    toolOverrides: [PREFIXED_OVERRIDE],
  });
  expect(prefixed.status, JSON.stringify(prefixed.json)).toBe(201);
  const plain = await admin("POST", "/api/servers", {
    name: "ov-plain",
    backends: ["repo", "beta"],
    prefix: false,
    toolOverrides: [{ tool: "search", alias: "find", fixedArguments: { repo: "acme/plain" } }],
  });
  expect(plain.status, JSON.stringify(plain.json)).toBe(201);
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await Promise.all([gateway?.stop(), beta?.close(), repo?.close()]);
});

describe("tool overrides through two isolates", () => {
  it("a 2025 client lists the alias with its description and annotations, and calls it with fixed arguments", async () => {
    const client = await legacyClient("/servers/ov-prefixed/mcp");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["code_search"]);
    const tool = tools[0];
    expect(tool).toMatchObject({
      title: "Code search",
      description: "Searches the acme/gateway repository",
      annotations: { readOnlyHint: true },
    });
    expect(Object.keys(tool?.inputSchema.properties ?? {}).sort()).toEqual(["limit", "q"]);
    expect(tool?.inputSchema.properties?.limit).toMatchObject({ default: 5 });

    const result = await client.callTool({ name: "code_search", arguments: { q: "mcp" } });
    expect(JSON.parse(textOf(result))).toEqual({ q: "mcp", repo: "acme/gateway", limit: 5 });
    expect(searches.at(-1)).toEqual({ q: "mcp", repo: "acme/gateway", limit: 5 });
    // A default is only a default: the client's own value wins.
    const own = await client.callTool({ name: "code_search", arguments: { q: "mcp", limit: 1 } });
    expect(JSON.parse(textOf(own))).toEqual({ q: "mcp", repo: "acme/gateway", limit: 1 });
  });

  it("refuses a client that sets a fixed argument, and the name the alias replaced", async () => {
    const client = await legacyClient("/servers/ov-prefixed/mcp");
    const before = searches.length;
    const refused = await client.callTool({ name: "code_search", arguments: { q: "mcp", repo: "evil/other" } }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(McpError);
    expect(refused).toMatchObject({ code: -32602, data: { reason: "fixed_argument", argument: "repo" } });
    const replaced = await client.callTool({ name: "repo__search", arguments: { q: "mcp" } }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(replaced).toMatchObject({ code: -32602 });
    expect(searches.length).toBe(before);
  });

  it("a 2026 client on an unprefixed server lists and calls the alias", async () => {
    const token = await newToken();
    let client: ModernClient | undefined;
    await eventually(async () => {
      const candidate = new ModernClient(
        { name: "e2e-overrides-2026", version: "1" },
        { versionNegotiation: { mode: { pin: "2026-07-28" } } },
      );
      try {
        await candidate.connect(
          new ModernTransport(new URL(`${gateway.url}/servers/ov-plain/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        );
        await candidate.listTools();
        client = candidate;
        return true;
      } catch {
        await candidate.close().catch(() => undefined);
        return false;
      }
    }, 10_000);
    if (!client) throw new Error("not connected");
    clients.push(client);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(["add", "echo", "find"]);
    const result = await client.callTool({ name: "find", arguments: { q: "plain" } });
    expect(JSON.parse(textOf(result))).toEqual({ q: "plain", repo: "acme/plain" });
    expect(searches.at(-1)).toEqual({ q: "plain", repo: "acme/plain" });
  });

  it("a plugin configured for the name before the alias applies to calls by the alias", async () => {
    const plugin = await admin("POST", "/api/plugins", {
      name: "ov-deny",
      kind: "deny_list",
      hooks: ["tool_pre_invoke"],
      conditions: [{ tools: ["repo__search"] }],
      config: { words: ["forbidden"] },
    });
    expect(plugin.status, JSON.stringify(plugin.json)).toBe(201);
    try {
      const client = await legacyClient("/servers/ov-prefixed/mcp");
      const blocked = await client.callTool({ name: "code_search", arguments: { q: "forbidden words" } }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(blocked).toMatchObject({ code: -32011, data: { plugin: "ov-deny", code: "DENIED_CONTENT" } });
      expect(textOf(await client.callTool({ name: "code_search", arguments: { q: "fine" } }))).toContain("fine");
    } finally {
      expect((await admin("DELETE", "/api/plugins/ov-deny")).status).toBe(204);
    }
  });

  it("collisions at save are a 400 naming the override, and nothing is written", async () => {
    const exported = (await admin("GET", "/api/config/export")).json;
    const created = await admin("POST", "/api/servers", {
      name: "ov-collide",
      backends: ["repo", "beta"],
      prefix: false,
      toolOverrides: [{ tool: "search", alias: "echo" }],
    });
    expect(created.status).toBe(400);
    expect(created.json).toMatchObject({
      error: { code: "validation_failed", details: [{ path: "toolOverrides.0.alias" }] },
    });
    expect(JSON.stringify(created.json)).toContain("backend 'beta'");
    expect((await admin("GET", "/api/servers/ov-collide")).status).toBe(404);

    const patched = await admin("PATCH", "/api/servers/ov-plain", {
      toolOverrides: [
        { tool: "search", alias: "find" },
        { tool: "add", alias: "find" },
      ],
    });
    expect(patched.status).toBe(400);
    expect(patched.json).toMatchObject({ error: { details: [{ path: "toolOverrides.1.alias" }] } });
    expect((await admin("GET", "/api/config/export")).json).toEqual(exported);
  });
});
