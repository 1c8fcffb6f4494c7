/**
 * The HTTP headers a 2026-07-28 request mirrors from its body (MCP 2026-07-28
 * basic/transports/streamable-http, "Request headers"; SEP-2243), pure:
 * `Mcp-Method`, `Mcp-Name` (tools/call and prompts/get: `params.name`;
 * resources/read: `params.uri`) and `Mcp-Param-{Name}` for tool arguments
 * whose `inputSchema` property carries `"x-mcp-header": "{Name}"`.
 *
 * Values that are not plain printable ASCII, that have leading or trailing
 * whitespace, or that look like the sentinel themselves travel as
 * `=?base64?{base64 of the UTF-8 bytes}?=`. Hand-written (a few lines over
 * the platform's `btoa`/`atob`): no package implements this sentinel, and the
 * decoder must be strict where `atob` is lenient (conformance rejects
 * `=?base64?SGVsbG8?=`, whose padding is missing).
 */

const SENTINEL_PREFIX = "=?base64?";
const SENTINEL_SUFFIX = "?=";
/** Printable ASCII without leading or trailing whitespace. */
const PLAIN = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;
/** Canonical base64 with padding (RFC 4648 §4). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** RFC 9110 token characters: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function looksLikeSentinel(value: string): boolean {
  return value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX);
}

/** A header value for `value`: as-is when plain, else the Base64 sentinel. */
export function encodeHeaderValue(value: string): string {
  if (PLAIN.test(value) && !looksLikeSentinel(value)) return value;
  let bin = "";
  for (const byte of new TextEncoder().encode(value)) bin += String.fromCharCode(byte);
  return `${SENTINEL_PREFIX}${btoa(bin)}${SENTINEL_SUFFIX}`;
}

/**
 * The value a header carries: a sentinel decoded strictly (canonical base64,
 * valid UTF-8), anything else literally. Null when a sentinel is malformed
 * (the receiver answers -32020).
 */
export function decodeHeaderValue(header: string): string | null {
  if (!looksLikeSentinel(header) || header.length < SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length) return header;
  const body = header.slice(SENTINEL_PREFIX.length, header.length - SENTINEL_SUFFIX.length);
  if (!BASE64.test(body)) return null;
  try {
    const bin = atob(body);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

/** An argument mirrored into a header: where it sits in `arguments`, and the header's `{Name}`. */
export interface ParamHeader {
  path: string[];
  name: string;
}

/** Limits of the schema walk (design rule 5): a backend's schema is untrusted input. */
const MAX_DEPTH = 32;
const MAX_NODES = 10_000;
const MAX_DECLARATIONS = 64;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Counts `x-mcp-header` keys anywhere in a schema (bounded); -1 when the schema is too large to judge. */
function countDeclarations(schema: unknown): number {
  let count = 0;
  let nodes = 0;
  const stack: Array<{ node: unknown; depth: number }> = [{ node: schema, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) return -1;
    if (Array.isArray(node)) for (const item of node) stack.push({ node: item, depth: depth + 1 });
    else if (isRecord(node)) {
      for (const [key, value] of Object.entries(node)) {
        if (key === "x-mcp-header") count++;
        stack.push({ node: value, depth: depth + 1 });
      }
    }
  }
  return count;
}

/**
 * The `x-mcp-header` declarations of a tool's `inputSchema`, or null when
 * they break the rules a client MUST enforce by dropping the tool
 * (streamable-http, "x-mcp-header"): a non-empty RFC 9110 token without CR/LF,
 * unique case-insensitively, only on `string`/`integer`/`boolean` properties
 * reached through `properties` keys alone (never under `items`, `oneOf`,
 * `$ref`, …).
 */
export function scanParamHeaders(inputSchema: unknown): ParamHeader[] | null {
  const total = countDeclarations(inputSchema);
  if (total < 0) return null;
  if (total === 0) return [];
  const found: ParamHeader[] = [];
  const seen = new Set<string>();
  const walk = (schema: Record<string, unknown>, path: string[]): boolean => {
    if (!isRecord(schema.properties) || path.length >= MAX_DEPTH) return true;
    for (const [key, property] of Object.entries(schema.properties)) {
      if (!isRecord(property)) continue;
      const declared = property["x-mcp-header"];
      if (declared !== undefined) {
        const type = property.type;
        if (typeof declared !== "string" || !TOKEN.test(declared)) return false;
        if (type !== "string" && type !== "integer" && type !== "boolean") return false;
        if (seen.has(declared.toLowerCase()) || found.length >= MAX_DECLARATIONS) return false;
        seen.add(declared.toLowerCase());
        found.push({ path: [...path, key], name: declared });
      }
      if (!walk(property, [...path, key])) return false;
    }
    return true;
  };
  if (!isRecord(inputSchema) || !walk(inputSchema, [])) return null;
  // A declaration the `properties` walk did not reach sits somewhere it is not allowed.
  return found.length === total ? found : null;
}

/** A mirrored argument's header text: strings (sentinel-encoded as needed), safe integers, booleans; else null. */
export function paramHeaderValue(value: unknown): string | null {
  if (typeof value === "string") return encodeHeaderValue(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return null;
}

/** Where `Mcp-Name` comes from, per method. */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

/**
 * The headers a 2026 request mirrors from its body: `Mcp-Method`, `Mcp-Name`
 * where the method has one, and `Mcp-Param-*` for the declared arguments that
 * are present and not null.
 */
export function mirroredHeaders(
  method: string,
  params: Record<string, unknown> | undefined,
  declarations: readonly ParamHeader[] = [],
): Record<string, string> {
  const headers: Record<string, string> = { "mcp-method": method };
  const source = NAME_SOURCE[method];
  const name = source ? params?.[source] : undefined;
  if (typeof name === "string") headers["mcp-name"] = encodeHeaderValue(name);
  if (method !== "tools/call" || declarations.length === 0) return headers;
  for (const { path, name: header } of declarations) {
    let value: unknown = params?.arguments;
    for (const key of path) value = isRecord(value) ? value[key] : undefined;
    const text = paramHeaderValue(value);
    if (text !== null) headers[`mcp-param-${header.toLowerCase()}`] = text;
  }
  return headers;
}
