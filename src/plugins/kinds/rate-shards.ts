/**
 * Sharded counters for hot `rate_limit` keys (pure). Used by the plugin and
 * by the scale simulation (`sim/`).
 *
 * One key is one RateLimiterDO, and a Durable Object serves about 1,000
 * requests a second (https://developers.cloudflare.com/durable-objects/platform/limits/):
 * a key called 50,000 times a second needs its count split. With `shards: k`
 * the key's window budget is split into k sub-counters (their budgets add up
 * to exactly `limit`) and each call counts against a random one, so each
 * object sees 1/k of the key's calls wherever they run. A call refused by its
 * sub-counter tries one other (the budget left elsewhere is used before the
 * key is refused). The cost in accuracy: never more than `limit` calls pass
 * per window, but calls may be refused while other sub-counters still have
 * room, once two random picks in a row land on full ones; with k sub-counters
 * of b calls each that starts when about `1 - 2/sqrt(b)` of the budget is used
 * (binomial spread of random picks), e.g. 90% of it for b = 400.
 */

/** The most sub-counters a key may have. */
export const MAX_RATE_SHARDS = 256;

/** The budget of sub-counter `index` of `shards`: `limit` split as evenly as whole calls allow. */
export function shardBudget(limit: number, shards: number, index: number): number {
  const base = Math.floor(limit / shards);
  return base + (index < limit % shards ? 1 : 0);
}

/** Two distinct sub-counters for a call: the first to count against, the second when the first is full. */
export function pickShards(shards: number, random: () => number = Math.random): [number, number] {
  if (shards <= 1) return [0, 0];
  const first = Math.floor(random() * shards) % shards;
  const offset = 1 + (Math.floor(random() * (shards - 1)) % (shards - 1));
  return [first, (first + offset) % shards];
}

/** The RateLimiterDO name of a sub-counter (the unsharded key keeps its name). */
export function shardKey(key: string, shards: number, index: number): string {
  return shards <= 1 ? key : `${key}#${index}/${shards}`;
}
