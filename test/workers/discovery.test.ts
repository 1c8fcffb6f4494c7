// Search discovery mode inside workerd: the term pipeline, the BM25F tool index and its isolate cache, and the meta-tools over MCP.
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexStats, MAX_INDEXED_TOOLS, MAX_INDEXES, toolIndex } from "../../src/core/discovery/cache";
import { terms, words } from "../../src/core/discovery/terms";
import { ToolIndex, toolDocuments } from "../../src/core/discovery/tool-index";
import type { ViewEntry } from "../../src/core/federation";
import { LIST_TTL_MS } from "../../src/edge/era-2026";
import { ADMIN, api, uniqueName } from "./helpers";
import { route } from "./outbound";

type Tool = { name: string; description: string; inputSchema: Record<string, unknown> };

function tool(name: string, description: string, args: Record<string, string> = {}): Tool {
  const properties = Object.fromEntries(Object.entries(args).map(([k, d]) => [k, { type: "string", description: d }]));
  return { name, description, inputSchema: { type: "object", properties } };
}

const TOOLS: Tool[] = [
  tool("create_issue", "Create a new issue in a GitHub repository.", { repo: "owner/name", title: "Issue title" }),
  tool("list_pull_requests", "List the open pull requests of a repository.", { repo: "owner/name" }),
  tool("send_message", "Post a chat message to a Slack channel.", { channel: "Channel id", text: "Message text" }),
  tool("get_weather", "Current weather conditions and temperature for a city.", { city: "City name" }),
  tool("query_database", "Run a read-only SQL query against the analytics warehouse.", { sql: "SQL text" }),
  tool("delete_file", "Delete a file from cloud storage permanently.", { path: "File path" }),
  tool("translate_text", "Translate text between languages.", { text: "Text", target: "Language code" }),
  tool("secret_admin_reset", "Reset every user's password (administrators only).", { confirm: "yes" }),
];

function entries(list: Tool[], backend = "alpha"): ViewEntry[] {
  return list.map((t) => ({ backend, original: t.name, item: { ...t, name: `${backend}__${t.name}` } }));
}

describe("terms", () => {
  it("splits identifiers of every style into lower-case words", () => {
    expect(words("github__listPRComments create-pull_request v2.Thing what's GitHub")).toEqual([
      "github",
      "listprcomments",
      "list",
      "pr",
      "comments",
      "create",
      "pull",
      "request",
      "v2",
      "thing",
      "what",
      "github",
      "git",
      "hub",
    ]);
  });

  it("stems, drops function words and bounds the output", () => {
    expect(terms("Show me all of the repositories")).toEqual(["all", "repositori"]);
    expect(terms("repository")).toEqual(["repositori"]);
    expect(terms("listing lists")).toEqual(["list", "list"]);
    expect(terms("word ".repeat(5_000)).length).toBe(256);
    expect(words(`${"x".repeat(41)} ok`)).toEqual(["ok"]);
  });
});

