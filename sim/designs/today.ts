/**
 * Today's design (as of commit fec355b), per isolate:
 *
 * - Breaker (`src/backends/breaker-client.ts` then): every backend's state is
 *   cached for 1 s; the first call after that re-reads it from the BackendDO
 *   in the background (and is decided on the stale state); a cold entry is
 *   read once, awaited. Failures are sent in batches at most every 250 ms,
 *   at once when they could trip the breaker (then every such failure is sent
 *   at once until the isolate hears the breaker opened). After the cooldown
 *   each isolate asks the BackendDO for the trial (awaited, at most once a
 *   second while a trial is under way).
 * - Config: the cache policy of `src/config/cache-policy.ts` with the values
 *   of then (1 s fresh, 2 s stale, a failed check retried by the next
 *   request), each check a `SELECT version` on D1, a changed version a full
 *   load (five statements).
 * - Spans: the shipper's drain lingers 100 ms (`LINGER_MS`), then sends, and
 *   sends again at once while spans arrived during the send, so under steady
 *   load an isolate sends one message per `sendBatch` round trip.
 * - rate_limit: one RateLimiterDO round trip per call of the key.
 */
import type { BreakerSnapshot, OutcomeBatch } from "../../src/backends/breaker.ts";
import { type CachePolicy, type CacheState, checkedAtAfterTimeout } from "../../src/config/cache-policy.ts";
import { LINGER_MS } from "../../src/observability/shipper.ts";
import { BackendObject, rpc, SETTINGS } from "../backend-object.ts";
import { freshCacheState, scheduleConfigCheck } from "../config-schedule.ts";
import { LIMITS, WORKLOAD } from "../params.ts";
import { spansPerMessage } from "../spans.ts";
import type { AnalyticLoads, Decision, Design, Isolate, Pair, World } from "../world.ts";

const STATE_TTL_MS = 1_000;
/** The longest a first call waits for the breaker state. */
const COLD_WAIT_MS = 300;
const FLUSH_INTERVAL_MS = 250;
const TODAY_POLICY: CachePolicy = { freshMs: 1_000, maxStaleMs: 2_000, checkTimeoutMs: 2_000, retryMs: 0 };
/** Statements of a full config load (version + four tables in one batch). */
const LOAD_STATEMENTS = 5;

interface Entry {
  /** When the isolate's first call asked for the state (it waits for it up to COLD_WAIT_MS). */
  coldSince: number | null;
  snap: BreakerSnapshot;
  checkedAt: number;
  refreshing: boolean;
  trialAsking: boolean;
  pending: OutcomeBatch;
  flushScheduled: boolean;
  lastFlushAt: number;
}

const CLOSED_SNAP: BreakerSnapshot = { state: "closed", retryAt: null, consecutiveFailures: 0 };

export class TodayDesign implements Design {
  readonly name = "today";
  private world!: World;
  private objects: BackendObject[] = [];
  private entries: Entry[] = [];
  private configs = new Map<Isolate, CacheState>();

  attach(world: World): void {
    this.world = world;
    this.objects = world.backends.map((b) => new BackendObject(world, b));
  }

  start(iso: Isolate): void {
    const state = freshCacheState();
    this.configs.set(iso, state);
    this.check(iso, state, false);
  }

  // ---- config -------------------------------------------------------------

  private scheduleConfig(iso: Isolate, state: CacheState): void {
    scheduleConfigCheck(this.world, iso, state, TODAY_POLICY, (i, st, waiting) => this.check(i, st, waiting));
  }

