// Tool overrides at run time: listing (alias, title, description, annotations, schema), name resolution, argument merging, plugin matching under both names.
import { describe, expect, it } from "vitest";
import type { BackendConfig, ServerConfig, ToolOverride } from "../../src/config/snapshot";
import { buildView, type Endpoint } from "../../src/core/federation";
import { overriddenArguments, overrideIndex, resolveTool } from "../../src/core/overrides";
import { appliesTo, compileConditions } from "../../src/plugins/conditions";
import type { Catalog } from "../../src/protocol/catalog-types";
import { RpcError } from "../../src/protocol/jsonrpc";
import { backendConfig } from "./helpers";
import { builtin, fakeContext, runOnce } from "./plugin-helpers";

const backend = (name: string): BackendConfig => backendConfig(name);

const SEARCH = {
  name: "search",
  description: "Search code",
  annotations: { destructiveHint: false },
  inputSchema: {
    type: "object",
    properties: { q: { type: "string" }, repo: { type: "string" }, limit: { type: "integer" } },
    required: ["q", "repo", "limit"],
    additionalProperties: false,
  },
};

function catalog(tools: Record<string, unknown>[]): Catalog {
  return { tools, prompts: [], resources: [], resourceTemplates: [], capabilities: { tools: {} }, fetchedAt: 1 };
}

function server(prefix: boolean, toolOverrides: ToolOverride[], tools: string[] | null = null): ServerConfig {
  return { name: "dev", backends: ["gh", "other"], tools, prefix, auth: "token", discovery: "list", toolOverrides };
}

function endpoint(s: ServerConfig): Endpoint {
  return {
    key: s.name,
    server: s,
    prefix: s.prefix,
    discovery: s.discovery,
    backends: [backend("gh"), backend("other")],
    tools: s.tools ? new Set(s.tools) : null,
  };
}

const OVERRIDE: ToolOverride = {
  tool: "gh__search",
  alias: "code_search",
  title: "Code search",
  description: "Search the acme/gateway repository",
  annotations: { readOnlyHint: true },
  fixedArguments: { repo: "acme/gateway" },
  defaultArguments: { limit: 10 },
};

describe("listing an overridden tool", () => {
  it("shows the alias, title, description, merged annotations and a schema without fixed arguments", () => {
    const view = buildView(
      endpoint(server(true, [OVERRIDE])),
      new Map([
        ["gh", catalog([SEARCH, { name: "issues", inputSchema: { type: "object" } }])],
        ["other", catalog([])],
      ]),
    );
    expect(view.tools.map((t) => t.item.name)).toEqual(["code_search", "gh__issues"]);
    const entry = view.toolsByName.get("code_search");
    expect(view.toolsByName.has("gh__search")).toBe(false);
    expect(entry).toMatchObject({ backend: "gh", original: "search", aliasOf: "gh__search" });
    expect(entry?.item).toMatchObject({
      title: "Code search",
      description: "Search the acme/gateway repository",
      annotations: { destructiveHint: false, readOnlyHint: true },
      inputSchema: {
        properties: { q: { type: "string" }, limit: { type: "integer", default: 10 } },
        required: ["q"],
        additionalProperties: false,
      },
    });
    expect(Object.keys((entry?.item.inputSchema as { properties?: object } | undefined)?.properties ?? {})).toEqual([
      "q",
      "limit",
    ]);
    // Plugins see the backend's full schema (the arguments they check include the fixed ones).
    expect(entry?.full?.inputSchema).toBe(SEARCH.inputSchema);
    expect(entry?.full?.annotations).toEqual({ destructiveHint: false, readOnlyHint: true });
    // The backend's catalog item is never changed in place.
    expect(SEARCH.inputSchema.required).toEqual(["q", "repo", "limit"]);
  });

  it("works without prefixes, and an alias owns its name over a tool that has it", () => {
    const s = server(false, [{ tool: "search", alias: "find" }]);
    const view = buildView(
      endpoint(s),
      new Map([
        ["gh", catalog([SEARCH])],
        ["other", catalog([{ name: "find", inputSchema: { type: "object" } }])],
      ]),
    );
    expect(view.tools.map((t) => [t.item.name, t.backend])).toEqual([["find", "gh"]]);
    expect(view.toolsByName.get("find")?.original).toBe("search");
    // Also when the tool that has the name comes first (backends are taken in name order).
    const reversed = buildView(
      endpoint(server(false, [{ tool: "search", alias: "find" }])),
      new Map([
        ["gh", catalog([{ name: "find", inputSchema: { type: "object" } }])],
        ["other", catalog([SEARCH])],
      ]),
    );
    expect(reversed.tools.map((t) => [t.item.name, t.backend, t.original])).toEqual([["find", "other", "search"]]);
  });

  it("applies `tools` to the names before aliases", () => {
    const view = buildView(
      endpoint(server(true, [{ tool: "gh__search", alias: "s" }], ["gh__search"])),
      new Map([["gh", catalog([SEARCH, { name: "issues", inputSchema: { type: "object" } }])]]),
    );
    expect(view.tools.map((t) => t.item.name)).toEqual(["s"]);
  });

  it("leaves servers without overrides as they were", () => {
    const view = buildView(endpoint(server(true, [])), new Map([["gh", catalog([SEARCH])]]));
    expect(view.tools[0]?.item).toEqual({ ...SEARCH, name: "gh__search" });
    expect(view.tools[0]?.aliasOf).toBeUndefined();
    expect(overrideIndex(server(true, []))).toBeNull();
  });
});

