/**
 * The shard side of the sharded design (`durable-objects/shard-do.ts` as the
 * simulation sees it): config shards and their root, one breaker shard per
 * backend and bucket, with the same single-flight reads, merged forwards and
 * shared trial requests, and `call`, a request whose handler answers later.
 */
import type { BreakerSnapshot, OutcomeBatch } from "../../src/backends/breaker.ts";
import { freshView, mergeBatches, takePending, urgency } from "../../src/backends/isolate-breaker.ts";
import {
  breakerShardName,
  CONFIG_ROOT_NAME,
  configShardName,
  SHARD_COUNT,
  SHARD_FORWARD_MS,
  SHARD_MAX_AGE_MS,
  shardIndex,
} from "../../src/util/shard-policy.ts";
import { type BackendObject, rpc, SETTINGS } from "../backend-object.ts";
import { hash32 } from "../engine.ts";
import { WORKLOAD } from "../params.ts";
import type { Isolate, Pair, Server, World } from "../world.ts";

/** Statements of a full config load. */
const LOAD_STATEMENTS = 5;

/** A shard's side of one backend. */
export interface BreakerShard {
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

export interface ConfigShard {
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
export function call<T>(
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

/** Every shard of one run. */
export class Shards {
  readonly configShards: ConfigShard[] = [];
  readonly configRoot: ConfigShard;
  private readonly shards = new Map<string, BreakerShard>();

  constructor(
    private readonly world: World,
    private readonly objects: BackendObject[],
  ) {
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

  /** The bucket of an isolate (its id hashed, as the gateway hashes its random id). */
  bucket(iso: Isolate): number {
    return shardIndex(`isolate-${iso.id}`);
  }

  // ---- config -------------------------------------------------------------

  shardVersion(shard: ConfigShard, reply: (v: number) => void): void {
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

  shardLoad(shard: ConfigShard, version: number, reply: () => void): void {
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

  shardOf(pair: Pair): BreakerShard {
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

  shardLearn(shard: BreakerShard, snap: BreakerSnapshot): void {
    shard.snap = snap;
    shard.readAt = this.world.engine.now;
    if (snap.state !== "closed") shard.pending = EMPTY;
  }

  /** `breakerState`: the shard's copy, re-read from the object when older than SHARD_MAX_AGE_MS. */
  shardState(pair: Pair, shard: BreakerShard, reply: (s: BreakerSnapshot) => void): void {
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
  shardReport(pair: Pair, shard: BreakerShard, batch: OutcomeBatch, reply: (s: BreakerSnapshot) => void) {
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

  forward(pair: Pair, shard: BreakerShard, reply: (s: BreakerSnapshot) => void): void {
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
  shardTrial(pair: Pair, shard: BreakerShard, reply: (trial: boolean, s: BreakerSnapshot) => void): void {
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
}
