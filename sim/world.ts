/**
 * The simulated deployment both designs run in: isolates spread over
 * locations (they start, get evicted and are replaced by cold ones), backends
 * with their call rates and outages, objects with a capacity (Durable
 * Objects, D1), config versions, and what the report measures.
 *
 * Calls are not events: each isolate calls each backend on a fixed schedule
 * (`phase + k / rate`), so the calls in any interval are known without
 * simulating them. Only calls during an outage (and until the isolate admits
 * the recovered backend again) are events, because their failures feed the
 * breaker. A design sees the world through `Design`.
 */
import { type Engine, hash32 } from "./engine";
import { LIMITS, RTT, WORKLOAD } from "./params";
import { Server, type ServerKind } from "./server";

export { Server, type ServerKind } from "./server";

/** One isolate of the deployment. */
export class Isolate {
  alive = true;
  /** The config version it serves (−1 before its first load). */
  version = -1;
  /** Offset of its call schedule in [0, 1). */
  readonly phase: number;

  constructor(
    readonly id: number,
    readonly loc: number,
    readonly bornAt: number,
    random: () => number,
  ) {
    this.phase = random();
  }
}

/** A simulated backend. */
export interface Backend {
  index: number;
  name: string;
  /** Calls a second per isolate. */
  rate: number;
  /** Calls a second across the deployment (for the report). */
  total: number;
  /** [from, until) when it refuses every call, or null. */
  outage: { from: number; until: number } | null;
  object: Server;
}

/** One isolate's traffic to one backend. */
export interface Pair {
  index: number;
  iso: Isolate;
  backend: Backend;
  /** Whether a chain of call events runs for it (during an outage, until it admits again). */
  chaining: boolean;
  /** Last call that reached the backend while it was down (not a trial), or −Infinity. */
  lastDeadCall: number;
  /** When it admitted calls again after the recovery, or null. */
  reopenedAt: number | null;
}

/**
 * What a call does, as the design decides at the moment of the call: `wait`
 * when it waits for a coordination answer (asked again a little later, as
 * the same call).
 */
export type Decision = "admit" | "trial" | "refuse" | "wait";

/** A coordination design under test. */
export interface Design {
  readonly name: string;
  /** An isolate started (cold). */
  start(iso: Isolate): void;
  /** A pair exists (the isolate will call the backend). */
  pairAdded(pair: Pair): void;
  /** What a call at `now` gets. */
  decide(pair: Pair, now: number): Decision;
  /** An admitted call ended (`trial`: it was the half-open breaker's trial). */
  outcome(pair: Pair, ok: boolean, trial: boolean): void;
  /** Whether the pair would admit a call now (for recovery times). */
  admits(pair: Pair, now: number): boolean;
  /** Loads that are computed rather than simulated (spans, rate limiting). */
  analytic(world: World): AnalyticLoads;
}

export interface AnalyticLoads {
  queueMessagesPerSecond: number;
  spansDroppedFraction: number;
  d1SpanQueriesPerSecond: number;
  rateLimiterRps: number;
  rateLimiterNote: string;
}

/** A config version bump and which isolates still serve an older version. */
interface Bump {
  version: number;
  at: number;
  label: "edit" | "revocation";
  pending: Set<Isolate>;
  slowest: number;
}

/** How often a waiting call looks again whether its answer came. */
const WAIT_POLL_MS = 10;

/** Deterministic pseudo-distance between two locations in [0, 1). */
function distance(a: number, b: number): number {
  if (a === b) return 0;
  const [x, y] = a < b ? [a, b] : [b, a];
  return (hash32(`${x}-${y}`) % 1000) / 1000;
}

export class World {
  readonly isolates: Isolate[] = [];
  readonly pairs: Pair[] = [];
  readonly backends: Backend[];
  readonly servers: Server[] = [];
  readonly d1: Server;
  version = 1;
  private readonly bumps: Bump[] = [];
  private nextIsolateId = 0;
  /** Weights of the locations (Zipf-like: a few big ones, many small). */
  private readonly locationWeights: number[];
  readonly stats = {
    deadCalls: new Map<string, number>(),
    deadCallsAfter5s: new Map<string, number>(),
    /** Calls attempted during the outage (after its first 5 s). */
    attemptedAfter5s: new Map<string, number>(),
    trialCalls: new Map<string, number>(),
    /** Requests that waited for a coordination round trip on an isolate that already had config. */
    awaitedWarm: 0,
    /** Calls that waited for a read of a breaker state older than STATE_MAX_STALE_MS (a backend not called for 5 s). */
    breakerWaits: 0,
  };

