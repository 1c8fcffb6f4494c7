/**
 * A ranked full-text index over an endpoint's tools (search discovery mode).
 * Ranking is BM25+ with per-field weights (BM25F-style boosts) from
 * `minisearch`, a maintained, dependency-free package that runs on workerd:
 * a tool's name split into words weighs most, then its argument names, its
 * description, its backend, then its argument descriptions. Terms come from
 * `terms.ts` (identifier splitting, stop words, Porter stems); query words of
 * four letters or more also match as prefixes, at a discount.
 *
 * An index is immutable once built. Building costs O(catalog), so it is done
 * once per catalog content (`discovery/cache.ts`), never per request.
 */
import MiniSearch from "minisearch";
import type { CatalogItem } from "../../protocol/catalog-types";
import type { ViewEntry } from "../federation";
import { MAX_TEXT, term, words } from "./terms";

/** Most arguments of one tool that are indexed (bounds a hostile schema). */
const MAX_ARGS = 64;
/** Field weights: how much a match in each field counts (tuned on bench/discovery's labelled queries). */
export const FIELD_BOOST = { name: 3, args: 1.5, description: 1, backend: 1, argDocs: 0.5 } as const;
/** A prefix match counts this much of an exact one. */
const PREFIX_WEIGHT = 0.3;
/** Words shorter than this only match exactly (a prefix of "id" matches half the catalog). */
const MIN_PREFIX = 4;

/** The searchable text of one tool. */
export interface ToolDocument {
  id: number;
  name: string;
  backend: string;
  description: string;
  args: string;
  argDocs: string;
}

type Fields = keyof typeof FIELD_BOOST;
const FIELDS = Object.keys(FIELD_BOOST) as Fields[];

function text(v: unknown): string {
  return typeof v === "string" ? v.slice(0, MAX_TEXT) : "";
}

/** Argument names and their descriptions, from the top level of the input schema (bounded). */
function argumentText(item: CatalogItem): { args: string; argDocs: string } {
  const schema = item.inputSchema as { properties?: unknown } | undefined;
  const props = schema && typeof schema.properties === "object" && schema.properties ? schema.properties : {};
  const names: string[] = [];
  const docs: string[] = [];
  for (const [name, prop] of Object.entries(props).slice(0, MAX_ARGS)) {
    names.push(name);
    if (typeof prop === "object" && prop !== null) docs.push(text((prop as { description?: unknown }).description));
  }
  return { args: names.join(" "), argDocs: docs.join(" ").slice(0, MAX_TEXT) };
}

/** The documents of a tool list, in its order (`id` is the position). */
export function toolDocuments(entries: readonly ViewEntry[]): ToolDocument[] {
  return entries.map((e, id) => ({
    id,
    // The name at the backend: the public prefix is the backend, indexed as its own field.
    name: e.original,
    backend: e.backend,
    description: text(e.item.description) || text(e.item.title),
    ...argumentText(e.item),
  }));
}

/** True when two document lists index the same text (a refreshed catalog that did not change). */
export function sameDocuments(a: readonly ToolDocument[], b: readonly ToolDocument[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as ToolDocument;
    const y = b[i] as ToolDocument;
    if (FIELDS.some((f) => x[f] !== y[f])) return false;
  }
  return true;
}

/** One ranked hit: the tool's position in the indexed list and its score. */
export interface Hit {
  id: number;
  score: number;
}

/** An immutable search index over one tool list. */
export class ToolIndex {
  private readonly search: MiniSearch<ToolDocument>;

  constructor(readonly documents: readonly ToolDocument[]) {
    this.search = new MiniSearch<ToolDocument>({
      fields: FIELDS,
      storeFields: [],
      tokenize: words,
      processTerm: term,
      searchOptions: {
        boost: FIELD_BOOST,
        combineWith: "OR",
        prefix: (t) => t.length >= MIN_PREFIX,
        weights: { prefix: PREFIX_WEIGHT, fuzzy: 0 },
      },
    });
    this.search.addAll(documents);
  }

  /**
   * The tools matching `query`, best first, that `accept` lets through, at
   * most `limit`. Cost: the query's posting lists and one sort of the matches.
   */
  find(query: string, limit: number, accept: (id: number) => boolean): Hit[] {
    const out: Hit[] = [];
    for (const r of this.search.search(query.slice(0, MAX_TEXT))) {
      const id = r.id as number;
      if (!accept(id)) continue;
      out.push({ id, score: r.score });
      if (out.length >= limit) break;
    }
    return out;
  }
}
