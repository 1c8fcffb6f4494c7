/**
 * The sharded design (issue 20), with the gateway's own pure modules:
 *
 * - Breaker: each isolate keeps a `BreakerView` per backend
 *   (`src/backends/isolate-breaker.ts`: the global state as last learned plus
 *   a local breaker fed by its own calls) and talks to its bucket's ShardDO
 *   for that backend only (`src/util/shard-policy.ts`): state reads after
 *   a jittered TTL (2 s calm, 1 s unsettled), batches at most once a second,
 *   at once (jittered within 250 ms) when they may trip, nothing while the
 *   global breaker is not closed. The shard reads the BackendDO at most once
 *   a second, forwards what may trip at once and the rest once a second,
 *   and asks for the trial single-flight (one asker gets it).
 * - Config: the isolate's cache rule (`src/config/cache-policy.ts`, unchanged)
 *   with its checks sent to its bucket's config shard, which reads D1's
 *   version at most once a second and loads a changed snapshot once.
 * - Spans: linger and head sampling from `src/observability/ship-policy.ts`,
 *   sized by the shard's isolate estimate; rollups count every call.
 * - rate_limit: `shards: 128` for the hot key (`src/plugins/kinds/rate-shards.ts`).
 */
import type { BreakerSnapshot } from "../../src/backends/breaker.ts";
import {
  type BreakerView,
  freshView,
  learn,
  recordOutcome,
  takePending,
  unsettled,
  urgency,
  verdict,
} from "../../src/backends/isolate-breaker.ts";
import { type CacheState, DEFAULT_CACHE_POLICY } from "../../src/config/cache-policy.ts";
import { keepProbability, lingerMs } from "../../src/observability/ship-policy.ts";
import { shardBudget } from "../../src/plugins/kinds/rate-shards.ts";
import { flushDelayMs, STATE_MAX_STALE_MS, stateTtlMs } from "../../src/util/shard-policy.ts";
import { BackendObject, LEASE_MS, rpc, SETTINGS } from "../backend-object.ts";
import { freshCacheState, scheduleConfigCheck } from "../config-schedule.ts";
import { WORKLOAD } from "../params.ts";
import { spansPerMessage } from "../spans.ts";
import type { AnalyticLoads, Decision, Design, Isolate, Pair, World } from "../world.ts";
import { type ConfigShard, call, Shards } from "./shards.ts";

/** The longest a first call waits for the breaker state (as today). */
const COLD_WAIT_MS = 300;
/** Sub-counters of the hot rate-limit key. */
const RATE_SHARDS = 128;

/** An isolate's side of one pair. */
interface Entry {
  view: BreakerView;
  coldSince: number | null;
  /** When a call started waiting for a fresh read of a state older than STATE_MAX_STALE_MS. */
  staleSince: number | null;
  ttl: number;
  refreshing: boolean;
  trialAsking: boolean;
  flushAt: number | null;
  lastFlushAt: number;
}

export class ShardedDesign implements Design {
  readonly name = "sharded";
  private world!: World;
  private objects: BackendObject[] = [];
  private entries: Entry[] = [];
  private s!: Shards;
  private configs = new Map<Isolate, CacheState>();

  attach(world: World): void {
    this.world = world;
    this.objects = world.backends.map((b) => new BackendObject(world, b));
    this.s = new Shards(world, this.objects);
  }

  // ---- config -------------------------------------------------------------

  start(iso: Isolate): void {
    const state = freshCacheState();
    this.configs.set(iso, state);
    this.check(iso, state, false);
  }

  private scheduleConfig(iso: Isolate, state: CacheState): void {
    scheduleConfigCheck(this.world, iso, state, DEFAULT_CACHE_POLICY, (i, st, waiting) => this.check(i, st, waiting));
  }

