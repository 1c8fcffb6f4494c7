/**
 * The circuit breaker as the request path sees it (design rule 3: the
 * backend's Durable Object is not on every call's path; issue 20: nor is any
 * object whose load would grow with the number of isolates).
 *
 * Each isolate keeps a `BreakerView` per backend (`isolate-breaker.ts`, the
 * rule the scale simulation runs too) in a bounded LRU: the global breaker as
 * last learned, and a local breaker fed by this isolate's own calls, so an
 * isolate that sees `failureThreshold` failures in a row stops calling at
 * once, whatever the coordination latency. Per call:
 * - closed (the common case): admitted at once, from memory. A state older
 *   than its TTL (2 s ±20% while calm, 1 s while anything is unsettled;
 *   `shard-policy.ts`) is refreshed by one background read (single-flight).
 * - open (here or globally): rejected at once, from memory, with a JSON-RPC
 *   error naming the backend and when it will be retried.
 * - the global cooldown elapsed: the trial is asked for (one round trip,
 *   single-flight per isolate); everyone else is rejected from memory.
 * - first call, or a state older than STATE_MAX_STALE_MS (a backend this
 *   isolate calls rarely): one read is awaited, for at most `COLD_WAIT_MS`.
 *
 * Outcomes are never awaited on the response path (`defer` = `ctx.waitUntil`):
 * they are counted per backend and sent as one batch at most every
 * FLUSH_INTERVAL_MS, within URGENT_FLUSH_MS (jittered) when they could trip
 * the breaker, never while the global breaker is known not to be closed; a
 * trial's outcome is sent at once. Successes of a backend whose breaker counts
 * no failures are not sent at all.
 *
 * All of this goes through the isolate's breaker shard for the backend
 * (`ShardDO` `breaker:<backend>:<bucket>`), which answers with the same three
 * calls as the BackendDO but reads it at most once a second, merges its
 * isolates' batches and asks for the trial single-flight: the BackendDO sees
 * at most SHARD_COUNT readers however many isolates run.
 */
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { shardObject } from "../stubs";
import { BackendFailure } from "../upstream/failure";
import { isolateId } from "../util/isolate";
import { LruMap } from "../util/lru";
import { breakerShardName, flushDelayMs, STATE_MAX_STALE_MS, shardIndex, stateTtlMs } from "../util/shard-policy";
import { withDeadline } from "../util/time";
import { type BreakerSettings, type BreakerState, breakerSettings, trialLeaseMs, unavailableMessage } from "./breaker";
import {
  type BreakerView,
  freshView,
  learn,
  recordOutcome,
  takePending,
  unsettled,
  urgency,
  verdict,
} from "./isolate-breaker";
import type { BreakerSnapshot, OutcomeReport, TrialAnswer } from "./monitor";
import { type CallOutcome, outcomeOf } from "./outcome";

/** The longest a call waits for a state read (a first call, or a state older than STATE_MAX_STALE_MS). */
const COLD_WAIT_MS = 300;
/** Above LIMITS.backends, so a busy isolate keeps every backend. */
const MAX_ENTRIES = 1_024;

interface Entry {
  /** The config the state belongs to: a new URL or new settings start over. */
  key: string;
  settings: BreakerSettings;
  /** The global breaker as learned, this isolate's own breaker and its unreported outcomes. */
  view: BreakerView;
  /** This entry's place in the TTL jitter (drawn once, so its reads keep their spacing). */
  jitter: number;
  loading: Promise<void> | undefined;
  refreshing: boolean;
  trialAsk: Promise<TrialAnswer | null> | undefined;
  /** When the scheduled flush runs (null: none scheduled). */
  flushAt: number | null;
  lastFlushAt: number;
}

const entries = new LruMap<string, Entry>(MAX_ENTRIES);

type Defer = (work: Promise<unknown>) => void;

