/**
 * Federation (pure logic): which backends an endpoint serves, the merged view
 * of their catalogs under public names, and routing a public name or URI back
 * to its backend.
 */
import type { BackendConfig, ConfigSnapshot, ServerConfig } from "../config/snapshot";
import type { Catalog, CatalogItem } from "../protocol/catalog-types";
import { publicName, publicUri, splitPublicName, splitPublicUri, type TemplateMatcher, templateMatcher } from "./names";
import { overriddenTool, overrideIndex } from "./overrides";
import { publicTool } from "./references";
import { addSkills, emptySkills, type SkillsView, skillOwner } from "./skill-view";

/** An MCP endpoint: `/mcp` (every enabled backend, prefixed) or a virtual server. */
export interface Endpoint {
  /** "*" for /mcp, else the server name. */
  key: string;
  server: ServerConfig | null;
  prefix: boolean;
  backends: BackendConfig[];
  /** Public tool names the endpoint exposes, or null for all. */
  tools: ReadonlySet<string> | null;
  /**
   * Set when the caller may use only some of the endpoint's backends
   * (teams and visibility): names what was left out, so views cached per
   * endpoint are also per such subset.
   */
  access?: string;
  /** How `tools/list` shows the tools (`core/discovery/`): `/mcp` always lists them. */
  discovery: ServerConfig["discovery"];
}

/**
 * Endpoints per snapshot: snapshots are immutable, so an endpoint is built
 * once per config version, not per request (it walks the server's backends:
 * up to LIMITS.backends). Bounded by the snapshot's servers, plus `/mcp`.
 */
const endpoints = new WeakMap<ConfigSnapshot, Map<string | null, Endpoint | null>>();

/** Resolves the endpoint for `/mcp` (server null) or `/servers/:name/mcp`; null if no such server. */
export function resolveEndpoint(config: ConfigSnapshot, serverName: string | null): Endpoint | null {
  let known = endpoints.get(config);
  if (!known) {
    known = new Map();
    endpoints.set(config, known);
  }
  const hit = known.get(serverName);
  if (hit !== undefined) return hit;
  const endpoint = buildEndpoint(config, serverName);
  // Only names that exist are kept: unknown names are client input and would grow the map.
  if (endpoint) known.set(serverName, endpoint);
  return endpoint;
}

function buildEndpoint(config: ConfigSnapshot, serverName: string | null): Endpoint | null {
  if (serverName === null) {
    const backends = [...config.backends.values()].filter((b) => b.enabled);
    return { key: "*", server: null, prefix: true, backends, tools: null, discovery: "list" };
  }
  const server = config.servers.get(serverName);
  if (!server) return null;
  const names = server.backends ?? [...config.backends.keys()];
  const backends = names.flatMap((n) => {
    const b = config.backends.get(n);
    return b?.enabled ? [b] : [];
  });
  return {
    key: server.name,
    server,
    prefix: server.prefix,
    backends,
    tools: server.tools ? new Set(server.tools) : null,
    discovery: server.discovery,
  };
}

/** A listed item under its public name, with the backend it belongs to. */
export interface ViewEntry {
  backend: string;
  /** Name or URI at the backend. */
  original: string;
  item: CatalogItem;
  /** An aliased tool: the public name the alias stands for (plugins match either). */
  aliasOf?: string;
  /** An overridden tool: the item with the backend's full inputSchema, for plugins. */
  full?: CatalogItem;
}

