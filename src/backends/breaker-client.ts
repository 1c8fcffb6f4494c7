/**
 * The circuit breaker as the request path sees it (design rule 3: the
 * backend's Durable Object is not on every call's path).
 *
 * Each isolate caches every backend's breaker state for `STATE_TTL_MS` in a
 * bounded LRU. Per call:
 * - closed (the common case): admitted at once, from memory. A stale entry is
 *   refreshed by one background `breakerState()` (single-flight), so the DO
 *   sees at most one such read per isolate and backend per second.
 * - open: rejected at once, from memory, with a JSON-RPC error naming the
 *   backend and when it will be retried. No upstream call, no DO round trip.
 * - cooldown elapsed (half-open): the DO grants the single trial
 *   (`tryAcquireTrial`, one round trip, single-flight per isolate); everyone
 *   else is rejected from memory until the trial decides.
 * - first call on an isolate (no entry yet): one `breakerState()` is awaited,
 *   for at most `COLD_WAIT_MS`; if the DO is slow the call is admitted.
 *
 * Outcomes are reported without ever being awaited on the response path
 * (`defer` = `ctx.waitUntil`): they are counted per backend and sent as one
 * batch at most every `FLUSH_INTERVAL_MS`; a failure that could trip the
 * breaker is sent at once, and a trial's outcome is sent at once. Successes
 * of a backend whose breaker is closed with no failures pending are not sent
 * at all, so a healthy backend under load costs its DO nothing but the
 * once-a-second state read. The DO answers each report with its state, which
 * updates the cache.
 *
 * All of this goes through the isolate's breaker shard for the backend
 * (`ShardDO` `breaker:<backend>:<bucket>`, issue 20), which answers with the
 * same three calls as the BackendDO but reads it at most once a second,
 * merges its isolates' batches and asks for the trial single-flight: the
 * BackendDO sees at most SHARD_COUNT readers however many isolates run.
 */
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { shardObject } from "../stubs";
import { BackendFailure } from "../upstream/failure";
import { isolateId } from "../util/isolate";
import { LruMap } from "../util/lru";
import { breakerShardName, shardIndex } from "../util/shard-policy";
import { withDeadline } from "../util/time";
import {
  type BreakerSettings,
  type BreakerState,
  breakerSettings,
  type OutcomeBatch,
  trialLeaseMs,
  unavailableMessage,
} from "./breaker";
import type { BreakerSnapshot, OutcomeReport, TrialAnswer } from "./monitor";
import { type CallOutcome, outcomeOf } from "./outcome";

/** How long an isolate trusts its cached breaker state before re-reading it (in the background). */
export const STATE_TTL_MS = 1_000;
/** Ordinary outcomes are sent at most this often per backend and isolate. */
export const FLUSH_INTERVAL_MS = 250;
/** The longest a first call waits for the breaker state. */
const COLD_WAIT_MS = 300;
/** Above LIMITS.backends, so a busy isolate keeps every backend. */
const MAX_ENTRIES = 1_024;
/** Counts in one batch are capped (a batch covers at most FLUSH_INTERVAL_MS anyway). */
const MAX_COUNT = 1_000_000;

interface Entry {
  /** The config the state belongs to: a new URL or new settings start over. */
  key: string;
  snap: BreakerSnapshot;
  checkedAt: number;
  loading: Promise<void> | undefined;
  refreshing: boolean;
  trialAsk: Promise<TrialAnswer | null> | undefined;
  pending: OutcomeBatch;
  flushScheduled: boolean;
  lastFlushAt: number;
}

const CLOSED_SNAPSHOT: BreakerSnapshot = { state: "closed", retryAt: null, consecutiveFailures: 0 };
const entries = new LruMap<string, Entry>(MAX_ENTRIES);

type Defer = (work: Promise<unknown>) => void;

/** The decision for one call. */
export type Admission = { ok: true; trial: boolean } | { ok: false; state: BreakerState; retryAt: number | null };

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

function keyOf(backend: BackendConfig): string {
  return `${backend.url}|${backend.transport}|${backend.failureThreshold}|${backend.cooldownSeconds}`;
}

function emptyBatch(): OutcomeBatch {
  return { successes: 0, failures: 0, trailingFailures: 0 };
}

