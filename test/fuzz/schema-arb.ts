/**
 * JSON Schema → fast-check arbitraries, for the subset the admin API's
 * OpenAPI document and `/api/plugins/kinds` use (both are generated from the
 * gateway's own zod schemas, so the fuzzer follows the real contract and
 * picks up new fields without being edited).
 *
 * - `validValue`: values the schema accepts (fields the schema cannot
 *   express, such as URLs that pass the address checks, come from `hint`).
 * - `nearValid`: a valid value with exactly one field broken (removed,
 *   wrong type, out of range, too long, pattern or format broken, unknown
 *   key added, one list item broken, a list too long or empty), so each
 *   case probes one validation rule while everything else is right.
 *
 * Pure (fast-check only): shared by the workerd property tests and the Node
 * fuzz runner.
 */
import fc from "fast-check";

/** The JSON Schema keywords the generators understand. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
}

/** Supplies a generator for a field by its path (e.g. `["url"]`), or undefined for the default. */
export type Hint = (path: readonly string[], schema: JsonSchema) => fc.Arbitrary<unknown> | undefined;

/** Resolves `$ref`s against a document's `components.schemas`. */
export type Resolver = (ref: string) => JsonSchema;

/** A resolver for an OpenAPI document. */
export function refResolver(components: Record<string, JsonSchema>): Resolver {
  return (ref) => {
    const name = ref.replace(/^#\/components\/schemas\//, "");
    const found = components[name];
    if (!found) throw new Error(`unknown schema ${ref}`);
    return found;
  };
}

/** Caps on generated sizes: enough to probe limits without megabyte bodies in every case. */
const MAX_GEN_ITEMS = 4;
const MAX_GEN_CHARS = 24;

function typesOf(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

function deref(schema: JsonSchema, resolve: Resolver): JsonSchema {
  return schema.$ref ? deref(resolve(schema.$ref), resolve) : schema;
}

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? MAX_GEN_CHARS, MAX_GEN_CHARS));
  if (schema.format === "date-time") {
    // Future instants: the only date-time inputs (token expiry) must lie ahead.
    const soon = Date.now() + 86_400_000;
    return fc
      .date({ min: new Date(soon), max: new Date(soon + 1e12), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (schema.format === "uri") return fc.webUrl({ validSchemes: ["https"] });
  if (schema.pattern) {
    const re = new RegExp(schema.pattern);
    try {
      return fc
        .stringMatching(re)
        .filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY));
    } catch {
      // A pattern fast-check cannot generate from (lookahead, backreference): its default or nothing.
      return fc.constant(typeof schema.default === "string" ? schema.default : "");
    }
  }
  return fc.string({ minLength: min, maxLength: max, unit: "grapheme" });
}

/** Values `schema` accepts. */
export function validValue(
  schema: JsonSchema,
  resolve: Resolver,
  hint: Hint = () => undefined,
  path: readonly string[] = [],
): fc.Arbitrary<unknown> {
  const s = deref(schema, resolve);
  const hinted = hint(path, s);
  if (hinted) return hinted;
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((a) => validValue(a, resolve, hint, path)));
  const types = typesOf(s);
  if (types.length > 1) return fc.oneof(...types.map((t) => validValue({ ...s, type: t }, resolve, hint, path)));
  switch (types[0]) {
    case "string":
      return stringArb(s);
    case "integer":
      return fc.integer({ min: s.minimum ?? -1_000_000, max: s.maximum ?? 1_000_000 });
    case "number":
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const item = validValue(s.items ?? {}, resolve, hint, [...path, "0"]);
      const minLength = s.minItems ?? 0;
      const maxLength = Math.max(minLength, Math.min(s.maxItems ?? MAX_GEN_ITEMS, MAX_GEN_ITEMS));
      // Lists the API refuses to hold twice ("must not repeat") are generated without repeats.
      return fc.uniqueArray(item, { minLength, maxLength, selector: (v) => JSON.stringify(v) });
    }
    case "object":
      return objectArb(s, resolve, hint, path);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectArb(s: JsonSchema, resolve: Resolver, hint: Hint, path: readonly string[]): fc.Arbitrary<unknown> {
  const props = s.properties ?? {};
  const required = s.required ?? [];
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, prop] of Object.entries(props)) fields[key] = validValue(prop, resolve, hint, [...path, key]);
  const fixed = fc.record(fields, { requiredKeys: required.filter((k) => k in props) });
  if (typeof s.additionalProperties !== "object" || Object.keys(props).length > 0) return fixed;
  const keys = s.propertyNames ? stringArb(s.propertyNames) : fc.string({ minLength: 1, maxLength: 12 });
  const values = validValue(s.additionalProperties, resolve, hint, [...path, "*"]);
  return fc.dictionary(keys, values, { maxKeys: MAX_GEN_ITEMS });
}

