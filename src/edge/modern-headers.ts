/**
 * The mirrored headers of MCP 2026-07-28 (basic/transports, "Request
 * headers"): `MCP-Protocol-Version` and `Mcp-Method` on every request,
 * `Mcp-Name` for `tools/call`, `prompts/get` and `resources/read`, and
 * `Mcp-Param-{Name}` for tool arguments whose schema property declares
 * `x-mcp-header`. A value may be sent as `=?base64?{UTF-8 as base64}?=`; the
 * decoding is strict (a lenient `atob` would accept bad padding, which the
 * specification requires refusing). Every problem is a HeaderMismatch
 * (-32020, HTTP 400). Pure.
 */

const SENTINEL = /^=\?base64\?(.*)\?=$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** A header value with the Base64 sentinel decoded; null when the sentinel's content is malformed. */
export function decodeHeaderValue(raw: string): string | null {
  const match = SENTINEL.exec(raw);
  if (!match) return raw;
  const b64 = match[1] ?? "";
  if (!BASE64.test(b64)) return null;
  try {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** The body field `Mcp-Name` mirrors, for the methods that have one. */
export function nameSource(method: string, params: Record<string, unknown>): string | undefined {
  const value =
    method === "resources/read"
      ? params.uri
      : method === "tools/call" || method === "prompts/get"
        ? params.name
        : undefined;
  return typeof value === "string" ? value : undefined;
}

/** Problems with the standard mirrored headers, or null when they agree with the body. */
export function standardHeaderProblem(
  headers: { protocolVersion: string | null; method: string | null; name: string | null },
  method: string,
  params: Record<string, unknown>,
): string | null {
  if (headers.protocolVersion === null) return "Header mismatch: MCP-Protocol-Version is required";
  if (headers.method === null) return "Header mismatch: Mcp-Method is required";
  const expected = nameSource(method, params);
  if (expected === undefined) return null;
  if (headers.name === null) return "Header mismatch: Mcp-Name is required";
  const decoded = decodeHeaderValue(headers.name);
  if (decoded === null) return "Header mismatch: Mcp-Name is not valid =?base64?…?= encoding";
  if (decoded !== expected) return "Header mismatch: Mcp-Name does not match the body";
  return null;
}

/** The `x-mcp-header` declarations of a tool's input schema: header name → argument name. */
export function paramHeaders(inputSchema: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const properties = (inputSchema as { properties?: unknown } | undefined)?.properties;
  if (typeof properties !== "object" || properties === null) return out;
  for (const [arg, schema] of Object.entries(properties)) {
    const header = (schema as { "x-mcp-header"?: unknown } | null)?.["x-mcp-header"];
    if (typeof header === "string" && /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(header)) {
      out.set(header.toLowerCase(), arg);
    }
  }
  return out;
}

/** Text form of an argument value as its header carries it (strings, integers, booleans). */
function headerForm(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return null;
}

/**
 * Problems with `Mcp-Param-*` headers of a `tools/call`: every declared
 * argument that is present and not null must be mirrored exactly.
 */
export function paramHeaderProblem(
  declared: ReadonlyMap<string, string>,
  args: Record<string, unknown>,
  header: (name: string) => string | null,
): string | null {
  for (const [name, arg] of declared) {
    const value = args[arg];
    if (value === undefined || value === null) continue;
    const raw = header(`mcp-param-${name}`);
    if (raw === null) return `Header mismatch: Mcp-Param-${name} is required`;
    const decoded = decodeHeaderValue(raw);
    if (decoded === null) return `Header mismatch: Mcp-Param-${name} is not valid =?base64?…?= encoding`;
    const expected = headerForm(value);
    const matches =
      typeof value === "number" ? decoded.trim() !== "" && Number(decoded) === value : decoded === expected;
    if (!matches) return `Header mismatch: Mcp-Param-${name} does not match the argument`;
  }
  return null;
}