/**
 * The decision for one call. `localTrial`: admitted by this isolate's own
 * breaker after its cooldown (its outcome decides that breaker; the global
 * one never hears of it as a trial).
 */
export type Admission =
  | { ok: true; trial: boolean; localTrial?: true }
  | { ok: false; state: BreakerState; retryAt: number | null };

function keyOf(backend: BackendConfig): string {
  return `${backend.url}|${backend.transport}|${backend.failureThreshold}|${backend.cooldownSeconds}`;
}

/** The backend's breaker as this isolate reaches it: through its bucket's shard (module comment). */
function stub(env: Pick<Bindings, "SHARD">, backend: BackendConfig) {
  const name = backend.name;
  const key = keyOf(backend);
  const shard = shardObject(env, breakerShardName(name, shardIndex(isolateId())));
  return {
    breakerState: () => shard.breakerState(name, key),
    tryAcquireTrial: (leaseMs: number) => shard.tryAcquireTrial(name, leaseMs, key),
    report: (settings: BreakerSettings, report: OutcomeReport) => shard.report(name, settings, report, key),
  };
}

function entryFor(backend: BackendConfig): { entry: Entry; fresh: boolean } {
  const key = keyOf(backend);
  const found = entries.get(backend.name);
  if (found && found.key === key) return { entry: found, fresh: false };
  const entry: Entry = {
    key,
    settings: breakerSettings(backend),
    view: freshView(),
    jitter: Math.random(),
    loading: undefined,
    refreshing: false,
    trialAsk: undefined,
    flushAt: null,
    lastFlushAt: Number.NEGATIVE_INFINITY,
  };
  entries.set(backend.name, entry);
  return { entry, fresh: true };
}

/** How long the entry's state is trusted now: shorter while anything is unsettled (jittered, shard-policy). */
function ttlOf(entry: Entry, now: number): number {
  return stateTtlMs(unsettled(entry.view, now, entry.settings), () => entry.jitter);
}

function update(entry: Entry, snap: BreakerSnapshot): void {
  entry.view = learn(entry.view, snap, Date.now());
}

async function readState(env: Bindings, backend: BackendConfig, entry: Entry): Promise<void> {
  try {
    update(entry, await stub(env, backend).breakerState());
  } catch {
    // The shard is unreachable: keep the last known state and look again after the TTL.
    entry.view = { ...entry.view, learnedAt: Date.now() };
  } finally {
    entry.refreshing = false;
  }
}

function rejected(snap: BreakerSnapshot): Admission {
  return { ok: false, state: snap.state === "closed" ? "open" : snap.state, retryAt: snap.retryAt };
}

async function askTrial(env: Bindings, backend: BackendConfig, entry: Entry): Promise<Admission> {
  if (entry.trialAsk !== undefined) {
    // Another call on this isolate is asking; the trial, if granted, is its.
    await entry.trialAsk;
    return entry.view.global.state === "closed" ? { ok: true, trial: false } : rejected(entry.view.global);
  }
  const ask = stub(env, backend)
    .tryAcquireTrial(trialLeaseMs(backend))
    .then(
      (answer): TrialAnswer => {
        update(entry, answer);
        return answer;
      },
      () => null,
    )
    .finally(() => {
      entry.trialAsk = undefined;
    });
  entry.trialAsk = ask;
  const answer = await ask;
  if (!answer) return rejected(entry.view.global);
  return answer.admitted ? { ok: true, trial: answer.trial } : rejected(answer);
}

