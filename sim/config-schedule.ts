/**
 * The config cache's check loop as both simulated designs run it: a fresh
 * state per isolate, and the request that will find the snapshot due for a
 * check (src/config/cache-policy.ts decides serve / check / wait). The designs
 * differ only in what one check costs, so they pass that in as `check`.
 */
import { type CachePolicy, type CacheState, cacheStep } from "../src/config/cache-policy.ts";
import type { Isolate, World } from "./world.ts";

/** A cache that has never checked (the first request waits for the load). */
export function freshCacheState(): CacheState {
  return {
    checkedAt: Number.NEGATIVE_INFINITY,
    hasSnapshot: false,
    checking: false,
    failedAt: Number.NEGATIVE_INFINITY,
  };
}

/**
 * Schedules the next check at the first request that finds the snapshot due;
 * a request that may still be served from the cache re-schedules instead.
 */
export function scheduleConfigCheck<S extends CacheState>(
  world: World,
  iso: Isolate,
  state: S,
  policy: CachePolicy,
  check: (iso: Isolate, state: S, waiting: boolean) => void,
): void {
  const due = Math.max(state.checkedAt + policy.freshMs, state.failedAt + policy.retryMs);
  world.engine.at(world.nextRequest(iso, Math.max(due, world.engine.now + 0.001)), () => {
    if (!iso.alive || state.checking) return;
    const step = cacheStep(state, world.engine.now, policy);
    if (step === "serve") scheduleConfigCheck(world, iso, state, policy, check);
    else check(iso, state, step === "wait");
  });
}
