/**
 * A ranked full-text index over an endpoint's tools (search discovery mode):
 * BM25F (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25
 * and Beyond", §3.5). Each field's term frequency is length-normalised with
 * its own average and weighted (a tool's name split into words weighs most,
 * then its argument names, its description, its backend, then its argument
 * descriptions), the weighted frequencies are summed, and the sum is
 * saturated once with k1 and multiplied by the term's IDF. Terms come from
 * `terms.ts` (identifier splitting, stop words, Porter stems); query words of
 * four letters or more also match longer terms they begin, at a discount.
 *
 * Hand-written (about 150 lines) rather than `minisearch`, which was measured
 * first (bench/discovery): it returns a result object with match details for
 * every matching document, ~900 of 10,000 tools for a typical query, and
 * cost 0.96 ms CPU per search on workerd (3.6× the pass-through floor). Here
 * everything a query needs, the saturated BM25F weight of each (term, tool),
 * is computed at build time into typed arrays, so a search is one
 * multiply-add per posting and one sort of the tools it touched.
 *
 * An index is immutable once built. Building costs O(catalog), so it is done
 * once per catalog content (`discovery/cache.ts`), never per request.
 */
import type { CatalogItem } from "../../protocol/catalog-types";
import type { ViewEntry } from "../federation";
import { MAX_TEXT, terms } from "./terms";

/** Most arguments of one tool that are indexed (bounds a hostile schema). */
const MAX_ARGS = 64;
/** Field weights: how much a match in each field counts. */
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

/** BM25 saturation and length normalisation (the usual defaults). */
const K1 = 1.2;
const B = 0.75;
/** Longer terms one query word may expand to as a prefix (bounds a query's cost). */
const MAX_EXPANSIONS = 16;
/** Distinct terms one query uses. */
const MAX_QUERY_TERMS = 32;

interface Postings {
  idf: number;
  docs: Int32Array;
  /** Saturated BM25F term frequency per document, in `docs` order. */
  weights: Float32Array;
}

/** An immutable search index over one tool list. */
export class ToolIndex {
  private readonly postings = new Map<string, Postings>();
  /** Every indexed term, sorted (prefix expansion is a binary search). */
  private readonly vocabulary: string[];
  /** Per-query scratch: scores by document, reset after each search (a search runs synchronously). */
  private readonly scores: Float64Array;

  constructor(readonly documents: readonly ToolDocument[]) {
    const n = documents.length;
    const fieldTerms = documents.map((d) => FIELDS.map((f) => terms(d[f])));
    const average = FIELDS.map((_, f) => fieldTerms.reduce((sum, doc) => sum + (doc[f]?.length ?? 0), 0) / (n || 1));
    const lists = new Map<string, { docs: number[]; weights: number[] }>();
    fieldTerms.forEach((doc, id) => {
      const tf = new Map<string, number>();
      doc.forEach((list, f) => {
        const norm = 1 - B + (B * list.length) / ((average[f] as number) || 1);
        const weight = FIELD_BOOST[FIELDS[f] as Fields] / norm;
        for (const t of list) tf.set(t, (tf.get(t) ?? 0) + weight);
      });
      for (const [t, f] of tf) {
        let list = lists.get(t);
        if (!list) {
          list = { docs: [], weights: [] };
          lists.set(t, list);
        }
        list.docs.push(id);
        list.weights.push(f / (K1 + f));
      }
    });
    for (const [t, list] of lists) {
      const df = list.docs.length;
      this.postings.set(t, {
        idf: Math.log(1 + (n - df + 0.5) / (df + 0.5)),
        docs: Int32Array.from(list.docs),
        weights: Float32Array.from(list.weights),
      });
    }
    this.vocabulary = [...lists.keys()].sort();
    this.scores = new Float64Array(n);
  }

  /** The indexed terms that begin with `prefix` and are longer than it (at most MAX_EXPANSIONS). */
  private expansions(prefix: string): string[] {
    const v = this.vocabulary;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((v[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < v.length && out.length < MAX_EXPANSIONS; i++) {
      const t = v[i] as string;
      if (!t.startsWith(prefix)) break;
      if (t !== prefix) out.push(t);
    }
    return out;
  }

  /**
   * The tools matching `query`, best first (ties in catalog order), that
   * `accept` lets through, at most `limit`. Cost: the query's postings, and
   * `accept` only for tools that would make the current top `limit`.
   */
  find(query: string, limit: number, accept: (id: number) => boolean): Hit[] {
    const scores = this.scores;
    const touched: number[] = [];
    const add = (t: string, factor: number) => {
      const p = this.postings.get(t);
      if (!p) return;
      const w = p.idf * factor;
      for (let i = 0; i < p.docs.length; i++) {
        const d = p.docs[i] as number;
        if (scores[d] === 0) touched.push(d);
        scores[d] = (scores[d] as number) + w * (p.weights[i] as number);
      }
    };
    for (const t of [...new Set(terms(query.slice(0, MAX_TEXT)))].slice(0, MAX_QUERY_TERMS)) {
      add(t, 1);
      if (t.length >= MIN_PREFIX) for (const longer of this.expansions(t)) add(longer, PREFIX_WEIGHT);
    }
    // Top `limit` by insertion into a short sorted list: no object or sort per touched tool.
    const top: Hit[] = [];
    for (const id of touched) {
      const score = scores[id] as number;
      scores[id] = 0;
      const last = top[top.length - 1];
      if (top.length >= limit && last && (score < last.score || (score === last.score && id > last.id))) continue;
      if (!accept(id)) continue;
      let at = top.length;
      while (at > 0) {
        const before = top[at - 1] as Hit;
        if (before.score > score || (before.score === score && before.id < id)) break;
        at--;
      }
      top.splice(at, 0, { id, score });
      if (top.length > limit) top.pop();
    }
    return top;
  }
}
