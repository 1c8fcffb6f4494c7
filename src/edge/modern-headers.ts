/**
 * The mirrored headers of MCP 2026-07-28 (basic/transports, "Request
 * headers"): `MCP-Protocol-Version` and `Mcp-Method` on every request,
 * `Mcp-Name` for `tools/call`, `prompts/get`, `resources/read` and the
 * tasks extension's `tasks/get`, `tasks/update`, `tasks/cancel`, and
 * `Mcp-Param-{Name}` for tool arguments whose schema property declares
 * `x-mcp-header`, checked against the body of a request the gateway
 * receives (the encoding and the declaration rules are in
 * `protocol/mcp-headers.ts`). Every problem is a HeaderMismatch (-32020,
 * HTTP 400). Pure.
 */
import { decodeHeaderValue, type ParamHeader } from "../protocol/mcp-headers";

/** The body field `Mcp-Name` mirrors, for the methods that have one. */
export function nameSource(method: string, params: Record<string, unknown>): string | undefined {
  const value =
    method === "resources/read"
      ? params.uri
      : method === "tools/call" || method === "prompts/get"
        ? params.name
        : // The tasks extension's routing header ("Streamable HTTP: Routing Headers").
          method === "tasks/get" || method === "tasks/update" || method === "tasks/cancel"
          ? params.taskId
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

/** The text an argument's header must carry once decoded: strings as they are, safe integers, booleans. */
function plainForm(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return null;
}

/**
 * Problems with `Mcp-Param-*` headers of a `tools/call`: every declared
 * argument that is present and not null must be mirrored exactly (integers
 * compared as numbers).
 */
export function paramHeaderProblem(
  declared: readonly ParamHeader[],
  args: Record<string, unknown>,
  header: (name: string) => string | null,
): string | null {
  for (const { path, name } of declared) {
    let value: unknown = args;
    for (const key of path)
      value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    if (value === undefined || value === null) continue;
    const raw = header(`mcp-param-${name.toLowerCase()}`);
    if (raw === null) return `Header mismatch: Mcp-Param-${name} is required`;
    const decoded = decodeHeaderValue(raw);
    if (decoded === null) return `Header mismatch: Mcp-Param-${name} is not valid =?base64?…?= encoding`;
    const matches =
      typeof value === "number" ? decoded.trim() !== "" && Number(decoded) === value : decoded === plainForm(value);
    if (!matches) return `Header mismatch: Mcp-Param-${name} does not match the argument`;
  }
  return null;
}