  /** One check: the shard's version (read-through), then the snapshot from the shard if it changed. */
  private check(iso: Isolate, state: CacheState, waiting: boolean): void {
    const world = this.world;
    const shard = this.s.configShards[this.s.bucket(iso)] as ConfigShard;
    const startedAt = world.engine.now;
    state.checking = true;
    const finish = (ok: boolean) => {
      state.checking = false;
      if (ok) state.checkedAt = startedAt;
      else state.failedAt = world.engine.now;
      if (waiting && state.hasSnapshot) {
        world.stats.awaitedWarm += world.requestsBetween(iso, startedAt, world.engine.now);
      }
      if (iso.alive) this.scheduleConfig(iso, state);
    };
    call<number>(
      world,
      iso.loc,
      shard.server,
      (reply) => this.s.shardVersion(shard, reply),
      (version) => {
        if (version === null) return finish(false);
        if (version === iso.version) return finish(true);
        call<number>(
          world,
          iso.loc,
          shard.server,
          (reply) => this.s.shardLoad(shard, version, () => reply(shard.loaded)),
          (loaded) => {
            if (loaded === null) return finish(false);
            world.installed(iso, loaded);
            state.hasSnapshot = true;
            finish(true);
          },
        );
      },
    );
  }

  // ---- breaker: the isolate -----------------------------------------------

  pairAdded(pair: Pair): void {
    this.entries[pair.index] = {
      view: freshView(),
      coldSince: null,
      staleSince: null,
      ttl: stateTtlMs(false, this.world.engine.random),
      refreshing: false,
      trialAsking: false,
      flushAt: null,
      lastFlushAt: Number.NEGATIVE_INFINITY,
    };
    this.world.engine.at(this.world.nextCall(pair, this.world.engine.now), () => {
      const e = this.entry(pair);
      if (e.coldSince === null) e.coldSince = this.world.engine.now;
      this.read(pair);
    });
  }

  private entry(pair: Pair): Entry {
    return this.entries[pair.index] as Entry;
  }

  private learned(pair: Pair, snap: BreakerSnapshot): void {
    const e = this.entry(pair);
    const now = this.world.engine.now;
    e.view = learn(e.view, snap, now);
    e.ttl = stateTtlMs(unsettled(e.view, now, SETTINGS), this.world.engine.random);
    this.world.viewChanged(pair);
  }

  /** One background read through the shard; the next starts at the first call after the TTL. */
  private read(pair: Pair): void {
    const e = this.entry(pair);
    if (!pair.iso.alive || e.refreshing) return;
    e.refreshing = true;
    const shard = this.s.shardOf(pair);
    call<BreakerSnapshot>(
      this.world,
      pair.iso.loc,
      shard.server,
      (reply) => this.s.shardState(pair, shard, reply),
      (snap) => {
        e.refreshing = false;
        if (snap) this.learned(pair, snap);
        else e.view = { ...e.view, learnedAt: this.world.engine.now };
        if (!pair.iso.alive) return;
        this.world.engine.at(this.world.callAfter(pair, e.view.learnedAt + e.ttl), () => this.read(pair));
      },
    );
  }

  decide(pair: Pair, now: number): Decision {
    const e = this.entry(pair);
    if (e.coldSince === null) {
      e.coldSince = now;
      this.read(pair);
    }
    if (e.view.learnedAt === Number.NEGATIVE_INFINITY && now - e.coldSince < COLD_WAIT_MS) return "wait";
    if (now - e.view.learnedAt > e.ttl && !e.refreshing) this.read(pair);
    // A state older than STATE_MAX_STALE_MS is waited for (bounded by the cold wait), as in the client.
    if (now - e.view.learnedAt > STATE_MAX_STALE_MS && e.refreshing) {
      if (e.staleSince === null) {
        e.staleSince = now;
        this.world.stats.breakerWaits++;
      }
      if (now - e.staleSince < COLD_WAIT_MS) return "wait";
    } else e.staleSince = null;
    const v = verdict(e.view, now, LEASE_MS);
    e.view = v.view;
    if (v.verdict.kind === "admit") return "admit";
    if (v.verdict.kind === "ask-trial") this.askTrial(pair);
    return "refuse";
  }

