/**
 * The immutable, in-memory view of the configuration that the request path reads.
 * Built once per config version; lookups are Map gets, never database queries.
 */
import type { Scope } from "../auth/principal";

/** A backend as the request path needs it (headers decrypted). */
export interface BackendConfig {
  name: string;
  url: string;
  transport: "streamable-http" | "sse";
  headers: Readonly<Record<string, string>>;
  /**
   * True when the stored headers could not be decrypted with any configured
   * key (`headers` is then empty): calls to this backend fail with a
   * JSON-RPC error asking for them to be re-entered; nothing else is affected.
   */
  headersUnreadable?: boolean;
  timeoutMs: number;
  healthIntervalSeconds: number;
  /** Circuit breaker: consecutive failures that open it. */
  failureThreshold: number;
  /** Circuit breaker: seconds it stays open before one trial call. */
  cooldownSeconds: number;
  enabled: boolean;
}

/** A virtual server. */
export interface ServerConfig {
  name: string;
  backends: readonly string[] | null;
  tools: readonly string[] | null;
  prefix: boolean;
  auth: "token" | "none";
  /** `list` (every tool), `search` (meta-tools over the catalog) or `code` (not served yet). */
  discovery: "list" | "search" | "code";
}

/** An API token, found by the SHA-256 of its secret. */
export interface TokenConfig {
  id: string;
  name: string;
  scopes: readonly Scope[];
  servers: readonly string[] | null;
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt: number | null;
}

/** A plugin instance as stored. */
export interface PluginConfig {
  name: string;
  kind: string;
  mode: "enforce" | "permissive" | "disabled";
  priority: number;
  hooks: readonly string[];
  conditions: readonly unknown[] | null;
  config: Readonly<Record<string, unknown>>;
}

/** Everything the request path reads, stamped with the config version it came from. */
export interface ConfigSnapshot {
  version: number;
  backends: ReadonlyMap<string, BackendConfig>;
  servers: ReadonlyMap<string, ServerConfig>;
  tokensByHash: ReadonlyMap<string, TokenConfig>;
  plugins: readonly PluginConfig[];
}
