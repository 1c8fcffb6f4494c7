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
import type { BreakerSnapshot, OutcomeBatch } from "../../src/backends/breaker.ts";
import {
  type BreakerView,
  freshView,
  learn,
  mergeBatches,
  recordOutcome,
  takePending,
  unsettled,
  urgency,
  verdict,
} from "../../src/backends/isolate-breaker.ts";
import { type CacheState, cacheStep, DEFAULT_CACHE_POLICY } from "../../src/config/cache-policy.ts";
import { keepProbability, lingerMs } from "../../src/observability/ship-policy.ts";
import { shardBudget } from "../../src/plugins/kinds/rate-shards.ts";
import {
  breakerShardName,
  CONFIG_ROOT_NAME,
  configShardName,
  flushDelayMs,
  SHARD_COUNT,
  SHARD_FORWARD_MS,
  SHARD_MAX_AGE_MS,
  STATE_MAX_STALE_MS,
  shardIndex,
  stateTtlMs,
} from "../../src/util/shard-policy.ts";
import { BackendObject, LEASE_MS, rpc, SETTINGS } from "../backend-object.ts";
import { hash32 } from "../engine.ts";
import { WORKLOAD } from "../params.ts";
import { spansPerMessage } from "../spans.ts";
import type { AnalyticLoads, Decision, Design, Isolate, Pair, Server, World } from "../world.ts";

/** The longest a first call waits for the breaker state (as today). */
const COLD_WAIT_MS = 300;
/** Statements of a full config load. */
const LOAD_STATEMENTS = 5;
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

/** A shard's side of one backend. */
interface BreakerShard {
  server: Server;
  snap: BreakerSnapshot;
  readAt: number;
  reading: Array<(s: BreakerSnapshot) => void> | null;
  pending: OutcomeBatch;
  forwardAt: number | null;
  lastForwardAt: number;
  trialAsking: Array<(trial: boolean, s: BreakerSnapshot) => void> | null;
  /** Replies waiting for the forward in flight (forwards are single-flight), or null. */
  forwarding: Array<(s: BreakerSnapshot) => void> | null;
}

interface ConfigShard {
  server: Server;
  version: number;
  readAt: number;
  reading: Array<(v: number) => void> | null;
  loaded: number;
  loading: Array<() => void> | null;
}

const CLOSED_SNAP: BreakerSnapshot = { state: "closed", retryAt: null, consecutiveFailures: 0 };
const EMPTY: OutcomeBatch = { successes: 0, failures: 0, trailingFailures: 0 };

/** A request to `server` whose handler answers later (`reply`), as a shard that awaits its own read does. */
function call<T>(
  world: World,
  loc: number,
  server: Server,
  handle: (reply: (r: T) => void) => void,
  done: (r: T | null) => void,
): void {
  const half = world.rtt(loc, server) / 2;
  const at = server.offer(world.engine.now + half);
  if (at === null) {
    world.engine.after(2 * half, () => done(null));
    return;
  }
  world.engine.at(at, () => handle((r) => world.engine.after(half, () => done(r))));
}

export class ShardedDesign implements Design {
  readonly name = "sharded";
  private world!: World;
  private objects: BackendObject[] = [];
  private entries: Entry[] = [];
  private shards = new Map<string, BreakerShard>();
  private configShards: ConfigShard[] = [];
  private configRoot!: ConfigShard;
  private configs = new Map<Isolate, CacheState>();

  attach(world: World): void {
    this.world = world;
    this.objects = world.backends.map((b) => new BackendObject(world, b));
    const make = (name: string): ConfigShard => ({
      server: world.server(`ShardDO:${name}`, "ShardDO", hash32(name) % WORKLOAD.locations, 1_000),
      version: 0,
      readAt: Number.NEGATIVE_INFINITY,
      reading: null,
      loaded: 0,
      loading: null,
    });
    for (let i = 0; i < SHARD_COUNT; i++) this.configShards.push(make(configShardName(i)));
    this.configRoot = make(CONFIG_ROOT_NAME);
  }

  private bucket(iso: Isolate): number {
    return shardIndex(`isolate-${iso.id}`);
  }

  // ---- config -------------------------------------------------------------

  start(iso: Isolate): void {
    const state: CacheState = {
      checkedAt: Number.NEGATIVE_INFINITY,
      hasSnapshot: false,
      checking: false,
      failedAt: Number.NEGATIVE_INFINITY,
    };
    this.configs.set(iso, state);
    this.check(iso, state, false);
  }