describe("tool index", () => {
  const index = new ToolIndex(toolDocuments(entries(TOOLS)));
  const names = (hits: Array<{ id: number }>) => hits.map((h) => TOOLS[h.id]?.name);

  it("finds tools by natural-language queries, best first", () => {
    expect(names(index.find("open a bug report issue on github", 3, () => true))[0]).toBe("create_issue");
    expect(names(index.find("what's the temperature in Paris", 3, () => true))[0]).toBe("get_weather");
    expect(names(index.find("post to the team slack channel", 3, () => true))[0]).toBe("send_message");
    expect(names(index.find("pull requests", 3, () => true))[0]).toBe("list_pull_requests");
  });

  it("weighs a name match above a description-only match", () => {
    const docs = toolDocuments(
      entries([tool("archive_report", "Stores a document."), tool("store_document", "Archives a report.")]),
    );
    const hits = new ToolIndex(docs).find("archive report", 2, () => true);
    expect(hits.map((h) => docs[h.id]?.name)).toEqual(["archive_report", "store_document"]);
  });

  it("matches prefixes of longer words, honours the filter and the limit, and finds nothing for noise", () => {
    expect(names(index.find("transl", 1, () => true))).toEqual(["translate_text"]);
    const hidden = TOOLS.findIndex((t) => t.name === "create_issue");
    expect(names(index.find("create issue", 5, (id) => id !== hidden))).not.toContain("create_issue");
    expect(index.find("repository", 1, () => true)).toHaveLength(1);
    expect(index.find("zzqx the of", 5, () => true)).toEqual([]);
  });

  it("scores like BM25F: IDF, length normalisation, saturation, deterministic ties", () => {
    const docs = (list: Tool[]) => toolDocuments(entries(list));
    const rank = (list: Tool[], query: string) => {
      const d = docs(list);
      return new ToolIndex(d).find(query, 10, () => true).map((h) => ({ name: d[h.id]?.name, score: h.score }));
    };
    // A rare term outweighs a common one.
    const common = [tool("a1", "widget report"), tool("a2", "widget summary"), tool("a3", "ledger summary")];
    expect(rank(common, "widget ledger")[0]?.name).toBe("a3");
    // The same match in a shorter description counts more.
    const long = "ledger alpha beta gamma delta epsilon zeta theta iota kappa lambda";
    expect(rank([tool("b1", long), tool("b2", "ledger entries")], "ledger").map((h) => h.name)).toEqual(["b2", "b1"]);
    // Saturation: ten repetitions score less than k1 + 1 = 2.2 times one.
    const [many, once] = rank([tool("c1", "ledger ".repeat(10)), tool("c2", "ledger"), tool("c3", "other")], "ledger");
    expect(many?.name).toBe("c1");
    expect((many?.score ?? 0) / (once?.score ?? 1)).toBeLessThan(2.2);
    // Identical tools tie and keep catalog order; an exact match beats a prefix match.
    expect(rank([tool("d1", "same words"), tool("d2", "same words")], "same").map((h) => h.name)).toEqual(["d1", "d2"]);
    expect(rank([tool("e1", "translation memory"), tool("e2", "transl")], "transl")[0]?.name).toBe("e2");
    expect(new ToolIndex([]).find("anything", 5, () => true)).toEqual([]);
  });

  it("returns the first `limit` of the full ranking, with and without a filter", () => {
    const many = [...TOOLS, ...TOOLS.map((t) => ({ ...t, name: `${t.name}_copy` }))];
    const big = new ToolIndex(toolDocuments(entries(many)));
    const odd = (id: number) => id % 2 === 1;
    for (const query of ["create issue repository", "message channel text", "delete file", "a b c"]) {
      const all = big.find(query, 1_000, () => true);
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1] as { id: number; score: number }, all[i] as { id: number; score: number }];
        expect(a.score > b.score || (a.score === b.score && a.id < b.id)).toBe(true);
      }
      for (const k of [1, 2, 3, 5]) {
        expect(big.find(query, k, () => true)).toEqual(all.slice(0, k));
        expect(big.find(query, k, odd)).toEqual(all.filter((h) => odd(h.id)).slice(0, k));
      }
    }
  });

  it("keeps at most MAX_INDEXES indexes and MAX_INDEXED_TOOLS tools, least recently used first", () => {
    const small = entries(TOOLS.slice(0, 2));
    const first = uniqueName("lru");
    toolIndex(first, small);
    for (let i = 0; i < MAX_INDEXES; i++) toolIndex(uniqueName("lru"), entries(TOOLS.slice(0, 2)));
    expect(indexStats().kept).toBe(MAX_INDEXES);
    const before = indexStats().builds;
    toolIndex(first, small); // evicted: built again
    expect(indexStats().builds).toBe(before + 1);

    const big = (n: number) => Array.from({ length: n }, (_, i) => tool(`t${i}`, ""));
    const size = Math.ceil(MAX_INDEXED_TOOLS / 2.5);
    const a = uniqueName("big");
    const indexA = toolIndex(a, entries(big(size)));
    toolIndex(uniqueName("big"), entries(big(size)));
    expect(toolIndex(a, entries(big(size)))).toBe(indexA); // still kept (reused: same text)
    toolIndex(uniqueName("big"), entries(big(size)));
    expect(indexStats().tools).toBeLessThanOrEqual(MAX_INDEXED_TOOLS);
    expect(indexStats().kept).toBeLessThan(MAX_INDEXES);
  });

  it("is built once per catalog content and reused by every search", () => {
    const key = uniqueName("idx");
    const first = entries(TOOLS);
    const before = indexStats().builds;
    const a = toolIndex(key, first);
    expect(indexStats().builds).toBe(before + 1);
    expect(toolIndex(key, first)).toBe(a);
    // A refreshed catalog with the same text (new objects) keeps the index.
    expect(toolIndex(key, entries(TOOLS))).toBe(a);
    expect(indexStats().builds).toBe(before + 1);
    const changed = entries([...TOOLS.slice(1), tool("create_issue", "Open a ticket.")]);
    expect(toolIndex(key, changed)).not.toBe(a);
    expect(indexStats().builds).toBe(before + 2);
  });
});

// ---------------------------------------------------------------------------
// over MCP (2026-07-28 requests: stateless, one POST each)

const V = "2026-07-28";
const META = { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} };

