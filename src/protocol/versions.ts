/**
 * Protocol constants the gateway negotiates and validates.
 */

/** The revision the gateway implements and asks backends for. */
export const LATEST_PROTOCOL_VERSION = "2025-11-25";

/** Revisions accepted from clients (MCP basic/lifecycle, version negotiation). */
export const SUPPORTED_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;

/**
 * The stateless revision (per-request `_meta`, no sessions). Revisions are
 * dates, so a version is "modern" when it sorts at or after this one (the
 * SDK's rule too: an unknown later version is modern, and refused with
 * -32022 rather than mistaken for a 2025 client).
 */
export const MODERN_PROTOCOL_VERSION = "2026-07-28";

/** Modern revisions the gateway serves (`server/discover` and -32022 list exactly these). */
export const MODERN_PROTOCOL_VERSIONS = [MODERN_PROTOCOL_VERSION] as const;

/** True for a revision of the stateless era (2026-07-28 and later). */
export function isModernVersion(version: string | undefined): boolean {
  return typeof version === "string" && version >= MODERN_PROTOCOL_VERSION;
}

/** Assumed when a request has no MCP-Protocol-Version header (basic/transports, 2025-06-18+). */
export const DEFAULT_PROTOCOL_VERSION = "2025-03-26";

/** Only 2025-03-26 allows JSON-RPC batches; 2025-06-18 removed them. */
export function allowsBatches(version: string): boolean {
  return version === "2025-03-26";
}

/** The gateway's own server info. */
export const SERVER_INFO = { name: "mcp-edge-gateway", version: "0.1.0" } as const;

/** Largest accepted MCP request body. */
export const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;

/** Largest accepted JSON-RPC batch. */
export const MAX_BATCH = 32;
