/**
 * Fetches a backend's catalog over MCP: initialize with a capability profile,
 * page through each list the backend supports, then close the session.
 * Bounded: at most MAX_PAGES pages and MAX_ITEMS items per list.
 */
import type { BackendConfig } from "../config/snapshot";
import type { Catalog, CatalogItem } from "../protocol/catalog-types";
import { profileCapabilities } from "../protocol/profiles";
import { BackendFailure } from "./failure";
import { initialize, request, terminate } from "./http";
import type { ExchangeOptions, LegacyPoster, UpstreamSession } from "./types";

const MAX_PAGES = 20;
const MAX_ITEMS = 5000;

async function listAll(
  backend: BackendConfig,
  session: UpstreamSession,
  method: string,
  key: string,
  options: ExchangeOptions,
): Promise<CatalogItem[]> {
  const items: CatalogItem[] = [];
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
      if (typeof item === "object" && item !== null && items.length < MAX_ITEMS) items.push(item as CatalogItem);
    }
    const next = reply.result.nextCursor;
    if (typeof next !== "string" || !next || items.length >= MAX_ITEMS) break;
    cursor = next;
  }
  return items;
}

/**
 * Fetches the full catalog a client with `profile` would see. `via` reaches a
 * legacy-SSE backend from inside its own Durable Object.
 */
export async function fetchCatalog(backend: BackendConfig, profile: string, via?: LegacyPoster): Promise<Catalog> {
  const options: ExchangeOptions = via ? { via } : {};
  const session = await initialize(backend, { capabilities: profileCapabilities(profile) }, options);
  try {
    const caps = session.capabilities;
    const [tools, prompts, resources, resourceTemplates] = await Promise.all([
      caps.tools ? listAll(backend, session, "tools/list", "tools", options) : [],
      caps.prompts ? listAll(backend, session, "prompts/list", "prompts", options) : [],
      caps.resources ? listAll(backend, session, "resources/list", "resources", options) : [],
      caps.resources
        ? listAll(backend, session, "resources/templates/list", "resourceTemplates", options).catch(() => [])
        : [],
    ]);
    return { tools, prompts, resources, resourceTemplates, capabilities: caps, fetchedAt: Date.now() };
  } finally {
    await terminate(backend, session, via);
  }
}
