/**
 * One stub helper per Durable Object namespace: how any code reaches the
 * object that owns a backend, a client session or a rate-limit key. Names are
 * the ids everywhere (a backend's name, a session's random key, a rate-limit
 * key), so every isolate reaches the same object without shared state.
 * A legacy HTTP+SSE client session's key names both its LegacyClientDO (the
 * stream) and its SessionDO (its upstream sessions).
 */
import type { Bindings } from "./env";
import { LruMap } from "./util/lru";

/** The BackendDO of a backend: breaker, health alarm, catalogs, legacy-SSE connections. */
export function backendObject(env: Pick<Bindings, "BACKEND">, backend: string) {
  return env.BACKEND.get(env.BACKEND.idFromName(backend));
}

/**
 * Session object ids by session key. Every request of a 2025 session asks its
 * SessionDO whether the session ended (`edge/sessions.ts`), and `idFromName`
 * hashes the name each time; an id is a plain value (no I/O), so the isolate
 * keeps the recent ones (issue 15). Bounded like the session cache.
 */
const sessionIds = new LruMap<string, DurableObjectId>(10_000);

/** The SessionDO of a 2025-era client session: its upstream sessions and whether it ended. */
export function sessionObject(env: Pick<Bindings, "SESSION">, sid: string) {
  let id = sessionIds.get(sid);
  if (!id) {
    id = env.SESSION.idFromName(sid);
    sessionIds.set(sid, id);
  }
  return env.SESSION.get(id);
}

/** The RateLimiterDO of one rate-limit key. */
export function rateLimiterObject(env: { RATE_LIMITER: Bindings["RATE_LIMITER"] }, key: string) {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
}

/** A ShardDO by name (`src/util/shard-policy.ts`): a bucket's breaker or config shard. */
export function shardObject(env: Pick<Bindings, "SHARD">, name: string) {
  return env.SHARD.get(env.SHARD.idFromName(name));
}

/** The LegacyClientDO of a legacy HTTP+SSE client session: its open stream. */
export function legacyClientObject(env: Pick<Bindings, "LEGACY_CLIENT">, sid: string) {
  return env.LEGACY_CLIENT.get(env.LEGACY_CLIENT.idFromName(sid));
}

/**
 * The UpstreamTokenDO holding a user's upstream OAuth tokens (named by the
 * principal's subject), or a backend's own object (`client:<backend>`; a
 * subject never starts with `client:`): a client-credentials backend's
 * shared token, and the single-flight of its dynamic client registration.
 */
export function upstreamTokenObject(env: Pick<Bindings, "UPSTREAM_TOKENS">, owner: string) {
  return env.UPSTREAM_TOKENS.get(env.UPSTREAM_TOKENS.idFromName(owner));
}
