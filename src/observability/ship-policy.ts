/**
 * How much an isolate ships and how often (pure). Used by the shipper and by
 * the scale simulation (`sim/`).
 *
 * A queue takes 5,000 messages a second
 * (https://developers.cloudflare.com/queues/platform/limits/), and each
 * stored span is a D1 row. Per isolate, a message every 100 ms and every span
 * would be fine on a few isolates and far beyond both on thousands. So the
 * isolate sizes both from the deployment's isolate count, which its
 * coordination shard estimates (`estimateIsolates` in
 * `src/util/shard-policy.ts`):
 * - linger: an isolate sends one message per `lingerMs`, so the deployment
 *   sends about `DEPLOYMENT_MESSAGES_PER_SECOND`, whatever its size;
 * - head sampling: a trace's spans are stored with `keepProbability`, so the
 *   deployment stores about `STORED_TRACES_PER_SECOND` traces; the rollups
 *   (metrics) still count every span, shipped as per-isolate counts.
 */

/** Queue messages a second the deployment aims at: 40% of the queue's limit. */
export const DEPLOYMENT_MESSAGES_PER_SECOND = 2_000;
/** Traces a second the deployment stores spans of (beyond: sampled; rollups count all). */
export const STORED_TRACES_PER_SECOND = 1_000;
/** The shortest linger (a small deployment ships within 100 ms, as before). */
export const MIN_LINGER_MS = 100;
/** The longest linger (metrics lag at most this, plus the consumer's batching). */
export const MAX_LINGER_MS = 5_000;

/** How long an isolate collects before it sends, in a deployment of `isolates`. */
export function lingerMs(isolates: number): number {
  return Math.min(MAX_LINGER_MS, Math.max(MIN_LINGER_MS, (1000 * isolates) / DEPLOYMENT_MESSAGES_PER_SECOND));
}

/** The share of its traces an isolate serving `tracesPerSecond` stores, in a deployment of `isolates`. */
export function keepProbability(isolates: number, tracesPerSecond: number): number {
  const deployment = Math.max(1, isolates) * Math.max(0, tracesPerSecond);
  return deployment <= STORED_TRACES_PER_SECOND ? 1 : STORED_TRACES_PER_SECOND / deployment;
}

/**
 * Whether a trace is kept: decided by its id, so every span of a trace (also
 * one shipped later, when its stream ends) gets the same answer at the same
 * probability.
 */
export function keepTrace(traceId: string, probability: number): boolean {
  if (probability >= 1) return true;
  const head = Number.parseInt(traceId.slice(0, 8), 16);
  return Number.isFinite(head) && head / 0x1_0000_0000 < probability;
}
