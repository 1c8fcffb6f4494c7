/**
 * Text to search terms, the same way for tool documents and for queries, so
 * a query's words meet the catalog's: identifiers are split into words
 * (`create_pull_request`, `createPullRequest`, `github__list-repos` →
 * create, pull, request…), lower-cased, common English function words are
 * dropped, and every word is reduced to its Porter stem (`stemmer`, a
 * maintained package) so "repositories" finds "repository" and "listing"
 * finds "list". Everything is bounded (design rule 5): a text is cut at
 * `MAX_TEXT` characters and yields at most `MAX_TERMS` terms.
 */
import { stemmer } from "stemmer";

/** Longest text looked at (a tool description or a query). */
export const MAX_TEXT = 4_096;
/** Most terms one text yields. */
export const MAX_TERMS = 256;
/** Longest word kept (longer ones are ids, hashes or noise). */
const MAX_WORD = 40;

/**
 * Words that carry no meaning for finding a tool. Short on purpose: BM25's
 * IDF already discounts frequent words; this only keeps a conversational
 * query ("can you please show me all of the …") from matching everything.
 */
const STOP_WORDS = new Set(
  (
    "a an and are as at be by can could do does for from how i in into is it its me my of on or our please " +
    "show that the their them these this those to us using via we what when where which who will with would " +
    "you your"
  ).split(" "),
);

/**
 * Splits identifiers and prose into lower-case words: snake_case, kebab-case,
 * dots and punctuation, and camelCase. A camelCase word is kept whole as
 * well as split, because brand names are written that way: "GitHub" must
 * match "github" and "git hub" alike, "listPRComments" must match "comments".
 */
export function words(text: string): string[] {
  const out: string[] = [];
  const push = (word: string) => {
    // Single letters are the debris of contractions and initials ("what's" → what, s).
    if (word.length >= 2 && word.length <= MAX_WORD && out.length < MAX_TERMS) out.push(word);
  };
  for (const token of text.slice(0, MAX_TEXT).split(/[^A-Za-z0-9]+/)) {
    if (out.length >= MAX_TERMS) break;
    const parts = token
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
      .split(" ");
    if (parts.length > 1) push(token.toLowerCase());
    for (const part of parts) push(part.toLowerCase());
  }
  return out;
}

/**
 * Stems already computed. A catalog's vocabulary is a few thousand words
 * used hundreds of thousands of times, so this halves an index build;
 * bounded by clearing (design rule 5).
 */
const stems = new Map<string, string>();
const MAX_STEMS = 20_000;

/** One word as a search term: null for a stop word, else its stem. */
export function term(word: string): string | null {
  if (STOP_WORDS.has(word)) return null;
  let stem = stems.get(word);
  if (stem === undefined) {
    if (stems.size >= MAX_STEMS) stems.clear();
    stem = stemmer(word);
    stems.set(word, stem);
  }
  return stem;
}

/** The search terms of a text (what the index stores and what a query looks up). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    const t = term(w);
    if (t) out.push(t);
  }
  return out;
}