  private check(iso: Isolate, state: CacheState, waiting: boolean): void {
    const world = this.world;
    const startedAt = world.engine.now;
    state.checking = true;
    const finish = (ok: boolean) => {
      const now = world.engine.now;
      state.checking = false;
      if (ok) state.checkedAt = startedAt;
      else state.failedAt = now;
      if (waiting && state.hasSnapshot) {
        // Every request that arrived during the check waited for it (up to the check's deadline).
        const end = Math.min(now, startedAt + TODAY_POLICY.checkTimeoutMs);
        world.stats.awaitedWarm += world.requestsBetween(iso, startedAt, end);
        if (!ok) state.checkedAt = checkedAtAfterTimeout(state.checkedAt, end, TODAY_POLICY);
      }
      if (iso.alive) this.scheduleConfig(iso, state);
    };
    const load = () =>
      rpc(
        world,
        iso.loc,
        world.d1,
        () => world.version,
        (version) => {
          if (version === null) return finish(false);
          world.installed(iso, version);
          state.hasSnapshot = true;
          finish(true);
        },
        LOAD_STATEMENTS,
      );
    if (!state.hasSnapshot) {
      load();
      return;
    }
    rpc(
      world,
      iso.loc,
      world.d1,
      () => world.version,
      (version) => {
        if (version === null) return finish(false);
        if (version === iso.version) return finish(true);
        load();
      },
    );
  }

  // ---- breaker ------------------------------------------------------------

  pairAdded(pair: Pair): void {
    this.entries[pair.index] = {
      coldSince: null,
      snap: CLOSED_SNAP,
      checkedAt: Number.NEGATIVE_INFINITY,
      refreshing: false,
      trialAsking: false,
      pending: { successes: 0, failures: 0, trailingFailures: 0 },
      flushScheduled: false,
      lastFlushAt: 0,
    };
    // The isolate's first call to the backend reads the state (awaited, cold): then every call
    // after the TTL starts a background read.
    this.world.engine.at(this.world.nextCall(pair, this.world.engine.now), () => {
      const e = this.entry(pair);
      if (e.coldSince === null) e.coldSince = this.world.engine.now;
      this.read(pair);
    });
  }

  private entry(pair: Pair): Entry {
    return this.entries[pair.index] as Entry;
  }

  private update(pair: Pair, snap: BreakerSnapshot): void {
    const e = this.entry(pair);
    e.snap = snap;
    e.checkedAt = this.world.engine.now;
    this.world.viewChanged(pair);
  }

  /** One background state read; the next one starts at the first call after the TTL. */
  private read(pair: Pair): void {
    const e = this.entry(pair);
    if (!pair.iso.alive || e.refreshing) return;
    e.refreshing = true;
    const object = this.objects[pair.backend.index] as BackendObject;
    rpc(
      this.world,
      pair.iso.loc,
      object.server,
      (at) => object.snapshot(at),
      (snap) => {
        e.refreshing = false;
        if (snap) this.update(pair, snap);
        else e.checkedAt = this.world.engine.now;
        if (!pair.iso.alive) return;
        this.world.engine.at(this.world.callAfter(pair, e.checkedAt + STATE_TTL_MS), () => this.read(pair));
      },
    );
  }

  decide(pair: Pair, now: number): Decision {
    const e = this.entry(pair);
    if (e.coldSince === null) {
      e.coldSince = now;
      this.read(pair);
    }
    if (e.checkedAt === Number.NEGATIVE_INFINITY && now - e.coldSince < COLD_WAIT_MS) return "wait";
    if (now - e.checkedAt > STATE_TTL_MS && !e.refreshing) this.read(pair);
    const snap = e.snap;
    if (snap.state === "closed") return "admit";
    const waiting = snap.retryAt !== null && now < snap.retryAt;
    if (snap.state === "open" && waiting) return "refuse";
    if (snap.state === "half-open" && waiting && now - e.checkedAt <= STATE_TTL_MS) return "refuse";
    this.askTrial(pair);
    // The call waits for the answer; the simulation lets the next call use it.
    return "refuse";
  }

  private askTrial(pair: Pair): void {
    const e = this.entry(pair);
    if (e.trialAsking) return;
    e.trialAsking = true;
    const object = this.objects[pair.backend.index] as BackendObject;
    rpc(
      this.world,
      pair.iso.loc,
      object.server,
      (at) => object.tryAcquireTrial(at),
      (answer) => {
        e.trialAsking = false;
        if (!answer) {
          e.checkedAt = this.world.engine.now;
          return;
        }
        this.update(pair, answer);
        if (answer.trial) this.runTrial(pair);
      },
    );
  }

