/**
 * An isolate's view of one backend's circuit breaker (pure: no I/O, the clock
 * is a parameter). Used by `breaker-client.ts` and by the scale simulation
 * (`sim/`), so the simulation runs the rule the isolates run.
 *
 * The view joins two breakers with the same settings and transitions
 * (`breaker.ts`):
 * - the global one, kept by the backend's Durable Object and learned through
 *   the isolate's coordination shard (`ShardDO`), at most a second or two old;
 * - a local one, fed by this isolate's own calls: an isolate that sees
 *   `failureThreshold` consecutive failures itself stops calling the backend at
 *   once, without waiting for the global breaker (a hot backend is abandoned
 *   within its first few failed calls on every isolate, whatever the
 *   coordination latency).
 * A call is admitted only if both admit it. Once the isolate learns that the
 * global breaker is not closed, the local one is dropped (the global one
 * governs, with its single trial), and it is dropped again when the global
 * breaker closes, so a recovery declared anywhere reaches every isolate.
 *
 * Outcomes are counted into a pending batch; `urgency` says when the batch
 * must reach the shard. The shard applies the same rule to the batches of all
 * its isolates before it forwards them to the Durable Object. Failures are
 * not reported while the global breaker is known to be open or half-open
 * (the object counts them but they change nothing: only its trial and its
 * probes decide).
 */
import {
  acquireTrial,
  type Breaker,
  type BreakerSettings,
  type BreakerSnapshot,
  type BreakerState,
  CLOSED,
  effectiveState,
  type OutcomeBatch,
  recordFailures,
  recordSuccess,
  releaseTrial,
  retryAt,
} from "./breaker";
import type { CallOutcome } from "./outcome";

/** One backend's breaker as an isolate sees it. */
export interface BreakerView {
  /** The global breaker as last learned (closed until the first answer). */
  global: BreakerSnapshot;
  /** When `global` was learned (−Infinity: never). */
  learnedAt: number;
  /** This isolate's own breaker. */
  local: Breaker;
  /** Outcomes not yet reported. */
  pending: OutcomeBatch;
}

/** What a call may do now. */
export type Verdict =
  | { kind: "admit"; localTrial: boolean }
  | { kind: "refuse"; state: BreakerState; retryAt: number | null }
  /** The global breaker's cooldown is over and no trial is known to run: ask the shard for the trial. */
  | { kind: "ask-trial" };

/** When a pending batch must be reported. */
export type Urgency = "none" | "soon" | "now";

const CLOSED_SNAPSHOT: BreakerSnapshot = Object.freeze({ state: "closed", retryAt: null, consecutiveFailures: 0 });
const MAX_COUNT = 1_000_000;

/** An empty batch. */
export function emptyBatch(): OutcomeBatch {
  return { successes: 0, failures: 0, trailingFailures: 0 };
}

/** A view before anything is known: closed, nothing pending. */
export function freshView(): BreakerView {
  return { global: CLOSED_SNAPSHOT, learnedAt: Number.NEGATIVE_INFINITY, local: CLOSED, pending: emptyBatch() };
}

/** `b` appended to `a` (`b`'s outcomes happened after `a`'s, as far as anyone can tell). */
export function mergeBatches(a: OutcomeBatch, b: OutcomeBatch): OutcomeBatch {
  return {
    successes: Math.min(MAX_COUNT, a.successes + b.successes),
    failures: Math.min(MAX_COUNT, a.failures + b.failures),
    trailingFailures: Math.min(
      MAX_COUNT,
      b.successes > 0 ? b.trailingFailures : a.trailingFailures + b.trailingFailures,
    ),
  };
}

/**
 * When a batch must reach the Durable Object, given the global breaker as
 * known: never while it is not closed; at once when its failures could trip
 * it; soon when it holds failures, or successes that reset a failure count;
 * otherwise never (a healthy backend under load costs nothing).
 */
