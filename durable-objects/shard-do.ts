/**
 * ShardDO: the coordination shard between a bucket of isolates and the
 * objects and database they would otherwise all ask themselves (issue 20;
 * docs/design.md, "How coordination scales"). Isolates pick their bucket by
 * a hash of their random id (`src/util/shard-policy.ts`); a shard is
 * named by its role:
 *
 * - `breaker:<backend>:<bucket>` answers the breaker client with the same
 *   three calls the BackendDO has (`breakerState`, `tryAcquireTrial`,
 *   `report`). It re-reads the BackendDO at most once per SHARD_MAX_AGE_MS,
 *   forwards its isolates' outcome batches merged (at once when they may
 *   trip the breaker, one forward at a time; otherwise at most once per
 *   SHARD_FORWARD_MS), drops failures while the breaker is known not to be
 *   closed, and asks for the trial single-flight: of the isolates waiting on
 *   one request, one gets the trial.
 * - `config:<bucket>` answers the config cache's version check from D1 at
 *   most once per SHARD_MAX_AGE_MS, and serves the snapshot of a changed
 *   version, which it gets from `config:root` (the one shard that loads
 *   snapshots from D1), so an edit costs D1 one load.
 *
 * The backend's object and D1 thus see at most SHARD_COUNT readers, however
 * many isolates run. Everything here is memory: an evicted shard starts cold
 * and reads again (batches not yet forwarded are lost: the breaker sees
 * fewer outcomes, never a wrong one).
 */
import { DurableObject } from "cloudflare:workers";
import type { BreakerSettings, BreakerSnapshot, OutcomeBatch, TrialAnswer } from "../src/backends/breaker";
import { emptyBatch, mergeBatches, urgency } from "../src/backends/isolate-breaker";
import type { OutcomeReport } from "../src/backends/monitor";
import { loadSnapshotFrom } from "../src/config/d1-source";
import { readVersion } from "../src/config/db";
import type { ConfigSnapshot } from "../src/config/snapshot";
import type { Bindings } from "../src/env";
import { backendObject, shardObject } from "../src/stubs";
import { LruMap } from "../src/util/lru";
import {
  CONFIG_ROOT_NAME,
  estimateIsolates,
  SHARD_FORWARD_MS,
  SHARD_MAX_AGE_MS,
  SHARD_PRESENCE_MAX,
  SHARD_PRESENCE_MS,
} from "../src/util/shard-policy";

/** A shard's copy of one backend's breaker. */
interface BreakerCopy {
  snap: BreakerSnapshot;
  readAt: number;
  reading: Promise<BreakerSnapshot> | undefined;
  pending: OutcomeBatch;
  settings: BreakerSettings | undefined;
  forwarding: Promise<void> | undefined;
  forwardTimer: ReturnType<typeof setTimeout> | undefined;
  lastForwardAt: number;
  trialAsk: Promise<TrialAnswer> | undefined;
}

/** The config version a config shard answers, with its estimate of the deployment's isolates. */
export interface VersionAnswer {
  version: number;
  isolates: number;
}

const CLOSED_SNAPSHOT: BreakerSnapshot = { state: "closed", retryAt: null, consecutiveFailures: 0 };
/** A shard normally serves one backend; a few more names are kept in case several roles share it. */
const MAX_BACKENDS = 16;

export class ShardDO extends DurableObject<Bindings> {
  private readonly breakers = new LruMap<string, BreakerCopy>(MAX_BACKENDS);
  private version = { value: 0, readAt: Number.NEGATIVE_INFINITY, reading: undefined as Promise<number> | undefined };
  private snapshot: ConfigSnapshot | undefined;
  private loading: Promise<ConfigSnapshot> | undefined;
  private readonly present = new LruMap<string, number>(SHARD_PRESENCE_MAX);
  private presentCount = { value: 0, at: Number.NEGATIVE_INFINITY };

  /**
   * The copy for a backend as configured (`key`: the client's URL, transport
   * and settings): a changed backend starts over with a fresh read, as the
   * client does, rather than serving the old one's state for a second.
   */
  private copy(backend: string, key: string): BreakerCopy {
    const name = `${backend}\n${key.slice(0, 2_048)}`;
    let copy = this.breakers.get(name);
    if (!copy) {
      copy = {
        snap: CLOSED_SNAPSHOT,
        readAt: Number.NEGATIVE_INFINITY,
        reading: undefined,
        pending: emptyBatch(),
        settings: undefined,
        forwarding: undefined,
        forwardTimer: undefined,
        lastForwardAt: Number.NEGATIVE_INFINITY,
        trialAsk: undefined,
      };
      this.breakers.set(name, copy);
    }
    return copy;
  }

  private learn(copy: BreakerCopy, snap: BreakerSnapshot): BreakerSnapshot {
    copy.snap = { state: snap.state, retryAt: snap.retryAt, consecutiveFailures: snap.consecutiveFailures };
    copy.readAt = Date.now();
    // Failures counted for a breaker that is not closed change nothing (only its trial and probes decide).
    if (snap.state !== "closed") copy.pending = emptyBatch();
    return copy.snap;
  }