/** One broken field: `delete` removes it, `set` puts `value` there (creating the path). */
export interface Mutation {
  path: string[];
  op: "delete" | "set";
  value?: unknown;
  /** What was broken, for reports (e.g. "url: format"). */
  why: string;
}

/** Values of every JSON type, for "wrong type" mutations. */
const TYPED_JUNK: Array<[string, unknown]> = [
  ["null", null],
  ["boolean", true],
  ["integer", 7],
  ["number", 1.5],
  ["string", "x"],
  ["array", []],
  ["object", {}],
];

const BAD_STRINGS = ["", " ", "UPPER", "a/b", "../..", "\u0000", "a\r\nb", "🙂", "%2F", "__proto__", "constructor"];
/** URLs no deployment accepts: unparsable, another scheme, embedded credentials, bad port or host. */
export const MALFORMED_URIS = [
  "not a url",
  "http://",
  "http://[::1",
  "ftp://example.com/",
  "javascript:alert(1)",
  "http://user:pw@example.com/",
  "//example.com/x",
  "https://example.com:99999/",
  "https://exa mple.com/",
  "https://%zz/",
];
/** URLs of private, local or metadata addresses: refused unless ALLOW_PRIVATE_BACKENDS=true. */
export const PRIVATE_URIS = [
  "http://127.0.0.1/",
  "http://169.254.169.254/latest/meta-data",
  "http://[::ffff:127.0.0.1]/",
  "http://0x7f.0.0.1/",
  "http://2130706433/",
  "https://localhost/",
  "https://printer.local/",
  "https://intranet/",
];
const BAD_DATES = ["2000-01-01T00:00:00Z", "tomorrow", "2026-13-45T99:99:99Z", "", "1e12"];

/** The mutations of one field; semantic ones (range, pattern, format) weigh more than a wrong type. */
type Group = Array<{ weight: number; arbitrary: fc.Arbitrary<Mutation> }>;