interface Reply {
  status: number;
  body: {
    id?: unknown;
    result?: Record<string, unknown> & { structuredContent?: { tools: Array<Record<string, unknown>> } };
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

let nextId = 1;
async function rpc(path: string, method: string, params: Record<string, unknown> = {}): Promise<Reply> {
  const id = nextId++;
  const headers: Record<string, string> = {
    authorization: `Bearer ${ADMIN}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": V,
    "mcp-method": method,
  };
  if (typeof params.name === "string") headers["mcp-name"] = params.name;
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: META } }),
  });
  return { status: res.status, body: (await res.json()) as Reply["body"] };
}

const call = (path: string, name: string, args: unknown) => rpc(path, "tools/call", { name, arguments: args });

const backend = uniqueName("disc");
const server = uniqueName("srch");
const listServer = uniqueName("lst");
const SEARCH = `/servers/${server}/mcp`;
const calls: Array<{ name: unknown; arguments: unknown }> = [];
let unroute: () => void;

/** A 2025-era backend (sessions, JSON replies) with described tools; tools/call echoes what it got. */
function scriptedBackend(url: string): () => void {
  return route(url, async (request) => {
    const message = (await request.json()) as { id?: unknown; method?: string; params?: Record<string, unknown> };
    const reply = (result: unknown, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }), {
        headers: { "content-type": "application/json", ...headers },
      });
    if (message.id === undefined) return new Response(null, { status: 202 });
    switch (message.method) {
      case "initialize":
        return reply(
          { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "s", version: "1" } },
          { "mcp-session-id": "s-1" },
        );
      case "tools/list":
        return reply({ tools: TOOLS });
      case "tools/call":
        calls.push({ name: message.params?.name, arguments: message.params?.arguments });
        return reply({
          content: [{ type: "text", text: `ran ${String(message.params?.name)} for alice@example.com` }],
        });
      default:
        return new Response(
          JSON.stringify({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "no" } }),
          {
            headers: { "content-type": "application/json" },
          },
        );
    }
  });
}

beforeAll(async () => {
  const url = `https://93.184.215.14/${backend}/mcp`;
  unroute = scriptedBackend(url);
  expect((await api("POST", "/api/backends", { body: { name: backend, url } })).status).toBe(201);
  const s = await api("POST", "/api/servers", { body: { name: server, backends: [backend], discovery: "search" } });
  expect(s.status).toBe(201);
  expect((await api("POST", "/api/servers", { body: { name: listServer, backends: [backend] } })).status).toBe(201);
  const plugins = [
    {
      name: uniqueName("hide"),
      kind: "tool_filter",
      mode: "enforce",
      priority: 1,
      hooks: ["tool_pre_invoke"],
      conditions: [{ serverIds: [server, listServer] }],
      config: { deny: ["*secret*"] },
    },
    {
      name: uniqueName("mask"),
      kind: "regex_replace",
      mode: "enforce",
      priority: 5,
      hooks: ["tool_post_invoke"],
      conditions: [{ serverIds: [server] }],
      config: { rules: [{ pattern: "[a-z]+@example\\.com", replacement: "[email]" }] },
    },
  ];
  for (const p of plugins) expect((await api("POST", "/api/plugins", { body: p })).status).toBe(201);
});

afterAll(() => unroute());

describe("search mode over MCP", () => {
  it("lists only the three meta-tools, with the catalog listing's cache hints", async () => {
    const res = await rpc(SEARCH, "tools/list");
    expect(res.status).toBe(200);
    const tools = res.body.result?.tools as Array<{ name: string; inputSchema: { type: string } }>;
    expect(tools.map((t) => t.name)).toEqual(["search_tools", "describe_tools", "call_tool"]);
    expect(tools.every((t) => t.inputSchema.type === "object")).toBe(true);
    expect(res.body.result?.ttlMs).toBe(LIST_TTL_MS);
    const list = await rpc(`/servers/${listServer}/mcp`, "tools/list");
    expect(list.body.result?.ttlMs).toBe(res.body.result?.ttlMs);
    const listed = ((list.body.result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
    expect(listed).toContain(`${backend}__create_issue`);
    expect(listed).not.toContain(`${backend}__secret_admin_reset`);
  });

  it("finds a tool by a natural-language query, describes it and calls it through the plugin chain", async () => {
    const found = await call(SEARCH, "search_tools", { query: "report a bug in a github repository", limit: 3 });
    const hits = found.body.result?.structuredContent?.tools ?? [];
    expect(hits[0]).toMatchObject({
      name: `${backend}__create_issue`,
      description: "Create a new issue in a GitHub repository.",
      backend,
    });
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(JSON.parse(((found.body.result?.content ?? []) as Array<{ text: string }>)[0]?.text ?? "")).toEqual(
      found.body.result?.structuredContent,
    );

    const described = await call(SEARCH, "describe_tools", { names: [`${backend}__create_issue`] });
    const schema = described.body.result?.structuredContent?.tools[0]?.inputSchema as { properties: object };
    expect(Object.keys(schema.properties)).toEqual(["repo", "title"]);

    const ran = await call(SEARCH, "call_tool", {
      name: `${backend}__create_issue`,
      arguments: { repo: "a/b", title: "crash" },
    });
    expect(ran.status).toBe(200);
    expect(ran.body.result?.content).toEqual([{ type: "text", text: "ran create_issue for [email]" }]);
    expect(calls.at(-1)).toEqual({ name: "create_issue", arguments: { repo: "a/b", title: "crash" } });
  });

  it("never shows a hidden tool, and calling one is refused like a tools/call", async () => {
    const found = await call(SEARCH, "search_tools", { query: "secret admin reset password", limit: 50 });
    const names = (found.body.result?.structuredContent?.tools ?? []).map((t) => t.name);
    expect(names).not.toContain(`${backend}__secret_admin_reset`);
    const described = await call(SEARCH, "describe_tools", { names: [`${backend}__secret_admin_reset`] });
    expect(described.body.error).toMatchObject({ code: -32602, data: { unknown: [`${backend}__secret_admin_reset`] } });
    const before = calls.length;
    const ran = await call(SEARCH, "call_tool", { name: `${backend}__secret_admin_reset`, arguments: {} });
    expect(ran.body.error).toMatchObject({ code: -32011, data: { code: "TOOL_NOT_ALLOWED" } });
    expect(calls.length).toBe(before);
  });

  it("does not rebuild the index per search", async () => {
    await call(SEARCH, "search_tools", { query: "weather" });
    const built = indexStats().builds;
    for (const query of ["translate", "sql warehouse", "delete storage file"]) {
      const res = await call(SEARCH, "search_tools", { query, backend });
      expect(res.body.result?.structuredContent?.tools.length).toBeGreaterThan(0);
    }
    expect(indexStats().builds).toBe(built);
  });

  it("fails a call_tool exactly as the tool's own tools/call when its backend is down", async () => {
    const down = uniqueName("down");
    const url = `https://93.184.215.14/${down}/mcp`;
    const close = route(url, () => new Response("unavailable", { status: 503 }));
    try {
      expect((await api("POST", "/api/backends", { body: { name: down, url, failureThreshold: 50 } })).status).toBe(
        201,
      );
      const path = `/servers/${server}/mcp`;
      expect((await api("PATCH", `/api/servers/${server}`, { body: { backends: [backend, down] } })).status).toBe(200);
      const direct = await call(path, `${down}__anything`, {});
      const meta = await call(path, "call_tool", { name: `${down}__anything`, arguments: {} });
      expect(direct.body.error?.code).toBeTypeOf("number");
      expect(meta.body.error).toEqual(direct.body.error);
      expect(meta.status).toBe(direct.status);
    } finally {
      close();
      await api("PATCH", `/api/servers/${server}`, { body: { backends: [backend] } });
    }
  });

  it("answers bad arguments with JSON-RPC -32602 naming the problem, never a 5xx", async () => {
    const bad: Array<[string, unknown, RegExp]> = [
      ["search_tools", {}, /query/],
      ["search_tools", { query: "   " }, /query/],
      ["search_tools", { query: "x", limit: 100_000 }, /limit/],
      ["search_tools", { query: "x", limit: "ten" }, /limit/],
      ["search_tools", { query: "x", backend: "nope" }, /Unknown backend: nope/],
      ["search_tools", "not an object", /arguments/],
      ["describe_tools", { names: [] }, /names/],
      ["describe_tools", { names: Array.from({ length: 21 }, (_, i) => `t${i}`) }, /names/],
      ["describe_tools", { names: ["ghost"] }, /Unknown tool: ghost/],
      ["call_tool", {}, /name/],
      ["call_tool", { name: "search_tools", arguments: {} }, /meta-tool/],
      ["call_tool", { name: `${backend}__create_issue`, arguments: [1, 2] }, /arguments/],
    ];
    for (const [name, args, message] of bad) {
      const res = await call(SEARCH, name, args);
      expect(res.status, `${name} ${JSON.stringify(args)}`).toBe(200);
      expect(res.body.error?.code, `${name} ${JSON.stringify(args)}`).toBe(-32602);
      expect(res.body.error?.message).toMatch(message);
      expect(res.body.id).toBeTypeOf("number");
    }
    // Routed like tools/call: a name no backend of the server owns is unknown.
    const unknown = await call(SEARCH, "call_tool", { name: "elsewhere__create_issue" });
    expect(unknown.body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/Unknown tool/) });
  });

  it("leaves list-mode servers alone: no meta-tools there", async () => {
    const res = await call(`/servers/${listServer}/mcp`, "search_tools", { query: "weather" });
    expect(res.body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/Unknown tool/) });
  });
});