  constructor(
    readonly engine: Engine,
    readonly isolateCount: number,
    readonly design: Design,
  ) {
    const w = WORKLOAD;
    const per = w.callsPerIsolate;
    const ordinaryRate = (per * (1 - w.hotShare - w.sparseShare)) / w.ordinaryBackends;
    const outage = { from: w.outageAt, until: w.recoveryAt };
    this.backends = [
      this.backend(0, "hot", per * w.hotShare, outage),
      this.backend(1, "sparse", per * w.sparseShare, outage),
      this.backend(2, "ordinary", ordinaryRate, null),
    ];
    this.d1 = this.server("D1", "D1", 0, LIMITS.d1Qps);
    this.locationWeights = Array.from({ length: w.locations }, (_, i) => 1 / (i + 1) ** 0.6);
  }

  private backend(index: number, name: string, rate: number, outage: Backend["outage"]): Backend {
    const object = this.server(
      `BackendDO:${name}`,
      "BackendDO",
      hash32(name) % WORKLOAD.locations,
      LIMITS.durableObjectRps,
    );
    return { index, name, rate, total: rate * this.isolateCount, outage, object };
  }

  /** Registers an object with a capacity. */
  server(name: string, kind: ServerKind, home: number, capacity: number): Server {
    const s = new Server(name, kind, home, capacity);
    this.servers.push(s);
    return s;
  }

  /** Round trip between a location and an object's location. */
  rtt(loc: number, server: Server): number {
    if (loc === server.home) return RTT.local;
    return RTT.base + RTT.spread * distance(loc, server.home);
  }

  /** Whether `backend` refuses calls at `t`. */
  down(backend: Backend, t: number): boolean {
    return backend.outage !== null && t >= backend.outage.from && t < backend.outage.until;
  }

  /** The first call of `pair` at or after `t`. */
  nextCall(pair: Pair, t: number): number {
    const gap = 1000 / pair.backend.rate;
    const offset = pair.iso.phase * gap + pair.iso.bornAt;
    const k = Math.max(0, Math.ceil((t - offset) / gap));
    const at = offset + k * gap;
    return at < t ? at + gap : at;
  }

  /** The first call of `pair` strictly after `t`. */
  callAfter(pair: Pair, t: number): number {
    const at = this.nextCall(pair, t);
    return at <= t ? at + 1000 / pair.backend.rate : at;
  }

  /** The isolate's first request of any kind at or after `t` (it serves `callsPerIsolate` a second). */
  nextRequest(iso: Isolate, t: number): number {
    const gap = 1000 / WORKLOAD.callsPerIsolate;
    const offset = iso.phase * gap + iso.bornAt;
    const at = offset + Math.max(0, Math.ceil((t - offset) / gap)) * gap;
    return at < t ? at + gap : at;
  }

  /** Requests the isolate serves in [from, until). */
  requestsBetween(iso: Isolate, from: number, until: number): number {
    if (until <= from) return 0;
    const gap = 1000 / WORKLOAD.callsPerIsolate;
    const offset = iso.phase * gap + iso.bornAt;
    return Math.max(0, Math.ceil((until - offset) / gap) - Math.ceil((from - offset) / gap));
  }

  /** Starts the run: isolates over the start window, churn, config bumps, outages. */
  begin(): void {
    const w = WORKLOAD;
    for (let i = 0; i < this.isolateCount; i++) {
      const at = this.engine.random() * w.startWindowMs;
      const loc = this.pickLocation();
      this.engine.at(at, () => this.spawn(loc));
    }
    this.engine.at(w.configEditAt, () => this.bump("edit"));
    this.engine.at(w.revocationAt, () => this.bump("revocation"));
    for (const b of this.backends) {
      if (!b.outage) continue;
      this.engine.at(b.outage.from, () => {
        for (const pair of this.pairs) if (pair.backend === b && pair.iso.alive) this.chain(pair);
      });
    }
  }

  private pickLocation(): number {
    const total = this.locationWeights.reduce((a, b) => a + b, 0);
    let r = this.engine.random() * total;
    for (let i = 0; i < this.locationWeights.length; i++) {
      r -= this.locationWeights[i] as number;
      if (r <= 0) return i;
    }
    return 0;
  }

  private spawn(loc: number): void {
    const now = this.engine.now;
    const iso = new Isolate(this.nextIsolateId++, loc, now, this.engine.random);
    this.isolates.push(iso);
    const lifetime = -Math.log(1 - this.engine.random()) * WORKLOAD.meanLifetimeMs;
    this.engine.after(lifetime, () => {
      iso.alive = false;
      for (const bump of this.bumps) bump.pending.delete(iso);
      this.spawn(loc);
    });
    this.design.start(iso);
    for (const backend of this.backends) {
      const pair: Pair = {
        index: this.pairs.length,
        iso,
        backend,
        chaining: false,
        lastDeadCall: Number.NEGATIVE_INFINITY,
        reopenedAt: null,
      };
      this.pairs.push(pair);
      this.design.pairAdded(pair);
      if (this.down(backend, now)) this.chain(pair);
    }
  }

  /** A config write: the version goes up; every live isolate must come to serve it. */
  private bump(label: Bump["label"]): void {
    this.version++;
    const pending = new Set(this.isolates.filter((i) => i.alive));
    this.bumps.push({ version: this.version, at: this.engine.now, label, pending, slowest: 0 });
  }