  /** The backend's breaker, read from its object at most once per SHARD_MAX_AGE_MS (single-flight). */
  async breakerState(backend: string, key = ""): Promise<BreakerSnapshot> {
    const copy = this.copy(backend, key);
    if (Date.now() - copy.readAt <= SHARD_MAX_AGE_MS) return copy.snap;
    copy.reading ??= backendObject(this.env, backend)
      .breakerState()
      .then((snap) => this.learn(copy, snap))
      .finally(() => {
        copy.reading = undefined;
      });
    return copy.reading;
  }

  /**
   * The trial, asked of the object one request at a time. A trial known to be
   * under way (half-open until its lease ends) is answered from memory.
   */
  async tryAcquireTrial(backend: string, leaseMs: number, key = ""): Promise<TrialAnswer> {
    const copy = this.copy(backend, key);
    const now = Date.now();
    const s = copy.snap;
    if (now - copy.readAt <= SHARD_MAX_AGE_MS && s.state !== "closed" && s.retryAt !== null && now < s.retryAt) {
      return { ...s, admitted: false, trial: false };
    }
    if (copy.trialAsk !== undefined) {
      // Someone else's request is out: its trial, if granted, is theirs.
      const answer = await copy.trialAsk;
      return answer.admitted && !answer.trial ? answer : { ...copy.snap, admitted: false, trial: false };
    }
    copy.trialAsk = backendObject(this.env, backend)
      .tryAcquireTrial(leaseMs)
      .then((answer) => {
        this.learn(copy, answer);
        return answer;
      })
      .finally(() => {
        copy.trialAsk = undefined;
      });
    return copy.trialAsk;
  }

  /** Outcomes from an isolate: a trial's goes straight on; batches are merged and forwarded (module comment). */
  async report(backend: string, settings: BreakerSettings, report: OutcomeReport, key = ""): Promise<BreakerSnapshot> {
    const copy = this.copy(backend, key);
    copy.settings = settings;
    if (report.trial !== undefined) {
      return this.learn(copy, await backendObject(this.env, backend).report(settings, { trial: report.trial }));
    }
    if (!report.batch || copy.snap.state !== "closed") return copy.snap;
    copy.pending = mergeBatches(copy.pending, report.batch);
    const due = urgency(copy.pending, copy.snap, settings);
    // What may trip goes at once; the rest too when nothing was forwarded for SHARD_FORWARD_MS.
    if (due === "now" || (due === "soon" && Date.now() - copy.lastForwardAt >= SHARD_FORWARD_MS)) {
      return this.forward(backend, copy);
    }
    if (due === "soon" && copy.forwardTimer === undefined) {
      const wait = Math.max(0, copy.lastForwardAt + SHARD_FORWARD_MS - Date.now());
      copy.forwardTimer = setTimeout(() => {
        copy.forwardTimer = undefined;
        this.ctx.waitUntil(this.forward(backend, copy).catch(() => undefined));
      }, wait);
    }
    return copy.snap;
  }

  /** Sends the merged batch, one forward at a time; answers with the breaker as the object then knew it. */
  private async forward(backend: string, copy: BreakerCopy): Promise<BreakerSnapshot> {
    while (copy.forwarding !== undefined) await copy.forwarding;
    const batch = copy.pending;
    const settings = copy.settings;
    if (!settings || (batch.successes === 0 && batch.failures === 0) || copy.snap.state !== "closed") return copy.snap;
    copy.pending = emptyBatch();
    copy.lastForwardAt = Date.now();
    const sent = backendObject(this.env, backend)
      .report(settings, { batch })
      .then(
        (snap) => void this.learn(copy, snap),
        () => undefined, // Lost: the breaker sees fewer outcomes, never a wrong one.
      );
    copy.forwarding = sent.finally(() => {
      copy.forwarding = undefined;
    });
    await copy.forwarding;
    return copy.snap;
  }

  /** The config version (from D1 at most once per SHARD_MAX_AGE_MS) and the deployment's estimated size. */
  async configVersion(isolateId: string): Promise<VersionAnswer> {
    const now = Date.now();
    this.present.set(isolateId.slice(0, 64), now);
    if (now - this.version.readAt > SHARD_MAX_AGE_MS) {
      this.version.reading ??= readVersion(this.env.DB)
        .then((value) => {
          this.version.value = value;
          this.version.readAt = Date.now();
          return value;
        })
        .finally(() => {
          this.version.reading = undefined;
        });
      await this.version.reading;
    }
    return { version: this.version.value, isolates: estimateIsolates(this.countPresent(now)) };
  }

  private countPresent(now: number): number {
    if (now - this.presentCount.at < 1_000) return this.presentCount.value;
    let n = 0;
    for (const seen of this.present.values()) if (now - seen <= SHARD_PRESENCE_MS) n++;
    this.presentCount = { value: n, at: now };
    return n;
  }

  /**
   * The snapshot of `version`: the one held when it is that version, else
   * loaded once (single-flight) from the root shard, or from D1 by the root.
   * The answer may be newer than asked for, never a held older one.
   */
  async configSnapshot(version: number, root: boolean): Promise<ConfigSnapshot> {
    if (this.snapshot && this.snapshot.version === version) return this.snapshot;
    this.loading ??= (
      root ? loadSnapshotFrom(this.env) : shardObject(this.env, CONFIG_ROOT_NAME).configSnapshot(version, true)
    )
      .then((snapshot) => {
        if (!this.snapshot || snapshot.version >= this.snapshot.version || snapshot.version === version) {
          this.snapshot = snapshot;
        }
        return snapshot;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
