/**
 * A backend's catalog: what it offers, as its list methods returned it, and
 * the protocol era it was fetched in.
 */
import type { Era } from "./eras";
import type { ParamHeader } from "./mcp-headers";

/** One listed item (tool, prompt, resource or template) as the backend sent it. */
export type CatalogItem = Record<string, unknown>;

/** Everything a backend offers to clients of one capability profile. */
export interface Catalog {
  tools: CatalogItem[];
  prompts: CatalogItem[];
  resources: CatalogItem[];
  resourceTemplates: CatalogItem[];
  /** Skill entries (`skills/list`) of a backend declaring `io.modelcontextprotocol/skills`; absent in older catalogs. */
  skills?: CatalogItem[];
  /** The backend's server capabilities (from initialize, or from server/discover). */
  capabilities: Record<string, unknown>;
  /** When it was fetched (epoch ms). */
  fetchedAt: number;
  /** The backend's era when it was fetched (absent in catalogs stored before eras existed: legacy). */
  era?: Era;
  /** Modern backends: the smallest `ttlMs` of the list results (caching.mdx), before the gateway's own bounds. */
  ttlMs?: number;
  /** Modern backends: `private` when any list result was private. */
  cacheScope?: "public" | "private";
  /** Modern backends: the `x-mcp-header` arguments of each tool that declares some, by original tool name. */
  paramHeaders?: Record<string, ParamHeader[]>;
}

/** A catalog lookup result: the catalog, or why there is none yet (with the era, when known). */
export type CatalogAnswer = { ok: true; catalog: Catalog } | { ok: false; error: string; era?: Era };