  private scheduleConfig(iso: Isolate, state: CacheState): void {
    const world = this.world;
    const due = Math.max(state.checkedAt + DEFAULT_CACHE_POLICY.freshMs, state.failedAt + DEFAULT_CACHE_POLICY.retryMs);
    world.engine.at(world.nextRequest(iso, Math.max(due, world.engine.now + 0.001)), () => {
      if (!iso.alive || state.checking) return;
      const step = cacheStep(state, world.engine.now, DEFAULT_CACHE_POLICY);
      if (step === "serve") this.scheduleConfig(iso, state);
      else this.check(iso, state, step === "wait");
    });
  }

  /** One check: the shard's version (read-through), then the snapshot from the shard if it changed. */
  private check(iso: Isolate, state: CacheState, waiting: boolean): void {
    const world = this.world;
    const shard = this.configShards[this.bucket(iso)] as ConfigShard;
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
      (reply) => this.shardVersion(shard, reply),
      (version) => {
        if (version === null) return finish(false);
        if (version === iso.version) return finish(true);
        call<number>(
          world,
          iso.loc,
          shard.server,
          (reply) => this.shardLoad(shard, version, () => reply(shard.loaded)),
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

  private shardVersion(shard: ConfigShard, reply: (v: number) => void): void {
    const world = this.world;
    if (world.engine.now - shard.readAt <= SHARD_MAX_AGE_MS) {
      reply(shard.version);
      return;
    }
    if (shard.reading) {
      shard.reading.push(reply);
      return;
    }
    shard.reading = [reply];
    rpc(
      world,
      shard.server.home,
      world.d1,
      () => world.version,
      (v) => {
        if (v !== null) {
          shard.version = v;
          shard.readAt = world.engine.now;
        }
        const waiting = shard.reading ?? [];
        shard.reading = null;
        for (const r of waiting) r(shard.version);
      },
    );
  }

  private shardLoad(shard: ConfigShard, version: number, reply: () => void): void {
    const world = this.world;
    if (shard.loaded >= version) {
      reply();
      return;
    }
    if (shard.loading) {
      shard.loading.push(reply);
      return;
    }
    shard.loading = [reply];
    const settle = (v: number | null) => {
      if (v !== null) shard.loaded = Math.max(shard.loaded, v);
      const waiting = shard.loading ?? [];
      shard.loading = null;
      for (const r of waiting) r();
    };
    if (shard === this.configRoot) {
      rpc(world, shard.server.home, world.d1, () => world.version, settle, LOAD_STATEMENTS);
      return;
    }
    const root = this.configRoot;
    call<number>(
      world,
      shard.server.home,
      root.server,
      (r) => this.shardLoad(root, version, () => r(root.loaded)),
      settle,
    );
  }

  // ---- breaker: the shard -------------------------------------------------

  private shardOf(pair: Pair): BreakerShard {
    const name = breakerShardName(pair.backend.name, this.bucket(pair.iso));
    let shard = this.shards.get(name);
    if (!shard) {
      shard = {
        server: this.world.server(`ShardDO:${name}`, "ShardDO", hash32(name) % WORKLOAD.locations, 1_000),
        snap: CLOSED_SNAP,
        readAt: Number.NEGATIVE_INFINITY,
        reading: null,
        pending: EMPTY,
        forwardAt: null,
        lastForwardAt: Number.NEGATIVE_INFINITY,
        trialAsking: null,
        forwarding: null,
      };
      this.shards.set(name, shard);
    }
    return shard;
  }

  private shardLearn(shard: BreakerShard, snap: BreakerSnapshot): void {
    shard.snap = snap;
    shard.readAt = this.world.engine.now;
    if (snap.state !== "closed") shard.pending = EMPTY;
  }

  /** `breakerState`: the shard's copy, re-read from the object when older than SHARD_MAX_AGE_MS. */
  private shardState(pair: Pair, shard: BreakerShard, reply: (s: BreakerSnapshot) => void): void {
    const world = this.world;
    if (world.engine.now - shard.readAt <= SHARD_MAX_AGE_MS) {
      reply(shard.snap);
      return;
    }
    if (shard.reading) {
      shard.reading.push(reply);
      return;
    }
    shard.reading = [reply];
    const object = this.objects[pair.backend.index] as BackendObject;
    rpc(
      world,
      shard.server.home,
      object.server,
      (at) => object.snapshot(at),
      (snap) => {
        if (snap) this.shardLearn(shard, snap);
        const waiting = shard.reading ?? [];
        shard.reading = null;
        for (const r of waiting) r(shard.snap);
      },
    );
  }

  /** `report`: merged; forwarded at once when it may trip, else at most once per SHARD_FORWARD_MS. */
  private shardReport(pair: Pair, shard: BreakerShard, batch: OutcomeBatch, reply: (s: BreakerSnapshot) => void) {
    const world = this.world;
    if (shard.snap.state !== "closed") {
      reply(shard.snap);
      return;
    }
    shard.pending = mergeBatches(shard.pending, batch);
    const u = urgency(shard.pending, shard.snap, SETTINGS);
    if (u === "now") {
      this.forward(pair, shard, reply);
      return;
    }
    if (u !== "none" && shard.forwardAt === null) {
      shard.forwardAt = Math.max(world.engine.now, shard.lastForwardAt + SHARD_FORWARD_MS);
      world.engine.at(shard.forwardAt, () => {
        shard.forwardAt = null;
        this.forward(pair, shard, () => undefined);
      });
    }
    reply(shard.snap);
  }

  private forward(pair: Pair, shard: BreakerShard, reply: (s: BreakerSnapshot) => void): void {
    const world = this.world;
    if (shard.forwarding) {
      // One forward at a time: what arrives meanwhile waits for its answer, then goes if still needed.
      shard.forwarding.push(reply);
      return;
    }
    const { batch } = takePending({ ...freshView(), pending: shard.pending });
    shard.pending = EMPTY;
    if (batch.successes === 0 && batch.failures === 0) {
      reply(shard.snap);
      return;
    }
    shard.lastForwardAt = world.engine.now;
    shard.forwarding = [reply];
    const object = this.objects[pair.backend.index] as BackendObject;
    rpc(
      world,
      shard.server.home,
      object.server,
      (at) => object.report(batch, undefined, at),
      (snap) => {
        if (snap) this.shardLearn(shard, snap);
        const waiting = shard.forwarding ?? [];
        shard.forwarding = null;
        const [first, ...rest] = waiting;
        first?.(shard.snap);
        if (rest.length === 0) return;
        if (urgency(shard.pending, shard.snap, SETTINGS) === "now") {
          this.forward(pair, shard, (s) => {
            for (const r of rest) r(s);
          });
        } else for (const r of rest) r(shard.snap);
      },
    );
  }

  /** `tryAcquireTrial`: one request to the object at a time; of those waiting on it, one gets the trial. */
  private shardTrial(pair: Pair, shard: BreakerShard, reply: (trial: boolean, s: BreakerSnapshot) => void): void {
    const world = this.world;
    const s = shard.snap;
    const fresh = world.engine.now - shard.readAt <= SHARD_MAX_AGE_MS;
    if (fresh && s.state !== "closed" && s.retryAt !== null && world.engine.now < s.retryAt) {
      reply(false, s);
      return;
    }
    if (shard.trialAsking) {
      shard.trialAsking.push(reply);
      return;
    }
    shard.trialAsking = [reply];
    const object = this.objects[pair.backend.index] as BackendObject;
    rpc(
      world,
      shard.server.home,
      object.server,
      (at) => object.tryAcquireTrial(at),
      (answer) => {
        if (answer) this.shardLearn(shard, answer);
        const waiting = shard.trialAsking ?? [];
        shard.trialAsking = null;
        waiting.forEach((r, i) => {
          r(answer?.trial === true && i === 0, shard.snap);
        });
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
    const shard = this.shardOf(pair);
    call<BreakerSnapshot>(
      this.world,
      pair.iso.loc,
      shard.server,
      (reply) => this.shardState(pair, shard, reply),
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
    const shard = this.shardOf(pair);
    call<{ trial: boolean; snap: BreakerSnapshot }>(
      this.world,
      pair.iso.loc,
      shard.server,
      (reply) => this.shardTrial(pair, shard, (trial, snap) => reply({ trial, snap })),
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
    const shard = this.shardOf(pair);
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
              if (snap) this.shardLearn(shard, snap);
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
    const shard = this.shardOf(pair);
    call<BreakerSnapshot>(
      this.world,
      pair.iso.loc,
      shard.server,
      (reply) => this.shardReport(pair, shard, taken.batch, reply),
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
