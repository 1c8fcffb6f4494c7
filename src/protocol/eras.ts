/**
 * The two protocol eras a backend can speak (pure): 2025 ("legacy":
 * `initialize`, sessions) and 2026-07-28 ("modern": no sessions, a `_meta`
 * envelope on every request, `server/discover`). What the gateway sends a
 * modern backend and how it reads a modern backend's answers: the envelope
 * (MCP 2026-07-28 basic/index, "_meta"), the new error codes
 * (basic/transports, "Errors"), the era verdict of a `server/discover` probe
 * (basic/versioning, "Backward compatibility"), and the 2025 projection of a
 * modern result.
 */
import { META } from "./meta";
import { MODERN_PROTOCOL_VERSION, SERVER_INFO } from "./versions";

/** A backend's era: `modern` speaks 2026-07-28 statelessly, `legacy` needs `initialize`. */
export type Era = "modern" | "legacy";

/** Every key under this prefix is reserved for the protocol: a client never sets them for the gateway. */
const RESERVED_META_PREFIX = "io.modelcontextprotocol/";

/** Error codes of the 2026 revision (basic/index, "Error codes"). */
export const ModernError = {
  HeaderMismatch: -32020,
  MissingClientCapability: -32021,
  UnsupportedVersion: -32022,
} as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The 2026 client capabilities declared for a 2025 client: its sampling,
 * elicitation and roots, and `experimental`. The 2025 `tasks` capability is
 * dropped (2026 moved tasks to an extension the gateway does not bridge, so it
 * is never declared; brief §13), and so is `roots.listChanged` (gone in 2026).
 */
export function modernClientCapabilities(capabilities: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["sampling", "elicitation", "experimental"] as const) {
    if (isRecord(capabilities[key])) out[key] = capabilities[key];
  }
  if (capabilities.roots !== undefined) out.roots = {};
  return out;
}

/**
 * Params with the 2026 envelope: the caller's own `_meta` keys (progress
 * token, trace context) kept, every reserved key replaced by the gateway's
 * (a client cannot forge the capabilities the gateway declares for it).
 */
export function withEnvelope(
  params: Record<string, unknown> | undefined,
  capabilities: Record<string, unknown>,
): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const given = params?._meta;
  if (isRecord(given)) {
    for (const [key, value] of Object.entries(given)) if (!key.startsWith(RESERVED_META_PREFIX)) meta[key] = value;
  }
  meta[META.protocolVersion] = MODERN_PROTOCOL_VERSION;
  meta[META.clientCapabilities] = capabilities;
  meta[META.clientInfo] = { name: SERVER_INFO.name, version: SERVER_INFO.version };
  return { ...params, _meta: meta };
}

/** A JSON-RPC error object as a backend sent it. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/** The versions a -32022 error says the backend supports, or null when it names none. */
export function supportedVersions(error: WireError): string[] | null {
  const supported = isRecord(error.data) ? error.data.supported : undefined;
  if (!Array.isArray(supported)) return null;
  return supported.filter((v): v is string => typeof v === "string");
}

/**
 * An error that says the request was sent in the wrong era: -32022
 * (unsupported version), or -32020 about the `MCP-Protocol-Version` header.
 * Such an error means the backend's era changed: re-detect it.
 */
export function isVersionError(error: WireError): boolean {
  if (error.code === ModernError.UnsupportedVersion) return true;
  if (error.code !== ModernError.HeaderMismatch) return false;
  const mismatch = isRecord(error.data) && isRecord(error.data.mismatch) ? error.data.mismatch.header : undefined;
  const about = typeof mismatch === "string" ? mismatch : error.message;
  return /protocol-version/i.test(about);
}

/** What a `server/discover` probe found. */
export type ProbeVerdict =
  | { era: "modern"; discover: Record<string, unknown> }
  | { era: "legacy" }
  /** A -32022 naming 2026-07-28 as supported although it was asked for: probe once more. */
  | { era: "retry" };

/**
 * Classifies a probe's answer (MCP 2026-07-28 basic/versioning; the SDK's
 * probe classifier): a DiscoverResult sharing 2026-07-28 is modern; a
 * -32022 whose `supported` list lacks it, any other JSON-RPC error (-32601,
 * -32000, -32020, -32021…), or a 4xx body that is not JSON-RPC is legacy.
 * HTTP 401/403/5xx and network failures are not era evidence: the caller
 * treats them as failures before asking.
 */
export function classifyProbe(reply: { result: Record<string, unknown> } | { error: WireError } | null): ProbeVerdict {
  if (reply === null) return { era: "legacy" };
  if ("error" in reply) {
    if (reply.error.code !== ModernError.UnsupportedVersion) return { era: "legacy" };
    return supportedVersions(reply.error)?.includes(MODERN_PROTOCOL_VERSION) ? { era: "retry" } : { era: "legacy" };
  }
  const versions = reply.result.supportedVersions;
  if (Array.isArray(versions) && versions.includes(MODERN_PROTOCOL_VERSION) && isRecord(reply.result.capabilities)) {
    return { era: "modern", discover: reply.result };
  }
  return { era: "legacy" };
}

/** The cache hints of a modern list or discover result (caching.mdx: missing or negative ttl counts as 0). */
export function cacheHints(result: Record<string, unknown>): { ttlMs: number; cacheScope: "public" | "private" } {
  const ttl = result.ttlMs;
  const ttlMs = typeof ttl === "number" && Number.isFinite(ttl) && ttl > 0 ? Math.floor(ttl) : 0;
  return { ttlMs, cacheScope: result.cacheScope === "public" ? "public" : "private" };
}

/**
 * A modern result as a 2025 client sees it (brief §13): `resultType`,
 * `ttlMs` and `cacheScope` and the backend's reserved `_meta` keys (its
 * `serverInfo`) are removed, because to a 2025 client the gateway is the
 * server and makes no caching promise for a backend; `structuredContent`
 * that is not an object is wrapped as `{result: value}` (2025 requires an
 * object, as the SDK's own 2025 projection does).
 */
export function legacyResult(result: Record<string, unknown>): Record<string, unknown> {
  const { resultType: _type, ttlMs: _ttl, cacheScope: _scope, ...rest } = result;
  if (isRecord(rest._meta)) {
    const meta = Object.fromEntries(Object.entries(rest._meta).filter(([k]) => !k.startsWith(RESERVED_META_PREFIX)));
    if (Object.keys(meta).length > 0) rest._meta = meta;
    else delete rest._meta;
  }
  if ("structuredContent" in rest && !isRecord(rest.structuredContent)) {
    rest.structuredContent = { result: rest.structuredContent };
  }
  return rest;
}