  private askTrial(pair: Pair): void {
    const e = this.entry(pair);
    if (e.trialAsking) return;
    e.trialAsking = true;
    const shard = this.s.shardOf(pair);
    call<{ trial: boolean; snap: BreakerSnapshot }>(
      this.world,
      pair.iso.loc,
      shard.server,
      (reply) => this.s.shardTrial(pair, shard, (trial, snap) => reply({ trial, snap })),
      (answer) => {
        e.trialAsking = false;
        if (!answer) return;
        this.learned(pair, answer.snap);
        if (answer.trial) this.runTrial(pair);
      },
    );
  }

  private runTrial(pair: Pair): void {
    const world = this.world;
    const down = world.down(pair.backend, world.engine.now);
    if (down) world.stats.trialCalls.set(pair.backend.name, (world.stats.trialCalls.get(pair.backend.name) ?? 0) + 1);
    world.engine.after(WORKLOAD.failureLatencyMs, () => this.outcome(pair, !down, true));
  }

  admits(pair: Pair, now: number): boolean {
    const v = verdict(this.entry(pair).view, now, LEASE_MS).verdict;
    return v.kind === "admit" && !v.localTrial;
  }

  outcome(pair: Pair, ok: boolean, trial: boolean): void {
    const world = this.world;
    const e = this.entry(pair);
    const shard = this.s.shardOf(pair);
    if (trial) {
      // A global trial's outcome goes straight through the shard to the object.
      const object = this.objects[pair.backend.index] as BackendObject;
      call<BreakerSnapshot | null>(
        world,
        pair.iso.loc,
        shard.server,
        (reply) =>
          rpc(
            world,
            shard.server.home,
            object.server,
            (at) => object.report(undefined, ok, at),
            (snap) => {
              if (snap) this.s.shardLearn(shard, snap);
              reply(snap);
            },
          ),
        (snap) => snap && this.learned(pair, snap),
      );
      return;
    }
    const now = world.engine.now;
    const before = e.view;
    e.view = recordOutcome(e.view, ok ? "success" : "failure", SETTINGS, now).view;
    if (before !== e.view) world.viewChanged(pair);
    const u = urgency(e.view.pending, e.view.global, SETTINGS);
    if (u === "none") return;
    const at = now + flushDelayMs(u === "now", now - e.lastFlushAt, world.engine.random);
    if (e.flushAt !== null && e.flushAt <= at) return;
    e.flushAt = at;
    world.engine.at(at, () => {
      if (e.flushAt !== at) return;
      e.flushAt = null;
      this.flush(pair);
    });
  }

  private flush(pair: Pair): void {
    const e = this.entry(pair);
    if (urgency(e.view.pending, e.view.global, SETTINGS) === "none") return;
    const taken = takePending(e.view);
    e.view = taken.view;
    e.lastFlushAt = this.world.engine.now;
    const shard = this.s.shardOf(pair);
    call<BreakerSnapshot>(
      this.world,
      pair.iso.loc,
      shard.server,
      (reply) => this.s.shardReport(pair, shard, taken.batch, reply),
      (snap) => snap && this.learned(pair, snap),
    );
  }

  // ---- computed loads -----------------------------------------------------

  analytic(world: World): AnalyticLoads {
    const n = world.isolateCount;
    const linger = lingerMs(n);
    const tracesPerIsolate = WORKLOAD.callsPerIsolate;
    const keep = keepProbability(n, tracesPerIsolate);
    const spansPerSend = (tracesPerIsolate * WORKLOAD.spansPerCall * keep * linger) / 1000;
    // One send per linger: the kept spans (weighted, so the rollups still count every call).
    const messagesPerSend = Math.max(1, Math.ceil(spansPerSend / spansPerMessage()));
    const perSecond = (n * messagesPerSend * 1000) / linger;
    const stored = n * tracesPerIsolate * WORKLOAD.spansPerCall * keep;
    const hot = world.backends[0]?.total ?? 0;
    const perShardBudget = shardBudget(hot * 60, RATE_SHARDS, 0);
    return {
      queueMessagesPerSecond: perSecond,
      spansDroppedFraction: 0,
      d1SpanQueriesPerSecond: (stored / 500) * 3,
      rateLimiterRps: hot / RATE_SHARDS,
      rateLimiterNote: `shards: ${RATE_SHARDS} (sub-counter budget ${perShardBudget} per minute)`,
    };
  }
}
