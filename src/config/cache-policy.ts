/**
 * The isolate config cache's decision rule (pure: no I/O, no clock). Used by
 * `ConfigCache` and by the scale simulation (`sim/`), so the simulation runs
 * the rule the isolates run rather than a description of it.
 *
 * Given how long ago the isolate's snapshot was last confirmed current, a
 * request either serves it, serves it and starts one background check, or
 * waits for a check (bounded by `checkTimeoutMs`). After a failed check the
 * next background check waits `retryMs`, so a failing or overloaded store is
 * not asked again by every request (at one check per request, a store that
 * rejects under load would be asked harder the more it rejects).
 */

/** When an isolate checks its snapshot. */
export interface CachePolicy {
  /** Younger than this: served, no check. */
  freshMs: number;
  /** Younger than this: served at once, one background check. Older: the request waits for a check. */
  maxStaleMs: number;
  /** The longest a request waits for its check before serving the last snapshot. */
  checkTimeoutMs: number;
  /** After a failed check, the next background check starts no sooner than this. */
  retryMs: number;
}

/**
 * The defaults: an isolate confirms its snapshot at most once a second and
 * never serves one confirmed more than 2 s ago (README, "Config propagation").
 * A failed background check is retried by the next request.
 */
export const DEFAULT_CACHE_POLICY: CachePolicy = {
  freshMs: 1_000,
  maxStaleMs: 2_000,
  checkTimeoutMs: 2_000,
  retryMs: 0,
};

/** What one request does with the snapshot. */
export type CacheStep = "serve" | "serve-and-check" | "wait";

/** The isolate's cache state as the rule needs it. Times are epoch (or simulated) milliseconds. */
export interface CacheState {
  /** When the current snapshot was last confirmed current (−Infinity: never). */
  checkedAt: number;
  /** Whether a snapshot is held at all. */
  hasSnapshot: boolean;
  /** Whether a check is already running (checks are single-flight). */
  checking: boolean;
  /** When the last check failed (−Infinity: none did). */
  failedAt: number;
}

/** Decides what a request at `now` does; see the module comment. */
export function cacheStep(state: CacheState, now: number, policy: CachePolicy): CacheStep {
  if (!state.hasSnapshot) return "wait";
  const age = now - state.checkedAt;
  if (age < policy.freshMs) return "serve";
  if (age < policy.maxStaleMs) {
    const backingOff = now - state.failedAt < policy.retryMs;
    return state.checking || backingOff ? "serve" : "serve-and-check";
  }
  return "wait";
}

/**
 * After a request waited `checkTimeoutMs` in vain (the store is failing or
 * slow), the snapshot counts as checked `freshMs` ago: the next requests serve
 * it without waiting and check in the background.
 */
export function checkedAtAfterTimeout(checkedAt: number, now: number, policy: CachePolicy): number {
  return Math.max(checkedAt, now - policy.freshMs);
}
