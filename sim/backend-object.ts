/**
 * A backend's Durable Object as the simulation sees it: the breaker (the
 * project's own pure transitions, `src/backends/breaker.ts`), the health
 * probe schedule (interval ±20%, pulled in to the end of the cooldown while
 * open, as `src/backends/monitor.ts` does), and a request capacity.
 */
import {
  acquireTrial,
  applyBatch,
  type Breaker,
  type BreakerSettings,
  type BreakerSnapshot,
  CLOSED,
  effectiveState,
  type OutcomeBatch,
  probeAfterCooldown,
  recordFailures,
  recordSuccess,
  releaseTrial,
  retryAt,
} from "../src/backends/breaker.ts";
import type { Engine } from "./engine.ts";
import { WORKLOAD } from "./params.ts";
import type { Backend, Server, World } from "./world.ts";

export const SETTINGS: BreakerSettings = {
  failureThreshold: WORKLOAD.failureThreshold,
  cooldownMs: WORKLOAD.cooldownMs,
};
/** The trial lease: the backend's timeout (30 s) plus 5 s, as `trialLeaseMs` gives. */
export const LEASE_MS = 35_000;

/** The breaker and health schedule of one backend. */
export class BackendObject {
  breaker: Breaker = CLOSED;
  private alarmAt: number;
  private alarmSeq = 0;

  constructor(
    private readonly world: World,
    readonly backend: Backend,
  ) {
    this.alarmAt = this.engine.random() * WORKLOAD.healthIntervalMs;
    this.arm(this.alarmAt);
  }

  private get engine(): Engine {
    return this.world.engine;
  }

  get server(): Server {
    return this.backend.object;
  }

  snapshot(now: number): BreakerSnapshot {
    const b = this.breaker;
    return { state: effectiveState(b, now), retryAt: retryAt(b, now), consecutiveFailures: b.consecutiveFailures };
  }

  private commit(next: Breaker): void {
    const previous = this.breaker;
    this.breaker = next;
    if (next.state === "open" && next.openedAt !== previous.openedAt) {
      const at = probeAfterCooldown(next, this.engine.random);
      if (at !== null && at < this.alarmAt) this.arm(at);
    }
  }

  report(batch: OutcomeBatch | undefined, trial: boolean | undefined, now: number): BreakerSnapshot {
    let next = this.breaker;
    if (batch) next = applyBatch(next, SETTINGS, batch, now);
    if (trial !== undefined) next = trial ? recordSuccess(next, now, true) : recordFailures(next, SETTINGS, now);
    this.commit(next);
    return this.snapshot(now);
  }

  tryAcquireTrial(now: number): BreakerSnapshot & { admitted: boolean; trial: boolean } {
    const admission = acquireTrial(this.breaker, now, LEASE_MS);
    this.commit(admission.breaker);
    return { admitted: admission.admitted, trial: admission.trial, ...this.snapshot(now) };
  }

  /** The trial ended without telling anything (the call was cancelled): the next caller may try. */
  release(): void {
    this.commit(releaseTrial(this.breaker));
  }

  private arm(at: number): void {
    this.alarmAt = at;
    const seq = ++this.alarmSeq;
    this.engine.at(at, () => {
      if (seq === this.alarmSeq) this.probe();
    });
  }

  /** The alarm: probe (its own connection, not a client call), feed the breaker, re-arm. */
  private probe(): void {
    const now = this.engine.now;
    const down = this.world.down(this.backend, now);
    this.engine.after(WORKLOAD.failureLatencyMs, () => {
      const t = this.engine.now;
      this.commit(down ? recordFailures(this.breaker, SETTINGS, t) : recordSuccess(this.breaker, t, true));
      const jitter = 0.8 + 0.4 * this.engine.random();
      let at = t + WORKLOAD.healthIntervalMs * jitter;
      const afterCooldown = probeAfterCooldown(this.breaker, this.engine.random);
      if (afterCooldown !== null) at = Math.min(at, Math.max(afterCooldown, t + 1_000));
      this.arm(at);
    });
  }
}

/**
 * One request from an isolate (or object) at `loc` to `server`: it arrives
 * half a round trip after it was sent, waits its turn there, is handled, and
 * is answered half a round trip later; `null` when the object was overloaded.
 */
export function rpc<T>(
  world: World,
  loc: number,
  server: Server,
  handle: (at: number) => T,
  done: (r: T | null) => void,
  /** Statements or requests the call carries (a D1 batch). */
  count = 1,
): void {
  const engine = world.engine;
  const half = world.rtt(loc, server) / 2;
  const handledAt = server.offer(engine.now + half, count);
  if (handledAt === null) {
    engine.after(2 * half, () => done(null));
    return;
  }
  engine.at(handledAt, () => {
    const result = handle(engine.now);
    engine.after(half, () => done(result));
  });
}