/** Decides whether a call may go to `backend` now; see the module comment. */
export async function admit(env: Bindings, backend: BackendConfig, defer: Defer): Promise<Admission> {
  const { entry } = entryFor(backend);
  // A first call, or a state so old that going out on it would be a guess: read, and wait a little.
  if (Date.now() - entry.view.learnedAt > STATE_MAX_STALE_MS && !entry.refreshing) {
    entry.refreshing = true;
    entry.loading = readState(env, backend, entry);
    defer(entry.loading);
  }
  if (entry.loading !== undefined) {
    const loading = entry.loading;
    entry.loading = undefined; // one call waits per read; the others go on the state they have
    await withDeadline(loading, COLD_WAIT_MS);
  }
  const now = Date.now();
  if (now - entry.view.learnedAt > ttlOf(entry, now) && !entry.refreshing) {
    entry.refreshing = true;
    defer(readState(env, backend, entry));
  }
  const decided = verdict(entry.view, now, trialLeaseMs(backend));
  entry.view = decided.view;
  const v = decided.verdict;
  if (v.kind === "admit")
    return v.localTrial ? { ok: true, trial: false, localTrial: true } : { ok: true, trial: false };
  if (v.kind === "refuse") return { ok: false, state: v.state, retryAt: v.retryAt };
  return askTrial(env, backend, entry);
}

async function send(env: Bindings, backend: BackendConfig, entry: Entry, report: OutcomeReport): Promise<void> {
  try {
    update(entry, await stub(env, backend).report(entry.settings, report));
  } catch {
    // Lost: the breaker sees fewer outcomes, never a wrong one. Failures go on being reported.
  }
}

async function flush(env: Bindings, backend: BackendConfig, entry: Entry): Promise<void> {
  if (urgency(entry.view.pending, entry.view.global, entry.settings) === "none") return;
  const taken = takePending(entry.view);
  entry.view = taken.view;
  entry.lastFlushAt = Date.now();
  await send(env, backend, entry, { batch: taken.batch });
}

/** Records how a call ended, for the breaker; never awaited by the caller (see the module comment). */
export function report(
  env: Bindings,
  defer: Defer,
  backend: BackendConfig,
  outcome: CallOutcome,
  trial = false,
  localTrial = false,
): void {
  const { entry } = entryFor(backend);
  if (trial) {
    defer(send(env, backend, entry, { trial: outcome }));
    return;
  }
  const now = Date.now();
  entry.view = recordOutcome(entry.view, outcome, entry.settings, now, localTrial).view;
  const due = urgency(entry.view.pending, entry.view.global, entry.settings);
  if (due === "none") return;
  const at = now + flushDelayMs(due === "now", now - entry.lastFlushAt);
  if (entry.flushAt !== null && entry.flushAt <= at) return;
  entry.flushAt = at;
  defer(
    new Promise<void>((resolve) => setTimeout(resolve, at - now)).then(() => {
      if (entry.flushAt !== at) return; // replaced by a sooner one
      entry.flushAt = null;
      return flush(env, backend, entry);
    }),
  );
}

/** The failure of a call the breaker kept from the backend (JSON-RPC -32010, `reason: "unavailable"`). */
export function unavailableFailure(backend: string, admission: Extract<Admission, { ok: false }>): BackendFailure {
  return new BackendFailure(backend, "unavailable", unavailableMessage(backend, admission.retryAt), undefined, {
    breaker: admission.state,
    retryAt: admission.retryAt === null ? null : new Date(admission.retryAt).toISOString(),
  });
}

/** One call's breaker bookkeeping, for `forward()`. */
export interface CallAdmission {
  /** Set when the call must not go upstream: the failure to answer with. */
  rejected: BackendFailure | null;
  /** Reports how the call ended (`err` undefined: it returned; null: neutral). Only the first report counts. */
  done(err?: unknown): void;
}

/** Admits a call to `backend` (from isolate memory in the common case) and returns its bookkeeping. */
export async function admitCall(env: Bindings, defer: Defer, backend: BackendConfig): Promise<CallAdmission> {
  const admission = await admit(env, backend, defer);
  if (!admission.ok) return { rejected: unavailableFailure(backend.name, admission), done: () => undefined };
  let reported = false;
  return {
    rejected: null,
    done(err?: unknown) {
      if (reported) return;
      reported = true;
      report(env, defer, backend, outcomeOf(err), admission.trial, admission.localTrial === true);
    },
  };
}