function mutationsAt(
  s: JsonSchema,
  resolve: Resolver,
  path: string[],
  depth: number,
  groups: Group[],
  uris: readonly string[],
): void {
  const schema = deref(s, resolve);
  const group: Group = [];
  const label = path.join(".") || "(body)";
  const set = (why: string, value: fc.Arbitrary<unknown>, weight = 3) =>
    group.push({
      weight,
      arbitrary: value.map((v) => ({ path, op: "set" as const, value: v, why: `${label}: ${why}` })),
    });
  const types = typesOf(schema);
  const junk = TYPED_JUNK.filter(([t]) => !types.includes(t) && !(t === "integer" && types.includes("number")));
  if (types.length > 0 && junk.length > 0) set("wrong type", fc.constantFrom(...junk.map(([, v]) => v)), 1);
  if (schema.enum) set("not in enum", fc.constantFrom("bogus", ...schema.enum.map((e) => String(e).toUpperCase())));
  if (types.includes("string")) {
    if (schema.maxLength !== undefined && schema.maxLength < 300_000) {
      set("too long", fc.constant("x".repeat(schema.maxLength + 1)));
    }
    if (schema.minLength) set("too short", fc.constant(""));
    if (schema.pattern) {
      const re = new RegExp(schema.pattern);
      set("pattern", fc.constantFrom(...BAD_STRINGS.filter((b) => !re.test(b)), "x".repeat(300)));
    }
    if (schema.format === "uri") set("format", fc.constantFrom(...uris), 6);
    if (schema.format === "date-time") set("format", fc.constantFrom(...BAD_DATES));
  }
  if (types.includes("integer") || types.includes("number")) {
    const edges: number[] = [1e308, -1e308];
    if (schema.minimum !== undefined) edges.push(schema.minimum - 1);
    if (schema.maximum !== undefined) edges.push(schema.maximum + 1);
    if (types.includes("integer")) edges.push(1.5, 2 ** 53 + 2);
    set("out of range", fc.constantFrom(...edges));
  }
  if (types.includes("array")) {
    if (schema.minItems) set("too few items", fc.constant([]));
    const maxItems = schema.maxItems;
    if (maxItems !== undefined && maxItems <= 5000) {
      // Distinct items (a numbered suffix on strings), so only the count is wrong.
      const item = validValue(schema.items ?? {}, resolve);
      set(
        "too many items",
        item.map((first) =>
          Array.from({ length: maxItems + 1 }, (_, i) =>
            typeof first === "string" ? `${first.slice(0, 20)}${i}` : first,
          ),
        ),
      );
    }
    if (schema.items && depth < 4) mutationsAt(schema.items, resolve, [...path, "0"], depth + 1, groups, uris);
  }
  if (types.includes("object")) {
    const props = schema.properties ?? {};
    for (const key of schema.required ?? []) {
      const at = [...path, key];
      group.push({
        weight: 3,
        arbitrary: fc.constant({ path: at, op: "delete" as const, why: `${at.join(".")}: missing` }),
      });
    }
    if (schema.additionalProperties === false) {
      const at = [...path, "unexpected_field"];
      group.push({
        weight: 3,
        arbitrary: fc.constant({ path: at, op: "set" as const, value: 1, why: `${at.join(".")}: unknown field` }),
      });
    }
    if (typeof schema.additionalProperties === "object" && Object.keys(props).length === 0) {
      set("too many keys", fc.constant(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`K${i}`, "v"]))));
      const own = (json: string): unknown => JSON.parse(json);
      set(
        "prototype keys",
        fc.constantFrom(own('{"__proto__": "x"}'), own('{"__proto__": {"polluted": 1}}'), own('{"constructor": "x"}')),
      );
      if (depth < 4) mutationsAt(schema.additionalProperties, resolve, [...path, "X-Fuzz"], depth + 1, groups, uris);
    }
    if (depth < 4)
      for (const [key, prop] of Object.entries(props))
        mutationsAt(prop, resolve, [...path, key], depth + 1, groups, uris);
  }
  if (group.length > 0) groups.push(group);
}

/**
 * Single-field mutations of `schema`, one group per field (each field is
 * equally likely to be broken). `uris`: the URLs that are invalid in this
 * deployment (private addresses are valid where private backends are allowed).
 */
export function mutations(
  schema: JsonSchema,
  resolve: Resolver,
  uris: readonly string[] = [...MALFORMED_URIS, ...PRIVATE_URIS],
): Array<fc.Arbitrary<Mutation>> {
  const groups: Group[] = [];
  mutationsAt(schema, resolve, [], 0, groups, uris);
  return groups.map((g) => fc.oneof(...g));
}

/** Applies a mutation to a deep copy of `value`. */
export function applyMutation(value: unknown, m: Mutation): unknown {
  const root: unknown = structuredClone(value);
  if (m.path.length === 0) return m.op === "set" ? m.value : undefined;
  let node = root as Record<string, unknown>;
  for (const key of m.path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = /^\d+$/.test(key) ? [] : {};
    node = node[key] as Record<string, unknown>;
  }
  const last = m.path[m.path.length - 1] as string;
  if (m.op === "delete") delete node[last];
  else node[last] = m.value;
  return root;
}

/** A valid value with exactly one field broken, and what was broken. */
export function nearValid(
  schema: JsonSchema,
  resolve: Resolver,
  hint: Hint = () => undefined,
  uris?: readonly string[],
): fc.Arbitrary<{ value: unknown; why: string }> {
  const all = mutations(schema, resolve, uris);
  const valid = validValue(schema, resolve, hint);
  if (all.length === 0) return valid.map((value) => ({ value, why: "valid" }));
  return fc.tuple(valid, fc.oneof(...all)).map(([value, m]) => ({ value: applyMutation(value, m), why: m.why }));
}
