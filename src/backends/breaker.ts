/**
 * Circuit breaker transitions (pure: no I/O, the clock is a parameter).
 *
 *   closed ──(failureThreshold consecutive failures)──▶ open
 *   open ──(cooldown elapsed)──▶ half-open: one trial call (or a health probe) decides
 *   half-open ──success──▶ closed        half-open ──failure──▶ open (new cooldown)
 *
 * A stored `open` whose cooldown has elapsed is reported as `half-open`
 * (`effectiveState`); it becomes a stored `half-open` when a trial is granted.
 * A granted trial is a lease (`trialUntil`): if its caller never reports (the
 * isolate died), another trial is granted once the lease ends.
 *
 * What counts as a failure is decided by the caller (`breaker-client.ts`):
 * network errors, timeouts, HTTP 5xx and malformed replies. A tool's own
 * `isError` result and a JSON-RPC error reply are answers, not failures.
 *
 * The Durable Object of each backend is the one place these transitions run;
 * isolates only cache the result (see `breaker-client.ts`).
 */

export type BreakerState = "closed" | "open" | "half-open";

/** Per-backend settings (from the backend's config). */
export interface BreakerSettings {
  failureThreshold: number;
  cooldownMs: number;
}

/** The stored breaker. Times are epoch milliseconds. */
export interface Breaker {
  state: BreakerState;
  consecutiveFailures: number;
  /** When it last opened. */
  openedAt: number | null;
  /** While open: when a trial may run. */
  retryAt: number | null;
  /** While half-open: the granted trial's lease ends at this time. */
  trialUntil: number | null;
}

/** What isolates cache of a breaker: the state as of now, when calls are tried again, and the failure count. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Epoch ms; null while closed. */
  retryAt: number | null;
  consecutiveFailures: number;
}

/** The answer to an isolate asking for the half-open breaker's trial. */
export interface TrialAnswer extends BreakerSnapshot {
  admitted: boolean;
  trial: boolean;
}

/** Outcomes of calls an isolate collected since its last report. */
export interface OutcomeBatch {
  successes: number;
  failures: number;
  /** Failures after the batch's last success (all of them if there was none). */
  trailingFailures: number;
}

export const CLOSED: Breaker = Object.freeze({
  state: "closed",
  consecutiveFailures: 0,
  openedAt: null,
  retryAt: null,
  trialUntil: null,
}) as Breaker;

/** Failure counts are capped so a long outage cannot grow a number forever. */
const MAX_COUNT = 1_000_000;

/** The state as callers see it: an open breaker whose cooldown elapsed is half-open. */
export function effectiveState(b: Breaker, now: number): BreakerState {
  if (b.state === "open" && b.retryAt !== null && now >= b.retryAt) return "half-open";
  return b.state;
}

/** When calls will be tried again, or null while closed. */
export function retryAt(b: Breaker, now: number): number | null {
  if (b.state === "closed") return null;
  if (b.state === "open") return Math.max(b.retryAt ?? now, now);
  return b.trialUntil !== null && b.trialUntil > now ? b.trialUntil : now;
}

function open(s: BreakerSettings, now: number, failures: number): Breaker {
  return {
    state: "open",
    consecutiveFailures: Math.min(MAX_COUNT, failures),
    openedAt: now,
    retryAt: now + s.cooldownMs,
    trialUntil: null,
  };
}

/** Records `n` failures (n ≥ 1). */
export function recordFailures(b: Breaker, s: BreakerSettings, now: number, n = 1): Breaker {
  if (n <= 0) return b;
  const count = Math.min(MAX_COUNT, b.consecutiveFailures + n);
  switch (effectiveState(b, now)) {
    case "closed":
      return count >= s.failureThreshold ? open(s, now, count) : { ...b, consecutiveFailures: count };
    case "open":
      // Still cooling down: calls that were already under way when it opened.
      return { ...b, consecutiveFailures: count };
    case "half-open":
      // The trial (or a probe after the cooldown) failed: another full cooldown.
      return open(s, now, count);
  }
}

/**
 * Records a success. A `decisive` one (the granted trial, a health probe, an
 * operator's refresh) closes a half-open breaker; any success resets the
 * count of a closed one. Successes of calls admitted before the breaker
 * opened change nothing while it is open.
 */
export function recordSuccess(b: Breaker, now: number, decisive: boolean): Breaker {
  const state = effectiveState(b, now);
  if (state === "closed") return b.consecutiveFailures === 0 ? b : { ...b, consecutiveFailures: 0 };
  if (decisive && state === "half-open") return CLOSED;
  return b;
}

/** Applies an isolate's batch of call outcomes (none of them trials). */
export function applyBatch(b: Breaker, s: BreakerSettings, batch: OutcomeBatch, now: number): Breaker {
  let next = b;
  if (batch.successes > 0) next = recordSuccess(next, now, false);
  const failures = batch.successes > 0 ? batch.trailingFailures : batch.failures;
  return recordFailures(next, s, now, failures);
}

/** The answer to "may a call go to the backend now?". */
export interface Admission {
  breaker: Breaker;
  admitted: boolean;
  /** The call is the half-open breaker's single trial: its outcome decides. */
  trial: boolean;
}

/**
 * Admits a call: always while closed; while half-open exactly one trial per
 * lease (`leaseMs`); never while open.
 */
export function acquireTrial(b: Breaker, now: number, leaseMs: number): Admission {
  switch (effectiveState(b, now)) {
    case "closed":
      return { breaker: b, admitted: true, trial: false };
    case "open":
      return { breaker: b, admitted: false, trial: false };
    case "half-open":
      if (b.state === "half-open" && b.trialUntil !== null && b.trialUntil > now) {
        return { breaker: b, admitted: false, trial: false };
      }
      return {
        breaker: { ...b, state: "half-open", retryAt: null, trialUntil: now + leaseMs },
        admitted: true,
        trial: true,
      };
  }
}

/** The trial ended without telling anything about the backend: the next caller may try. */
export function releaseTrial(b: Breaker): Breaker {
  return b.state === "half-open" ? { ...b, trialUntil: null } : b;
}

/** A backend's breaker settings from its config. */
export function breakerSettings(backend: { failureThreshold: number; cooldownSeconds: number }): BreakerSettings {
  return { failureThreshold: backend.failureThreshold, cooldownMs: backend.cooldownSeconds * 1000 };
}

/** How long a granted trial may take (the backend's call timeout and a margin) before another caller may try. */
export function trialLeaseMs(backend: { timeoutMs: number }): number {
  return Math.min(backend.timeoutMs + 5_000, 330_000);
}

/**
 * While open: when the health probe should run to decide, i.e. the end of
 * the cooldown plus a jitter of up to 20% of it (at most 5 s), so backends
 * that failed together are not all probed in the same instant.
 */
export function probeAfterCooldown(b: Breaker, random: () => number = Math.random): number | null {
  if (b.state !== "open" || b.retryAt === null) return null;
  const cooldown = b.openedAt === null ? 0 : b.retryAt - b.openedAt;
  return b.retryAt + Math.round(random() * Math.min(5_000, cooldown * 0.2));
}

/** What callers are told while the breaker keeps calls away from a backend. */
export function unavailableMessage(backend: string, retryAtMs: number | null): string {
  const when = retryAtMs === null ? "shortly" : `after ${new Date(retryAtMs).toISOString()}`;
  return `Backend '${backend}' is unavailable (circuit breaker open); calls will be retried ${when}`;
}