  /** The granted trial call goes out now. */
  private runTrial(pair: Pair): void {
    const world = this.world;
    const down = world.down(pair.backend, world.engine.now);
    if (down) world.stats.trialCalls.set(pair.backend.name, (world.stats.trialCalls.get(pair.backend.name) ?? 0) + 1);
    world.engine.after(WORKLOAD.failureLatencyMs, () => this.outcome(pair, !down, true));
  }

  admits(pair: Pair, _now: number): boolean {
    return this.entry(pair).snap.state === "closed";
  }

  outcome(pair: Pair, ok: boolean, trial: boolean): void {
    const e = this.entry(pair);
    const object = this.objects[pair.backend.index] as BackendObject;
    if (trial) {
      rpc(
        this.world,
        pair.iso.loc,
        object.server,
        (at) => object.report(undefined, ok, at),
        (snap) => snap && this.update(pair, snap),
      );
      return;
    }
    const batch = e.pending;
    if (!ok) {
      batch.failures++;
      batch.trailingFailures++;
    } else {
      batch.successes++;
      batch.trailingFailures = 0;
    }
    if (batch.failures === 0 && (e.snap.consecutiveFailures === 0 || e.snap.state !== "closed")) {
      e.pending = { successes: 0, failures: 0, trailingFailures: 0 };
      return;
    }
    const mayTrip =
      !ok &&
      e.snap.state === "closed" &&
      e.snap.consecutiveFailures + batch.trailingFailures >= SETTINGS.failureThreshold;
    if (mayTrip) {
      this.flush(pair);
      return;
    }
    if (e.flushScheduled) return;
    e.flushScheduled = true;
    const wait = Math.max(0, e.lastFlushAt + FLUSH_INTERVAL_MS - this.world.engine.now);
    this.world.engine.after(wait, () => {
      e.flushScheduled = false;
      this.flush(pair);
    });
  }

  private flush(pair: Pair): void {
    const e = this.entry(pair);
    const batch = e.pending;
    if (batch.successes === 0 && batch.failures === 0) return;
    e.pending = { successes: 0, failures: 0, trailingFailures: 0 };
    e.lastFlushAt = this.world.engine.now;
    const object = this.objects[pair.backend.index] as BackendObject;
    rpc(
      this.world,
      pair.iso.loc,
      object.server,
      (at) => object.report(batch, undefined, at),
      (snap) => snap && this.update(pair, snap),
    );
  }

  // ---- computed loads -----------------------------------------------------

  analytic(world: World): AnalyticLoads {
    // The drain sends again as soon as a send returns while spans arrived meanwhile: with a call
    // every 10 ms and a 20 ms sendBatch, every loop finds spans, so one message per send.
    const callGap = 1000 / WORKLOAD.callsPerIsolate;
    const perIsolate =
      callGap < WORKLOAD.queueSendMs ? 1000 / WORKLOAD.queueSendMs : 1000 / (LINGER_MS + WORKLOAD.queueSendMs);
    const spansPerSend = (WORKLOAD.callsPerIsolate * WORKLOAD.spansPerCall) / perIsolate;
    const messagesPerSend = Math.ceil(spansPerSend / spansPerMessage());
    const offered = world.isolateCount * perIsolate * messagesPerSend;
    const accepted = Math.min(offered, LIMITS.queueMessagesPerSecond);
    const spansStored = (accepted / offered) * world.isolateCount * WORKLOAD.callsPerIsolate * WORKLOAD.spansPerCall;
    return {
      queueMessagesPerSecond: offered,
      spansDroppedFraction: 1 - accepted / offered,
      // The consumer writes chunks of up to 500 spans as three statements.
      d1SpanQueriesPerSecond: (spansStored / 500) * 3,
      rateLimiterRps: world.backends[0]?.total ?? 0,
      rateLimiterNote: "one RateLimiterDO round trip per call of the key",
    };
  }
}
