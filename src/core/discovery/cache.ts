/**
 * Search indexes per endpoint and capability profile, shared by every request
 * on the isolate (design rules 1 and 5: built once, bounded). An index is
 * keyed by the federated view's tool list: a new list (a config edit, a
 * refreshed catalog) is re-indexed only when its searchable text changed,
 * so a backend's periodic catalog refresh that changes nothing costs one
 * linear comparison, not a rebuild.
 */
import type { ViewEntry } from "../federation";
import { sameDocuments, ToolIndex, toolDocuments } from "./tool-index";

/** Indexes kept per isolate; the least recently used go first. */
export const MAX_INDEXES = 16;
/**
 * Tools indexed per isolate, over all indexes: an index of 10,000 tools
 * holds about 3 MiB with its documents (bench/discovery), so this keeps the
 * indexes near 12 MiB of the isolate's 128 MiB. One endpoint larger than
 * this still gets its index (alone).
 */
export const MAX_INDEXED_TOOLS = 40_000;

interface Cached {
  entries: readonly ViewEntry[];
  index: ToolIndex;
}

/** Insertion order is recency order (a hit is re-inserted), as in `util/lru.ts`, plus a bound on total tools. */
const indexes = new Map<string, Cached>();
let indexedTools = 0;
let builds = 0;

function remember(key: string, value: Cached): void {
  const old = indexes.get(key);
  if (old) {
    indexes.delete(key);
    indexedTools -= old.index.documents.length;
  }
  indexes.set(key, value);
  indexedTools += value.index.documents.length;
  for (const [oldest, entry] of indexes) {
    if (indexes.size <= MAX_INDEXES && indexedTools <= MAX_INDEXED_TOOLS) break;
    if (oldest === key) break;
    indexes.delete(oldest);
    indexedTools -= entry.index.documents.length;
  }
}

/** The index of `entries` (the endpoint's whole tool list) under `key` (endpoint and profile). */
export function toolIndex(key: string, entries: readonly ViewEntry[]): ToolIndex {
  const cached = indexes.get(key);
  if (cached?.entries === entries) {
    remember(key, cached);
    return cached.index;
  }
  const documents = toolDocuments(entries);
  let index = cached && sameDocuments(cached.index.documents, documents) ? cached.index : undefined;
  if (!index) {
    index = new ToolIndex(documents);
    builds++;
  }
  remember(key, { entries, index });
  return index;
}

/** How many indexes this isolate has built, and what it holds now (tests: a search must not rebuild; bounds). */
export function indexStats(): { builds: number; kept: number; tools: number } {
  return { builds, kept: indexes.size, tools: indexedTools };
}
