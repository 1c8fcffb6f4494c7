/**
 * Retries with capped exponential backoff and full jitter (design rule 5).
 * Only for idempotent work (a `ping`, a listing): callers decide which errors
 * are worth another attempt.
 */
import { sleep as defaultSleep } from "../util/time";

export interface RetryOptions {
  /** Total attempts, including the first (≥ 1). */
  attempts: number;
  /** Backoff before the second attempt, before jitter. */
  baseMs: number;
  /** No single backoff exceeds this. */
  capMs: number;
  retryable: (err: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Full jitter: a random delay in [0, min(cap, base·2^retry)). `retry` counts from 0. */
export function backoffDelay(retry: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * ceiling);
}

/** Runs `work` until it succeeds, fails with a non-retryable error, or the attempts are used up. */
export async function withRetry<T>(work: () => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  const attempts = Math.max(1, Math.min(options.attempts, 10));
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts || !options.retryable(err)) throw err;
      await sleep(backoffDelay(attempt - 1, options.baseMs, options.capMs, options.random));
    }
  }
}
