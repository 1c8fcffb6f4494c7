/**
 * Search indexes per endpoint and capability profile, shared by every request
 * on the isolate (design rules 1 and 5: built once, bounded). An index is
 * keyed by the federated view's tool list: a new list (a config edit, a
 * refreshed catalog) is re-indexed only when its searchable text changed,
 * so a backend's periodic catalog refresh that changes nothing costs one
 * linear comparison, not a rebuild.
 */
import { LruMap } from "../../util/lru";
import type { ViewEntry } from "../federation";
import { sameDocuments, ToolIndex, toolDocuments } from "./tool-index";

/**
 * Indexes kept per isolate. An index of 10,000 tools holds a few MB (README,
 * "Huge catalogs"); endpoints beyond this bound are rebuilt on their next search.
 */
export const MAX_INDEXES = 16;

interface Cached {
  entries: readonly ViewEntry[];
  index: ToolIndex;
}

const indexes = new LruMap<string, Cached>(MAX_INDEXES);
let builds = 0;

/** The index of `entries` (the endpoint's whole tool list) under `key` (endpoint and profile). */
export function toolIndex(key: string, entries: readonly ViewEntry[]): ToolIndex {
  const cached = indexes.get(key);
  if (cached?.entries === entries) return cached.index;
  const documents = toolDocuments(entries);
  let index = cached && sameDocuments(cached.index.documents, documents) ? cached.index : undefined;
  if (!index) {
    index = new ToolIndex(documents);
    builds++;
  }
  indexes.set(key, { entries, index });
  return index;
}

/** How many indexes this isolate has built (tests: a search must not rebuild). */
export function indexBuilds(): number {
  return builds;
}