/** The merged, public view of an endpoint's catalogs. */
export interface FederatedView {
  tools: ViewEntry[];
  prompts: ViewEntry[];
  resources: ViewEntry[];
  resourceTemplates: ViewEntry[];
  toolsByName: Map<string, ViewEntry>;
  promptsByName: Map<string, ViewEntry>;
  resourcesByUri: Map<string, ViewEntry>;
  templateMatchers: Array<{ backend: string; matcher: TemplateMatcher }>;
  /** Union of the backends' capabilities. */
  capabilities: Record<string, unknown>;
  /** Skills (extension `io.modelcontextprotocol/skills`) under public URIs (`skill-view.ts`). */
  skills: SkillsView;
  /**
   * The one backend of a `prefix: false` endpoint that has exactly one (for
   * this caller): unknown methods and capabilities pass through to it
   * (`extensions.ts`); null elsewhere.
   */
  passthrough: string | null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function renamed(item: CatalogItem, key: string, value: string): CatalogItem {
  return item[key] === value ? item : { ...item, [key]: value };
}

/**
 * Builds the public view. Backends are taken in name order, so on a
 * `prefix: false` endpoint a duplicate name resolves to the first backend
 * (the server save rejects such conflicts when catalogs are known).
 */
export function buildView(endpoint: Endpoint, catalogs: ReadonlyMap<string, Catalog>): FederatedView {
  const view: FederatedView = {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    toolsByName: new Map(),
    promptsByName: new Map(),
    resourcesByUri: new Map(),
    templateMatchers: [],
    capabilities: {},
    skills: emptySkills(),
    passthrough: !endpoint.prefix && endpoint.backends.length === 1 ? (endpoint.backends[0]?.name ?? null) : null,
  };
  const backends = [...endpoint.backends].sort((a, b) => a.name.localeCompare(b.name));
  const overrides = overrideIndex(endpoint.server);
  for (const backend of backends) {
    const catalog = catalogs.get(backend.name);
    if (!catalog) continue;
    for (const [cap, value] of Object.entries(catalog.capabilities)) {
      if (typeof value === "object" && value !== null) {
        view.capabilities[cap] = { ...(view.capabilities[cap] as object | undefined), ...(value as object) };
      }
    }
    addSkills(view.skills, backend.name, catalog.capabilities, catalog.skills, endpoint.prefix);
    for (const backendTool of catalog.tools) {
      // An MCP App's view reference (`_meta.ui.resourceUri`) must be what the client reads (references.ts).
      const tool = publicTool(backendTool, backend.name, endpoint.prefix);
      const original = str(tool.name);
      const name = original && publicName(backend.name, original, endpoint.prefix);
      if (!original || !name) continue;
      if (endpoint.tools && !endpoint.tools.has(name)) continue;
      const override = overrides?.byTool.get(name);
      const listed = override?.alias ?? name;
      // An alias owns its name: a tool of that public name stays hidden (save-time checks refuse this when they can).
      if (view.toolsByName.has(listed) || (overrides?.byAlias.get(listed) ?? override) !== override) continue;
      const entry: ViewEntry = override
        ? {
            backend: backend.name,
            original,
            ...overriddenTool(tool, name, override),
            ...(listed !== name && { aliasOf: name }),
          }
        : { backend: backend.name, original, item: renamed(tool, "name", name) };
      view.tools.push(entry);
      view.toolsByName.set(listed, entry);
    }
    for (const prompt of catalog.prompts) {
      const original = str(prompt.name);
      const name = original && publicName(backend.name, original, endpoint.prefix);
      if (!original || !name || view.promptsByName.has(name)) continue;
      const entry = { backend: backend.name, original, item: renamed(prompt, "name", name) };
      view.prompts.push(entry);
      view.promptsByName.set(name, entry);
    }
    for (const resource of catalog.resources) {
      const original = str(resource.uri);
      if (!original) continue;
      const uri = publicUri(backend.name, original, endpoint.prefix);
      if (view.resourcesByUri.has(uri)) continue;
      const entry = { backend: backend.name, original, item: renamed(resource, "uri", uri) };
      view.resources.push(entry);
      view.resourcesByUri.set(uri, entry);
    }
    for (const template of catalog.resourceTemplates) {
      const original = str(template.uriTemplate);
      if (!original) continue;
      const uriTemplate = publicUri(backend.name, original, endpoint.prefix);
      view.resourceTemplates.push({
        backend: backend.name,
        original,
        item: renamed(template, "uriTemplate", uriTemplate),
      });
      const matcher = templateMatcher(original);
      if (matcher) view.templateMatchers.push({ backend: backend.name, matcher });
    }
  }
  return view;
}

/** Where a public tool or prompt name goes: backend and original name. */
export function routeName(
  endpoint: Endpoint,
  name: string,
  index: ReadonlyMap<string, ViewEntry> | null,
): { backend: string; name: string } | null {
  if (endpoint.tools && !endpoint.tools.has(name)) return null;
  if (endpoint.prefix) {
    const split = splitPublicName(name);
    if (!split || !endpoint.backends.some((b) => b.name === split.backend)) return null;
    return split;
  }
  const entry = index?.get(name);
  return entry ? { backend: entry.backend, name: entry.original } : null;
}

/** Where a public resource URI goes: backend and original URI. */
export function routeUri(
  endpoint: Endpoint,
  uri: string,
  view: FederatedView | null,
): { backend: string; uri: string } | null {
  if (endpoint.prefix) {
    const split = splitPublicUri(uri);
    if (!split || !endpoint.backends.some((b) => b.name === split.backend)) return null;
    return split;
  }
  const exact = view?.resourcesByUri.get(uri);
  if (exact) return { backend: exact.backend, uri: exact.original };
  // A listed skill's files (and directories) belong to its backend, before any template guesses.
  const skill = view && skillOwner(view.skills, uri);
  if (skill) return { backend: skill, uri };
  const template = view?.templateMatchers.find((t) => t.matcher.test(uri));
  if (template) return { backend: template.backend, uri };
  // A single backend owns every URI on its endpoint.
  const only = endpoint.backends.length === 1 ? endpoint.backends[0] : undefined;
  return only ? { backend: only.name, uri } : null;
}

/** A public name that more than one backend of an endpoint offers. */
export interface NameConflict {
  kind: "tool" | "prompt";
  name: string;
  backends: string[];
}

/**
 * Names that would collide on a `prefix: false` endpoint (DESIGN: conflicts
 * are rejected when the server is saved). Only exposed names count: a tool
 * filter that keeps one of two same-named tools has no conflict to report
 * (the first backend by name would win, as in `buildView`).
 */
export function nameConflicts(endpoint: Endpoint, catalogs: ReadonlyMap<string, Catalog>): NameConflict[] {
  if (endpoint.prefix) return [];
  const owners = { tool: new Map<string, string[]>(), prompt: new Map<string, string[]>() };
  for (const backend of endpoint.backends) {
    const catalog = catalogs.get(backend.name);
    if (!catalog) continue;
    for (const [kind, items] of [
      ["tool", catalog.tools],
      ["prompt", catalog.prompts],
    ] as const) {
      for (const item of items) {
        const name = str(item.name);
        if (!name || (kind === "tool" && endpoint.tools && !endpoint.tools.has(name))) continue;
        const list = owners[kind].get(name) ?? [];
        if (!list.includes(backend.name)) list.push(backend.name);
        owners[kind].set(name, list);
      }
    }
  }
  const conflicts: NameConflict[] = [];
  for (const kind of ["tool", "prompt"] as const) {
    for (const [name, backends] of owners[kind]) {
      if (backends.length > 1) conflicts.push({ kind, name, backends: backends.sort() });
    }
  }
  return conflicts.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