describe("resolving a client's tool name", () => {
  const index = overrideIndex(server(true, [OVERRIDE, { tool: "gh__issues", description: "Issues" }]));

  it("maps an alias to the name it stands for, and refuses the replaced name", () => {
    expect(resolveTool(index, "code_search")).toEqual({ key: "gh__search", override: OVERRIDE, aliasOf: "gh__search" });
    expect(resolveTool(index, "gh__search")).toBeNull();
    expect(resolveTool(index, "gh__issues")).toMatchObject({ key: "gh__issues", override: { description: "Issues" } });
    expect(resolveTool(index, "gh__other")).toEqual({ key: "gh__other" });
    expect(resolveTool(null, "anything")).toEqual({ key: "anything" });
  });

  it("keeps one index per server object", () => {
    const s = server(true, [OVERRIDE]);
    expect(overrideIndex(s)).toBe(overrideIndex(s));
    expect(overrideIndex(null)).toBeNull();
  });
});

describe("arguments of an overridden call", () => {
  it("fills defaults the client omitted and adds fixed values", () => {
    expect(overriddenArguments(OVERRIDE, { q: "x" }, "code_search")).toEqual({
      q: "x",
      limit: 10,
      repo: "acme/gateway",
    });
    expect(overriddenArguments(OVERRIDE, { q: "x", limit: 3 }, "code_search")).toEqual({
      q: "x",
      limit: 3,
      repo: "acme/gateway",
    });
    expect(overriddenArguments(OVERRIDE, undefined, "code_search")).toEqual({ limit: 10, repo: "acme/gateway" });
  });

  it("refuses a client's value for a fixed argument, naming it", () => {
    let caught: unknown;
    try {
      overriddenArguments(OVERRIDE, { q: "x", repo: "evil/repo" }, "code_search");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RpcError);
    expect(caught).toMatchObject({ code: -32602, data: { reason: "fixed_argument", argument: "repo" } });
    expect((caught as Error).message).toContain("'repo'");
    expect(() => overriddenArguments(OVERRIDE, ["x"], "code_search")).toThrow(/must be an object/);
  });

  it("keeps a __proto__ argument as data", () => {
    const args = JSON.parse('{"__proto__": {"polluted": true}, "q": "x"}') as Record<string, unknown>;
    const merged = overriddenArguments(OVERRIDE, args, "code_search") as Record<string, unknown>;
    expect(Object.hasOwn(merged, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });

  it("passes arguments through untouched when the override fixes nothing", () => {
    const args = { q: "x" };
    expect(overriddenArguments({ tool: "gh__search", alias: "s" }, args, "s")).toBe(args);
  });
});

describe("plugins see an aliased tool under both names", () => {
  const target = {
    entity: "tool" as const,
    name: "code_search",
    original: "search",
    aliasOf: "gh__search",
    backend: "gh",
    server: "dev",
    user: "admin",
  };

  it("conditions match the alias, the name it stands for and the backend's name", () => {
    for (const pattern of ["code_search", "gh__search", "gh__*", "search"]) {
      expect(appliesTo(compileConditions([{ tools: [pattern] }]), target)).toBe(true);
    }
    expect(appliesTo(compileConditions([{ tools: ["other__*"] }]), target)).toBe(false);
    const { aliasOf: _, ...plain } = target;
    expect(appliesTo(compileConditions([{ tools: ["gh__search"] }]), plain)).toBe(false);
  });

  it("a tool_filter deny on the name before the alias still blocks and hides the alias", async () => {
    const plugin = builtin("tool_filter", { deny: ["gh__search"] });
    expect(plugin.listsTool?.("code_search", "search", "gh__search")).toBe(false);
    expect(plugin.listsTool?.("code_search", "search")).toBe(true);
    const ctx = fakeContext({ name: "code_search", original: "search", aliasOf: "gh__search", backend: "gh" });
    expect(await runOnce(plugin, "tool_pre_invoke", {}, ctx)).toMatchObject({
      violation: { code: "TOOL_NOT_ALLOWED" },
    });
    const allowed = fakeContext({ name: "code_search", original: "search", backend: "gh" });
    expect(await runOnce(plugin, "tool_pre_invoke", {}, allowed)).toBeUndefined();
  });
});
