/**
 * Typed bindings and per-request variables of the Worker.
 */

import type { BackendDO } from "../durable-objects/backend-do";
import type { LegacyClientDO } from "../durable-objects/legacy-client-do";
import type { RateLimiterDO } from "../durable-objects/rate-limiter-do";
import type { SessionDO } from "../durable-objects/session-do";
import type { ShardDO } from "../durable-objects/shard-do";
import type { UpstreamTokenDO } from "../durable-objects/upstream-token-do";
import type { Principal } from "./auth/principal";
import type { ConfigSnapshot } from "./config/snapshot";

/** Bindings declared in `wrangler.toml` plus secrets from `.dev.vars` / `wrangler secret put`. */
export interface Bindings {
  DB: D1Database;
  BACKEND: DurableObjectNamespace<BackendDO>;
  SESSION: DurableObjectNamespace<SessionDO>;
  /** One RateLimiterDO per rate-limit key (the rate_limit plugin). */
  RATE_LIMITER: DurableObjectNamespace<RateLimiterDO>;
  /** Coordination shards between buckets of isolates and the BackendDOs / D1 (docs/design.md, scaling). */
  SHARD: DurableObjectNamespace<ShardDO>;
  /** One LegacyClientDO per legacy HTTP+SSE client session (its open stream). */
  LEGACY_CLIENT: DurableObjectNamespace<LegacyClientDO>;
  /** One UpstreamTokenDO per gateway user (their upstream OAuth tokens), and one per client-credentials backend. */
  UPSTREAM_TOKENS: DurableObjectNamespace<UpstreamTokenDO>;
  /** "false" turns the plugin chain off entirely (default on). */
  PLUGINS_ENABLED?: string;
  /** Comma-separated extra origins allowed to call the MCP endpoints from browsers. */
  ALLOWED_ORIGINS?: string;
  /** Comma-separated host names the MCP endpoints answer for (DNS-rebinding protection); empty = any. */
  ALLOWED_HOSTS?: string;
  SPANS: Queue<unknown>;
  /** Admin secret; compared in constant time. */
  ADMIN_TOKEN?: string;
  /** Current key for secrets at rest and session ids; falls back to ADMIN_TOKEN (see `auth/keys.ts`). */
  ENCRYPTION_KEY?: string;
  /** Retired keys, comma-separated, still accepted for opening during a rotation. */
  ENCRYPTION_KEY_PREVIOUS?: string;
  /** "true" allows backends on loopback, private, link-local and metadata addresses. */
  ALLOW_PRIVATE_BACKENDS?: string;
  /** OTLP/HTTP JSON traces endpoint (e.g. https://collector/v1/traces); spans are also exported there when set. */
  OTLP_ENDPOINT?: string;
  /** Headers for the OTLP endpoint, "k=v,k2=v2" (a secret: may carry an API key). */
  OTLP_HEADERS?: string;
  /** Days spans and per-minute rollups are kept (default 7); the daily cron deletes older rows. */
  SPAN_RETENTION_DAYS?: string;
  /**
   * How long a legacy HTTP+SSE client's request may run after its POST was
   * answered, in ms (default 25000: Cloudflare ends `waitUntil` work 30 s
   * after the response; 1000 to 600000).
   */
  LEGACY_SSE_DEADLINE_MS?: string;
  /** DNS-over-HTTPS JSON endpoint used to resolve backend hostnames before saving them. */
  DNS_RESOLVER_URL?: string;
  /** Canonical public origin (e.g. https://mcp.example.com): the base of RFC 8707 resource identifiers. */
  PUBLIC_URL?: string;
  /** JSON array of trusted OAuth issuers whose JWT access tokens are accepted (`auth/oauth/issuers.ts`). */
  OAUTH_ISSUERS?: string;
  /** Storage of the built-in authorization server (clients, grants, tokens). */
  OAUTH_KV?: KVNamespace;
  /** The upstream OpenID Connect provider users sign in with (turns the built-in authorization server on). */
  OAUTH_LOGIN_ISSUER?: string;
  /** The gateway's client id at that provider. */
  OAUTH_LOGIN_CLIENT_ID?: string;
  /** Its client secret (a secret). */
  OAUTH_LOGIN_CLIENT_SECRET?: string;
  /** JSON: how the provider's claims map to teams (`usernameClaim`, `teamsClaim`, `teams`). */
  OAUTH_LOGIN_MAPPING?: string;
  /** Days audit records are kept (default: the span retention, SPAN_RETENTION_DAYS). */
  AUDIT_RETENTION_DAYS?: string;
  /**
   * Benchmark only, never in a deployment: `"unsafe-bench-only"` skips the
   * per-request session liveness check, so a DELETEd session keeps working.
   * `npm run bench` sets it on one extra gateway to measure what the check
   * costs (README, Benchmark).
   */
  BENCH_SKIP_SESSION_LIVENESS?: string;
}

/** Values middleware puts on the Hono context. */
export interface Variables {
  principal: Principal;
  config: ConfigSnapshot;
}

/** The Hono environment shared by every route. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
