/**
 * The immutable, in-memory view of the configuration that the request path reads.
 * Built once per config version; lookups are Map gets, never database queries.
 */
import type { Scope, TeamRole } from "../auth/principal";
import type { OpenApiRuntime } from "./openapi-types";
import type { Role, Visibility } from "./schema";

/**
 * Who owns an object and who may see it (`auth/access.ts`). Absent fields
 * mean a platform-owned, public object (what every row from before teams is).
 */
export interface Owned {
  team?: string | null;
  owner?: string | null;
  visibility?: Visibility;
}

/** A backend as the request path needs it (headers decrypted). */
export interface BackendConfig extends Owned {
  name: string;
  url: string;
  transport: "streamable-http" | "sse" | "openapi";
  headers: Readonly<Record<string, string>>;
  /** `openapi` backends: the derived operations and the health path (`url` is the REST API's base URL). */
  openapi?: OpenApiRuntime;
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
  /** How the gateway authenticates to this backend as each caller (README, "Upstream OAuth"); absent: headers only. */
  auth?: UpstreamOAuth;
}

/**
 * A backend's OAuth client settings (MCP 2025-11-25 basic/authorization; the
 * gateway is the OAuth client, one distinct client per backend).
 * `authorization_code`: one token per (user, backend), obtained by the user
 * through the gateway's consent page. `client_credentials`: one token for the
 * backend, shared by design. `token_exchange`: the caller's own gateway
 * token exchanged (RFC 8693) at the backend's server for a token per user.
 */
export interface UpstreamOAuth {
  type: "oauth";
  grant: "authorization_code" | "client_credentials" | "token_exchange";
  /** The authorization server's issuer; null: discovered from the backend's RFC 9728 metadata. */
  issuer: string | null;
  /** `dynamic`: the gateway registers its client itself (RFC 7591; `core/upstream-client.ts`). */
  registration: "static" | "dynamic";
  /** "" while a dynamic client is not registered yet (then the isolate asks the registration object). */
  clientId: string;
  /** The opened client secret (null: a public client, PKCE only). */
  clientSecret: string | null;
  /** True when the stored client secret no configured key opens (calls then fail for this backend only). */
  clientSecretUnreadable?: boolean;
  scopes: readonly string[];
  /** The RFC 8707 resource every token is requested for and bound to (default: the backend URL). */
  resource: string;
}

/**
 * A per-server override of one tool (README, "Tool overrides"): `tool` is the
 * public name the server gives it without overrides (`github__search`, or
 * `search` on a `prefix: false` server).
 */
export interface ToolOverride {
  tool: string;
  /** The public name instead of `tool` (then `tool` is no longer listed or callable). */
  alias?: string;
  title?: string;
  description?: string;
  /** Merged over the backend's annotations (`readOnlyHint`, ...). */
  annotations?: Readonly<Record<string, unknown>>;
  /** Sent on every call; the client may not set them (a call that does is refused). */
  fixedArguments?: Readonly<Record<string, unknown>>;
  /** Sent when the client omits them. */
  defaultArguments?: Readonly<Record<string, unknown>>;
}

/** A virtual server. */
export interface ServerConfig extends Owned {
  name: string;
  backends: readonly string[] | null;
  tools: readonly string[] | null;
  prefix: boolean;
  auth: "token" | "none";
  /** `list` (every tool), `search` (meta-tools over the catalog) or `code` (not served yet). */
  discovery: "list" | "search" | "code";
  /** Per-tool overrides (empty: none). */
  toolOverrides: readonly ToolOverride[];
}

/** An API token, found by the SHA-256 of its secret. */
export interface TokenConfig {
  id: string;
  name: string;
  scopes: readonly Scope[];
  servers: readonly string[] | null;
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt: number | null;
  /** The team the token acts for (null: none). */
  team?: string | null;
  /** Its role there, or `platform_admin`; null = the default for its scopes. */
  role?: Role | null;
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
  /** Owning team: the plugin applies only to calls to that team's backends. */
  team?: string | null;
}

/** Everything the request path reads, stamped with the config version it came from. */
export interface ConfigSnapshot {
  version: number;
  backends: ReadonlyMap<string, BackendConfig>;
  servers: ReadonlyMap<string, ServerConfig>;
  tokensByHash: ReadonlyMap<string, TokenConfig>;
  plugins: readonly PluginConfig[];
  /** Team names. */
  teams?: ReadonlySet<string>;
  /** Explicit memberships: subject → team → role. */
  members?: ReadonlyMap<string, ReadonlyMap<string, TeamRole>>;
}