  /** The isolate now serves `version`. */
  installed(iso: Isolate, version: number): void {
    if (version <= iso.version) return;
    iso.version = version;
    for (const bump of this.bumps) {
      if (bump.version <= version && bump.pending.delete(iso)) {
        bump.slowest = Math.max(bump.slowest, this.engine.now - bump.at);
      }
    }
  }

  /** How long the slowest isolate took to serve the edit and the revocation (Infinity: some never did). */
  propagation(label: Bump["label"]): number {
    const bump = this.bumps.find((b) => b.label === label);
    if (!bump) return Number.NaN;
    return bump.pending.size > 0 ? Number.POSITIVE_INFINITY : bump.slowest;
  }

  /** Runs call events for `pair` while its backend is down, and until it admits calls again. */
  chain(pair: Pair): void {
    if (pair.chaining || !pair.iso.alive) return;
    pair.chaining = true;
    const step = (at: number) => {
      this.engine.at(at, () => {
        const now = this.engine.now;
        if (!pair.iso.alive) {
          pair.chaining = false;
          return;
        }
        const down = this.down(pair.backend, now);
        const outage = pair.backend.outage;
        const decision = this.design.decide(pair, now);
        if (decision === "wait") {
          step(now + WAIT_POLL_MS);
          return;
        }
        if (down && outage && now >= outage.from + 5_000) {
          const name = pair.backend.name;
          this.stats.attemptedAfter5s.set(name, (this.stats.attemptedAfter5s.get(name) ?? 0) + 1);
        }
        if (!down && outage && now >= outage.until && decision === "admit") {
          pair.reopenedAt ??= now;
          pair.chaining = false;
          return;
        }
        if (decision !== "refuse") {
          if (down) {
            this.countDead(pair, now, decision === "trial");
            this.engine.after(WORKLOAD.failureLatencyMs, () => this.design.outcome(pair, false, decision === "trial"));
          } else {
            this.engine.after(WORKLOAD.failureLatencyMs, () => this.design.outcome(pair, true, decision === "trial"));
          }
        }
        step(this.callAfter(pair, now));
      });
    };
    step(this.nextCall(pair, this.engine.now));
  }

  private countDead(pair: Pair, now: number, trial: boolean): void {
    const name = pair.backend.name;
    const add = (m: Map<string, number>) => m.set(name, (m.get(name) ?? 0) + 1);
    if (trial) {
      add(this.stats.trialCalls);
      return;
    }
    add(this.stats.deadCalls);
    pair.lastDeadCall = now;
    if (pair.backend.outage && now >= pair.backend.outage.from + 5_000) add(this.stats.deadCallsAfter5s);
  }

  /** The pair's view changed: if its backend recovered and it admits now, it reopened. */
  viewChanged(pair: Pair): void {
    const outage = pair.backend.outage;
    const now = this.engine.now;
    if (!outage || now < outage.until || pair.reopenedAt !== null) return;
    if (this.design.admits(pair, now)) pair.reopenedAt = now;
  }

  /** The share of the calls attempted after the outage's first 5 s that reached the dead backend. */
  deadFractionAfter5s(backend: Backend): number {
    const attempted = this.stats.attemptedAfter5s.get(backend.name) ?? 0;
    return attempted === 0 ? 0 : (this.stats.deadCallsAfter5s.get(backend.name) ?? 0) / attempted;
  }

  /** How long after the outage began the last (non-trial) call reached the dead backend. */
  stopTime(backend: Backend): number {
    if (!backend.outage) return Number.NaN;
    let last = backend.outage.from;
    for (const pair of this.pairs) if (pair.backend === backend) last = Math.max(last, pair.lastDeadCall);
    return last - backend.outage.from;
  }

  /** How long after the recovery the last isolate that had traffic admitted calls again. */
  recoveryTime(backend: Backend): number {
    if (!backend.outage) return Number.NaN;
    let slowest = 0;
    for (const pair of this.pairs) {
      if (pair.backend !== backend || !pair.iso.alive || pair.iso.bornAt > backend.outage.until) continue;
      if (pair.reopenedAt === null) {
        // Never called it again (a sparse pair): judged by whether it would admit a call at the end.
        if (!this.design.admits(pair, this.engine.now)) return Number.POSITIVE_INFINITY;
        continue;
      }
      slowest = Math.max(slowest, pair.reopenedAt - backend.outage.until);
    }
    return slowest;
  }

  /** The busiest object of `kinds` from the measurement start on. */
  busiest(kinds: readonly ServerKind[]): { name: string; peak: number; mean: number; rejected: number } {
    let best = { name: "-", peak: 0, mean: 0, rejected: 0 };
    for (const s of this.servers) {
      if (!kinds.includes(s.kind)) continue;
      const load = s.load(WORKLOAD.measureFromMs, WORKLOAD.durationMs);
      if (load.peak > best.peak) best = { name: s.name, ...load, rejected: s.rejected };
    }
    return best;
  }
}