export function urgency(batch: OutcomeBatch, global: BreakerSnapshot, settings: BreakerSettings): Urgency {
  if (global.state !== "closed") return "none";
  if (batch.failures > 0 && global.consecutiveFailures + batch.trailingFailures >= settings.failureThreshold)
    return "now";
  if (batch.failures > 0) return "soon";
  return batch.successes > 0 && global.consecutiveFailures > 0 ? "soon" : "none";
}

/** Decides a call at `now`; a granted local trial is taken in the returned view. */
export function verdict(view: BreakerView, now: number, leaseMs: number): { view: BreakerView; verdict: Verdict } {
  const local = effectiveState(view.local, now);
  if (local !== "closed") {
    const trial = acquireTrial(view.local, now, leaseMs);
    if (!trial.admitted) {
      return { view, verdict: { kind: "refuse", state: local, retryAt: retryAt(view.local, now) } };
    }
    return { view: { ...view, local: trial.breaker }, verdict: { kind: "admit", localTrial: true } };
  }
  const g = view.global;
  if (g.state === "closed") return { view, verdict: { kind: "admit", localTrial: false } };
  const waiting = g.retryAt !== null && now < g.retryAt;
  // Open and cooling down, or half-open with a trial under way until retryAt: refused from memory.
  if (waiting) return { view, verdict: { kind: "refuse", state: g.state, retryAt: g.retryAt } };
  return { view, verdict: { kind: "ask-trial" } };
}

/**
 * Records how an admitted call ended. A local trial's outcome decides the
 * local breaker; a global trial's outcome is reported on its own (never
 * batched) by the caller.
 */
export function recordOutcome(
  view: BreakerView,
  outcome: CallOutcome,
  settings: BreakerSettings,
  now: number,
  localTrial = false,
): { view: BreakerView; tripped: boolean } {
  if (outcome === "neutral") {
    return { view: localTrial ? { ...view, local: releaseTrial(view.local) } : view, tripped: false };
  }
  const p = view.pending;
  const pending: OutcomeBatch =
    outcome === "failure"
      ? {
          successes: p.successes,
          failures: Math.min(MAX_COUNT, p.failures + 1),
          trailingFailures: Math.min(MAX_COUNT, p.trailingFailures + 1),
        }
      : { successes: Math.min(MAX_COUNT, p.successes + 1), failures: p.failures, trailingFailures: 0 };
  const before = effectiveState(view.local, now);
  const local =
    outcome === "failure" ? recordFailures(view.local, settings, now) : recordSuccess(view.local, now, localTrial);
  const tripped = before !== "open" && local.state === "open";
  // Successes of a backend nobody counts failures of are not worth a message.
  const keep = pending.failures > 0 || view.global.consecutiveFailures > 0;
  return { view: { ...view, local, pending: keep ? pending : emptyBatch() }, tripped };
}

/**
 * The global breaker as the shard answered at `now`. A global breaker that
 * is not closed replaces the local one, and so does one that just closed;
 * failures pending for a breaker that is not closed are dropped.
 */
export function learn(view: BreakerView, global: BreakerSnapshot, now: number): BreakerView {
  const reopened = global.state === "closed" && view.global.state !== "closed";
  const local = global.state !== "closed" || reopened ? CLOSED : view.local;
  const pending = global.state === "closed" ? view.pending : emptyBatch();
  return { global, learnedAt: now, local, pending };
}

/** Takes the pending batch for a report (the view keeps an empty one). */
export function takePending(view: BreakerView): { view: BreakerView; batch: OutcomeBatch } {
  return { view: { ...view, pending: emptyBatch() }, batch: view.pending };
}

/** Whether the view needs the short sync interval: a breaker not closed (here or globally) or outcomes to report. */
export function unsettled(view: BreakerView, now: number, settings: BreakerSettings): boolean {
  return (
    view.global.state !== "closed" ||
    effectiveState(view.local, now) !== "closed" ||
    urgency(view.pending, view.global, settings) !== "none"
  );
}