function entryFor(backend: BackendConfig): { entry: Entry; fresh: boolean } {
  const key = keyOf(backend);
  const found = entries.get(backend.name);
  if (found && found.key === key) return { entry: found, fresh: false };
  const entry: Entry = {
    key,
    snap: CLOSED_SNAPSHOT,
    checkedAt: Number.NEGATIVE_INFINITY,
    loading: undefined,
    refreshing: false,
    trialAsk: undefined,
    pending: emptyBatch(),
    flushScheduled: false,
    lastFlushAt: 0,
  };
  entries.set(backend.name, entry);
  return { entry, fresh: true };
}

function update(entry: Entry, snap: BreakerSnapshot): void {
  entry.snap = snap;
  entry.checkedAt = Date.now();
}

async function readState(env: Bindings, backend: BackendConfig, entry: Entry): Promise<void> {
  try {
    update(entry, await stub(env, backend).breakerState());
  } catch {
    // The DO is unreachable: keep the last known state and look again after the TTL.
    entry.checkedAt = Date.now();
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
    return entry.snap.state === "closed" ? { ok: true, trial: false } : rejected(entry.snap);
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
  if (!answer) return rejected(entry.snap);
  return answer.admitted ? { ok: true, trial: answer.trial } : rejected(answer);
}

/** Decides whether a call may go to `backend` now; see the module comment. */
export async function admit(env: Bindings, backend: BackendConfig, defer: Defer): Promise<Admission> {
  const { entry, fresh } = entryFor(backend);
  if (fresh) {
    entry.refreshing = true;
    entry.loading = readState(env, backend, entry);
    defer(entry.loading);
  }
  if (entry.loading !== undefined) {
    await withDeadline(entry.loading, COLD_WAIT_MS);
    entry.loading = undefined;
  }
  const now = Date.now();
  if (now - entry.checkedAt > STATE_TTL_MS && !entry.refreshing) {
    entry.refreshing = true;
    defer(readState(env, backend, entry));
  }
  const snap = entry.snap;
  if (snap.state === "closed") return { ok: true, trial: false };
  const waiting = snap.retryAt !== null && now < snap.retryAt;
  if (snap.state === "open" && waiting) return rejected(snap);
  // Half-open with a trial under way that this isolate learned of recently: wait for it.
  if (snap.state === "half-open" && waiting && now - entry.checkedAt <= STATE_TTL_MS) return rejected(snap);
  return askTrial(env, backend, entry);
}

async function send(env: Bindings, backend: BackendConfig, entry: Entry, report: OutcomeReport): Promise<void> {
  try {
    update(entry, await stub(env, backend).report(breakerSettings(backend), report));
  } catch {
    // Lost: the breaker sees fewer outcomes, never a wrong one. Failures go on being reported.
  }
}

async function flush(env: Bindings, backend: BackendConfig, entry: Entry): Promise<void> {
  const batch = entry.pending;
  if (batch.successes === 0 && batch.failures === 0) return;
  entry.pending = emptyBatch();
  entry.lastFlushAt = Date.now();
  await send(env, backend, entry, { batch });
}

/** Records how a call ended, for the breaker; never awaited by the caller (see the module comment). */
export function report(env: Bindings, defer: Defer, backend: BackendConfig, outcome: CallOutcome, trial = false): void {
  const { entry } = entryFor(backend);
  if (trial) {
    defer(send(env, backend, entry, { trial: outcome }));
    return;
  }
  if (outcome === "neutral") return;
  const batch = entry.pending;
  if (outcome === "failure") {
    batch.failures = Math.min(MAX_COUNT, batch.failures + 1);
    batch.trailingFailures = Math.min(MAX_COUNT, batch.trailingFailures + 1);
  } else {
    batch.successes = Math.min(MAX_COUNT, batch.successes + 1);
    batch.trailingFailures = 0;
  }
  // Nothing the DO needs to hear: successes while it counts no failures, or while it is not closed.
  if (batch.failures === 0 && (entry.snap.consecutiveFailures === 0 || entry.snap.state !== "closed")) {
    entry.pending = emptyBatch();
    return;
  }
  const mayTrip =
    outcome === "failure" &&
    entry.snap.state === "closed" &&
    entry.snap.consecutiveFailures + batch.trailingFailures >= backend.failureThreshold;
  if (mayTrip) {
    defer(flush(env, backend, entry));
    return;
  }
  if (entry.flushScheduled) return;
  entry.flushScheduled = true;
  const wait = Math.max(0, entry.lastFlushAt + FLUSH_INTERVAL_MS - Date.now());
  defer(
    new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      entry.flushScheduled = false;
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
      report(env, defer, backend, outcomeOf(err), admission.trial);
    },
  };
}
