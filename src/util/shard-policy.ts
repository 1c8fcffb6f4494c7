/**
 * Coordination shards (pure: constants and rules, no I/O). Used by the
 * isolate side (`breaker-client.ts`, the config source), by `ShardDO` and by
 * the scale simulation (`sim/`), so the simulation runs these numbers.
 *
 * Why shards (docs/design.md, "How coordination scales"): an isolate that
 * asked each backend's Durable Object and D1 itself put a load on them that
 * grew with the number of isolates, and a popular deployment runs on
 * thousands. Instead each isolate belongs to one of `SHARD_COUNT` buckets,
 * chosen by a hash of the isolate's random id (so isolates spread evenly),
 * and talks to its bucket's `ShardDO`s only: one per backend for the breaker
 * (`breakerShardName`), one for the config version (`configShardName`). Only
 * shards talk to the backends' objects and to D1, each at most once per
 * `SHARD_MAX_AGE_MS` for reads. The load on a backend's object and on D1 then
 * grows with the number of buckets (fixed), not of isolates, and a shard
 * carries `1 / SHARD_COUNT` of the isolates.
 */

/** Buckets a deployment's isolates are spread over. */
export const SHARD_COUNT = 64;

/** An isolate trusts a backend's breaker state this long while it is calm (±TTL_JITTER) ... */
export const CALM_STATE_TTL_MS = 2_000;
/** ... and this long while it is unsettled: not closed here or globally, or counting failures. */
export const UNSETTLED_STATE_TTL_MS = 1_000;
/**
 * A call that finds its backend's state older than this waits (at most the
 * cold wait, 300 ms) for a fresh read instead of going out on it: a backend
 * this isolate calls rarely would otherwise be called on a state learned at
 * its previous call, however long ago, and keep reaching a backend that died
 * meanwhile. A backend called within this never waits.
 */
export const STATE_MAX_STALE_MS = 5_000;
/** State TTLs are spread by ±this fraction, so isolates that learned together do not ask together. */
export const TTL_JITTER = 0.2;
/** Outcomes that cannot trip the breaker are sent at most this often per backend and isolate. */
export const FLUSH_INTERVAL_MS = 1_000;
/** A batch that may trip the breaker is sent within this (jittered: isolates that fail together spread out). */
export const URGENT_FLUSH_MS = 250;

/** A shard re-reads a backend's breaker (and D1's config version) when its copy is older than this. */
export const SHARD_MAX_AGE_MS = 1_000;
/** A shard forwards its isolates' batches that cannot trip the breaker at most this often. */
export const SHARD_FORWARD_MS = 1_000;
/** Isolates count as present in a shard for this long after they last asked it (for the size estimate). */
export const SHARD_PRESENCE_MS = 10_000;
/** At most this many isolate ids are remembered per shard (presence is an estimate, bounded). */
export const SHARD_PRESENCE_MAX = 4_096;

/** FNV-1a, 32 bits: a stable, well-spread hash of an id (no cryptographic property needed). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The bucket an isolate belongs to. */
export function shardIndex(isolateId: string, count = SHARD_COUNT): number {
  return fnv1a(isolateId) % count;
}

/** The ShardDO name that aggregates a bucket's breaker traffic for one backend. */
export function breakerShardName(backend: string, index: number): string {
  return `breaker:${backend}:${index}`;
}

/** The ShardDO name that serves a bucket's config version and snapshot. */
export function configShardName(index: number): string {
  return `config:${index}`;
}

/**
 * The ShardDO that loads config snapshots from D1 for all config shards: a
 * changed version costs D1 one load, not one per shard (64 five-statement
 * loads in the same second would be most of D1's budget).
 */
export const CONFIG_ROOT_NAME = "config:root";

/** How long an isolate trusts a breaker state it learned (jittered). */
export function stateTtlMs(unsettled: boolean, random: () => number = Math.random): number {
  const base = unsettled ? UNSETTLED_STATE_TTL_MS : CALM_STATE_TTL_MS;
  return Math.round(base * (1 - TTL_JITTER + 2 * TTL_JITTER * random()));
}

/** The delay before a batch is sent: within URGENT_FLUSH_MS when it may trip, else after the flush interval. */
export function flushDelayMs(urgent: boolean, sinceLastFlushMs: number, random: () => number = Math.random): number {
  if (urgent) return Math.round(random() * URGENT_FLUSH_MS);
  return Math.max(0, FLUSH_INTERVAL_MS - sinceLastFlushMs);
}

/** Below this many isolates present in a shard, its count is too small to scale up by SHARD_COUNT. */
export const MIN_ISOLATES_TO_SCALE = 4;

/**
 * The deployment's isolate count as a shard sees it: the isolates present in
 * it times the number of buckets (isolates hash evenly over them). With fewer
 * than MIN_ISOLATES_TO_SCALE present the deployment is taken to be that
 * small: a lone isolate must not believe it is one of 64, or it would sample
 * its spans away. Used to size span batching and sampling, so the queue's load
 * stays bounded per deployment.
 */
export function estimateIsolates(presentInShard: number, count = SHARD_COUNT): number {
  const present = Math.max(1, presentInShard);
  return present < MIN_ISOLATES_TO_SCALE ? present : present * count;
}
