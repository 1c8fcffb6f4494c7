/**
 * Fetches a backend's catalog over MCP, in the backend's era: a legacy
 * backend is initialized with a capability profile, listed in that session,
 * and the session closed; a modern one (2026-07-28) is asked `server/discover`
 * and listed statelessly, every request declaring the profile's capabilities
 * in its envelope, and its cache hints (`ttlMs`, `cacheScope`) are kept.
 * Bounded: at most MAX_PAGES pages and MAX_ITEMS items per list.
 */
import type { BackendConfig } from "../config/snapshot";
import type { Catalog, CatalogItem } from "../protocol/catalog-types";
import { cacheHints, classifyProbe, type Era } from "../protocol/eras";
import { extensionSettings, SKILLS_EXTENSION } from "../protocol/extensions";
import { type ParamHeader, scanParamHeaders } from "../protocol/mcp-headers";
import { profileCapabilities } from "../protocol/profiles";
import { modernSession } from "./era";
import { BackendFailure } from "./failure";
import { initialize, request, terminate } from "./http";
import type { ExchangeOptions, LegacyPoster, UpstreamSession } from "./types";

const MAX_PAGES = 20;
const MAX_ITEMS = 5000;

/** One list's items and, for a modern backend, the strictest cache hints among its pages. */
interface Listed {
  items: CatalogItem[];
  ttlMs: number;
  cacheScope: "public" | "private";
}

async function listAll(
  backend: BackendConfig,
  session: UpstreamSession,
  method: string,
  key: string,
  options: ExchangeOptions,
): Promise<Listed> {
  const listed: Listed = { items: [], ttlMs: Number.MAX_SAFE_INTEGER, cacheScope: "public" };
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const reply = await request(backend, method, cursor ? { cursor } : undefined, session, options);
    if ("error" in reply) {
      // A backend that advertises a capability but fails its list is a failing backend.
      throw new BackendFailure(backend.name, "http", `Backend '${backend.name}' failed ${method}`);
    }
    const list = reply.result[key];
    if (!Array.isArray(list))
      throw new BackendFailure(backend.name, "malformed", `Backend '${backend.name}' sent a malformed ${method} reply`);
    for (const item of list) {
      if (typeof item === "object" && item !== null && listed.items.length < MAX_ITEMS)
        listed.items.push(item as CatalogItem);
    }
    const hints = cacheHints(reply.result);
    listed.ttlMs = Math.min(listed.ttlMs, hints.ttlMs);
    if (hints.cacheScope === "private") listed.cacheScope = "private";
    const next = reply.result.nextCursor;
    if (typeof next !== "string" || !next || listed.items.length >= MAX_ITEMS) break;
    cursor = next;
  }
  return listed;
}

const NONE: Listed = { items: [], ttlMs: Number.MAX_SAFE_INTEGER, cacheScope: "public" };

/**
 * Lists whatever `caps` advertises. Templates and skills are optional: a
 * failure there is an empty list, so a broken extension never takes the
 * backend's tools with it (a skill unlisted is still reachable by `skills/get`).
 */
async function listEverything(
  backend: BackendConfig,
  session: UpstreamSession,
  caps: Record<string, unknown>,
  options: ExchangeOptions,
): Promise<[Listed, Listed, Listed, Listed, Listed]> {
  return Promise.all([
    caps.tools ? listAll(backend, session, "tools/list", "tools", options) : NONE,
    caps.prompts ? listAll(backend, session, "prompts/list", "prompts", options) : NONE,
    caps.resources ? listAll(backend, session, "resources/list", "resources", options) : NONE,
    caps.resources
      ? listAll(backend, session, "resources/templates/list", "resourceTemplates", options).catch(() => NONE)
      : NONE,
    extensionSettings(caps, SKILLS_EXTENSION)
      ? listAll(backend, session, "skills/list", "skills", options).catch(() => NONE)
      : NONE,
  ]);
}

/**
 * The tools a modern backend offers, minus those whose `x-mcp-header`
 * declarations are invalid (a client MUST drop them: streamable-http,
 * "x-mcp-header"), and the declarations of the rest by tool name.
 */
function usableTools(tools: CatalogItem[]): { tools: CatalogItem[]; paramHeaders: Record<string, ParamHeader[]> } {
  const kept: CatalogItem[] = [];
  const paramHeaders: Record<string, ParamHeader[]> = {};
  for (const tool of tools) {
    const declarations = scanParamHeaders(tool.inputSchema);
    if (declarations === null) continue;
    if (declarations.length > 0 && typeof tool.name === "string") paramHeaders[tool.name] = declarations;
    kept.push(tool);
  }
  return { tools: kept, paramHeaders };
}

/** A modern backend's catalog; `discover` is a DiscoverResult the caller already has (else it is asked). */
async function fetchModern(
  backend: BackendConfig,
  profile: string,
  options: ExchangeOptions,
  known?: Record<string, unknown>,
): Promise<Catalog> {
  const session = modernSession(profileCapabilities(profile));
  let discover = known;
  if (!discover) {
    const reply = await request(backend, "server/discover", {}, session, options);
    const verdict = classifyProbe("error" in reply ? { error: reply.error } : { result: reply.result });
    if (verdict.era !== "modern") {
      throw new BackendFailure(backend.name, "version", `Backend '${backend.name}' no longer speaks MCP 2026-07-28`);
    }
    discover = verdict.discover;
  }
  const caps = discover.capabilities as Record<string, unknown>;
  const lists = await listEverything(backend, session, caps, options);
  const [tools, prompts, resources, resourceTemplates, skills] = lists;
  const discovered = cacheHints(discover);
  const ttlMs = Math.min(discovered.ttlMs, ...lists.map((l) => l.ttlMs));
  const scopes = [discovered.cacheScope, ...lists.map((l) => l.cacheScope)];
  return {
    ...usableTools(tools.items),
    prompts: prompts.items,
    resources: resources.items,
    resourceTemplates: resourceTemplates.items,
    skills: skills.items,
    capabilities: caps,
    fetchedAt: Date.now(),
    era: "modern",
    ttlMs,
    cacheScope: scopes.includes("private") ? "private" : "public",
  };
}

/**
 * Fetches the full catalog a client with `profile` would see, in `era`
 * (`discover`: a fresh DiscoverResult of a modern backend, saving one
 * request). `via` reaches a legacy-SSE backend from inside its own Durable
 * Object. A backend that refuses the era fails with kind `version`.
 */
export async function fetchCatalog(
  backend: BackendConfig,
  profile: string,
  via?: LegacyPoster,
  era: Era = "legacy",
  discover?: Record<string, unknown>,
): Promise<Catalog> {
  const options: ExchangeOptions = via ? { via } : {};
  if (era === "modern") return fetchModern(backend, profile, options, discover);
  const session = await initialize(backend, { capabilities: profileCapabilities(profile) }, options);
  try {
    const caps = session.capabilities;
    const lists = await listEverything(backend, session, caps, options);
    const [tools, prompts, resources, resourceTemplates, skills] = lists;
    return {
      tools: tools.items,
      prompts: prompts.items,
      resources: resources.items,
      resourceTemplates: resourceTemplates.items,
      skills: skills.items,
      capabilities: caps,
      fetchedAt: Date.now(),
      era: "legacy",
    };
  } finally {
    await terminate(backend, session, via);
  }
}
