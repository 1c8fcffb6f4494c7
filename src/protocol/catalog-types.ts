/**
 * A backend's catalog: what it offers, as its list methods returned it.
 */

/** One listed item (tool, prompt, resource or template) as the backend sent it. */
export type CatalogItem = Record<string, unknown>;

/** Everything a backend offers to clients of one capability profile. */
export interface Catalog {
  tools: CatalogItem[];
  prompts: CatalogItem[];
  resources: CatalogItem[];
  resourceTemplates: CatalogItem[];
  /** The backend's server capabilities from initialize. */
  capabilities: Record<string, unknown>;
  /** When it was fetched (epoch ms). */
  fetchedAt: number;
}

/** A catalog lookup result: the catalog, or why there is none yet. */
export type CatalogAnswer = { ok: true; catalog: Catalog } | { ok: false; error: string };
