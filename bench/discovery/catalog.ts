/**
 * A seeded synthetic tool catalog for `npm run bench:discovery`: products
 * (the fifty hand-written ones of `vocabulary.ts`, then generated brands of
 * the same kinds) × four entities × five verbs = 20 tools per product, named
 * and described the way real MCP servers name theirs
 * (`github_create_issue`: "Create a new issue in GitHub (code hosting)…").
 * The first 1,000 tools are the same in every catalog size, so the labelled
 * queries (`queries.json`) hold at 1,000 and at 10,000 tools; the generated
 * brands are near-duplicates of real products and make the larger catalog
 * a hard case for search, as a real 10,000-tool deployment would be.
 *
 * Products are grouped five to a backend (`suite-NNN`), 100 tools each.
 */
import { ENTITIES, type Entity, PRODUCTS, type Product } from "./vocabulary.ts";

/** One generated tool as a backend lists it. */
export interface GeneratedTool {
  name: string;
  description: string;
  inputSchema: {
    type: "object";
    properties: Record<string, { type: string; description: string }>;
    required: string[];
  };
}

/** Tools per product and products per backend. */
export const TOOLS_PER_PRODUCT = 20;
export const PRODUCTS_PER_BACKEND = 5;

/** mulberry32: a tiny seeded PRNG, so every run generates the same catalog. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ONSETS = ["b", "br", "c", "d", "f", "g", "k", "l", "m", "n", "p", "qu", "r", "s", "st", "t", "tr", "v", "z"];
const VOWELS = ["a", "e", "i", "o", "u", "ai", "io"];
const CODAS = ["", "n", "r", "x", "l", "s", "k", "m"];

function brand(random: () => number, taken: Set<string>): string {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
  for (;;) {
    const syllables = 2 + Math.floor(random() * 2);
    let word = "";
    for (let i = 0; i < syllables; i++) word += pick(ONSETS) + pick(VOWELS);
    word += pick(CODAS);
    if (!taken.has(word) && word.length <= 12) {
      taken.add(word);
      return word;
    }
  }
}

/** The products of a catalog of `count` tools (count / 20 of them). */
export function products(count: number, seed = 42): Product[] {
  const n = Math.ceil(count / TOOLS_PER_PRODUCT);
  const random = prng(seed);
  const taken = new Set(PRODUCTS.map((p) => p.id));
  const out = PRODUCTS.slice(0, n);
  for (let i = out.length; i < n; i++) {
    const base = PRODUCTS[i % PRODUCTS.length] as Product;
    const id = brand(random, taken);
    out.push({ ...base, id, name: id[0]?.toUpperCase() + id.slice(1) });
  }
  return out;
}

const words = (key: string) => key.replace(/_/g, " ");
const article = (noun: string) => (/^[aeiou]/i.test(noun) && !/^user/i.test(noun) ? `an ${noun}` : `a ${noun}`);
/** Listing verbs name the plural, as real servers do (`github_list_issues`). */
const PLURAL_VERBS = new Set(["list", "search"]);

/** The tool name of `verb` on entity `key` of product `id`. */
export function toolName(id: string, verb: string, key: string): string {
  const e = ENTITIES[key] as Entity;
  const noun = PLURAL_VERBS.has(verb) ? e.plural.toLowerCase().replace(/[^a-z0-9]+/g, "_") : key;
  return `${id}_${verb}_${noun}`;
}

function sentence(verb: string, e: Entity, p: Product): string {
  const where = `${p.name} (${p.kind})`;
  switch (verb) {
    case "create":
      return `Create a new ${e.name} in ${where}.`;
    case "get":
    case "read":
    case "describe":
    case "inspect":
      return `Get one ${e.name} from ${where} by id, with all its details.`;
    case "list":
      return `List the ${e.plural} in ${where}, newest first, with paging.`;
    case "search":
    case "query":
      return `Search the ${e.plural} in ${where} by keywords and filters.`;
    case "update":
      return `Update fields of an existing ${e.name} in ${where}.`;
    case "delete":
    case "remove":
    case "drop":
      return `Delete ${article(e.name)} from ${where} permanently.`;
    case "send":
      return `Send ${article(e.name)} with ${where}.`;
    default:
      return `${words(verb)[0]?.toUpperCase()}${words(verb).slice(1)} ${article(e.name)} in ${where}.`;
  }
}

function tool(p: Product, key: string, verb: string): GeneratedTool {
  const e = ENTITIES[key] as Entity;
  const idField = `${key}_id`;
  const fields = verb === "create" || verb === "send" ? e.fields : [idField, ...e.fields.slice(0, 2)];
  const properties = Object.fromEntries(
    fields.map((f) => [f, { type: "string", description: `The ${words(f)} of the ${e.name}` }]),
  );
  return {
    name: toolName(p.id, verb, key),
    description: `${sentence(verb, e, p)} ${article(e.name)[0]?.toUpperCase()}${article(e.name).slice(1)} is ${e.gloss}.`,
    inputSchema: { type: "object", properties, required: fields.slice(0, 1) },
  };
}

/** The tools of one product, in a stable order. */
export function productTools(p: Product): GeneratedTool[] {
  return p.entities.flatMap((key) => (ENTITIES[key] as Entity).verbs.map((verb) => tool(p, key, verb)));
}

/** Backend name of the i-th group of products. */
export function backendName(i: number): string {
  return `suite-${String(i + 1).padStart(3, "0")}`;
}

/** The catalog of `count` tools, grouped by backend. */
export function catalog(count: number, seed = 42): Map<string, GeneratedTool[]> {
  const all = products(count, seed);
  const out = new Map<string, GeneratedTool[]>();
  for (let i = 0; i < all.length; i += PRODUCTS_PER_BACKEND) {
    out.set(backendName(i / PRODUCTS_PER_BACKEND), all.slice(i, i + PRODUCTS_PER_BACKEND).flatMap(productTools));
  }
  return out;
}
