/**
 * The circuit breaker and health schedule of one backend. Lives inside the
 * backend's Durable Object (`BackendDO`), the one place its breaker state
 * changes; isolates cache what it answers (`breaker-client.ts`).
 *
 * Storage is the object's SQLite (`monitor` table, a few small rows): the
 * backend's config as the admin API last pushed it (header values sealed as
 * in D1; the object never reads D1), the breaker, the last probe's result and
 * the probe session. Every method is synchronous SQL around at most one
 * upstream exchange; nothing is held across it (design rule 4).
 *
 * Health schedule: one alarm. Each run probes (`probe.ts`), records the
 * result, feeds the breaker, and re-arms `healthIntervalSeconds` later with
 * ±20% jitter, so probes of many backends spread out (design rule 7); while
 * the breaker is open the next run is pulled in to when the cooldown ends, so
 * a recovered backend closes its breaker without waiting for traffic. The
 * alarm re-arms even when the probe throws. Disabling or deleting the backend
 * stops it (`stop`, `forget`), and leaves a tombstone so an isolate with an
 * older config cannot start it again.
 */
import { encryptHeaders, keyRing, openHeaders } from "../config/header-crypto";
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { BackendFailure } from "../upstream/failure";
import { terminate } from "../upstream/http";
import type { LegacyPoster, UpstreamSession } from "../upstream/types";
import {
  acquireTrial,
  applyBatch,
  type Breaker,
  type BreakerSettings,
  type BreakerSnapshot,
  type BreakerState,
  breakerSettings,
  CLOSED,
  effectiveState,
  type OutcomeBatch,
  probeAfterCooldown,
  recordFailures,
  recordSuccess,
  releaseTrial,
  retryAt,
  type TrialAnswer,
} from "./breaker";
import { type CallOutcome, outcomeOf } from "./outcome";
import { type EraStore, probe } from "./probe";

export type { BreakerSnapshot, TrialAnswer } from "./breaker";

/** What an isolate reports: a batch of ordinary outcomes and/or the outcome of its trial call. */
export interface OutcomeReport {
  batch?: OutcomeBatch;
  trial?: CallOutcome;
}

/** `GET /api/backends/:name/health`. Times are ISO 8601 strings or null. */
export interface HealthView {
  breaker: BreakerState;
  healthy: boolean;
  consecutiveFailures: number;
  lastCheckAt: string | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  nextCheckAt: string | null;
  retryAt?: string;
}

interface HealthRecord {
  lastCheckAt: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  lastOk: boolean | null;
}

type StoredConfig = Omit<BackendConfig, "headers"> & { sealedHeaders: string | null };

const NO_HEALTH: HealthRecord = { lastCheckAt: null, lastLatencyMs: null, lastError: null, lastOk: null };

/** Probes are spread ±20% around the interval. */
export const PROBE_JITTER = 0.2;
/** While open, the earliest the next probe runs after the previous one. */
const MIN_PROBE_GAP_MS = 1_000;

/** The delay to the next probe: the interval ±20%. */
export function nextCheckDelayMs(intervalSeconds: number, random: () => number = Math.random): number {
  return Math.round(intervalSeconds * 1000 * (1 - PROBE_JITTER + 2 * PROBE_JITTER * random()));
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A probe error as the health view shows it (BackendFailure messages are written to be shown). */
function describe(err: unknown): string {
  if (err instanceof BackendFailure) return err.message;
  return "Probe failed";
}

export class BackendMonitor {
  private breakerValue: Breaker | undefined;
  private configValue: BackendConfig | null | undefined;
  /** Bumped by configure/stop: a probe that started before must not record its result. */
  private generation = 0;
  private probing: Promise<void> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Bindings,
    /** How probes reach a legacy-SSE backend from inside its own object. */
    private readonly via?: LegacyPoster,
    /** The backend's protocol era, kept by its object: probes use and correct it. */
    private readonly eras?: EraStore,
  ) {
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS monitor (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  private read<T>(key: string): T | null {
    const row = this.ctx.storage.sql
      .exec<{ value: string }>("SELECT value FROM monitor WHERE key = ?", key)
      .toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private write(key: string, value: unknown): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO monitor (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }

  private remove(key: string): void {
    this.ctx.storage.sql.exec("DELETE FROM monitor WHERE key = ?", key);
  }

  private get breaker(): Breaker {
    this.breakerValue ??= this.read<Breaker>("breaker") ?? CLOSED;
    return this.breakerValue;
  }

  /** Stores a new breaker; when it has just opened, pulls the next probe in to the end of the cooldown. */
  private async commit(next: Breaker): Promise<void> {
    const previous = this.breaker;
    if (next === previous) return;
    this.breakerValue = next;
    this.write("breaker", next);
    if (next.state === "open" && next.openedAt !== previous.openedAt) {
      const at = probeAfterCooldown(next);
      if (at !== null) await this.pullAlarm(at);
    }
  }

  private async pullAlarm(at: number): Promise<void> {
    if (this.stopped() || !this.read<StoredConfig>("config")) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private stopped(): boolean {
    return this.read<number>("stopped") !== null;
  }

  /** The config the admin API pushed (headers decrypted), or null. */
  async config(): Promise<BackendConfig | null> {
    if (this.configValue !== undefined) return this.configValue;
    const stored = this.read<StoredConfig>("config");
    if (!stored) {
      this.configValue = null;
      return null;
    }
    const { sealedHeaders, ...rest } = stored;
    // A key the deployment no longer has flags this backend (its calls fail clearly), never throws.
    const opened = await openHeaders(sealedHeaders, await keyRing(this.env).catch(() => null));
    this.configValue = { ...rest, headers: opened.headers, ...(!opened.readable && { headersUnreadable: true }) };
    return this.configValue;
  }

  private snapshot(): BreakerSnapshot {
    const now = Date.now();
    const b = this.breaker;
    return { state: effectiveState(b, now), retryAt: retryAt(b, now), consecutiveFailures: b.consecutiveFailures };
  }

  /**
   * Stores the backend's config and starts (or keeps) its health schedule.
   * A new URL or transport is a new endpoint: breaker, health and probe
   * session start over, and the probe is rescheduled, as on a new interval.
   * Returns whether the endpoint changed (the caller drops its catalogs).
   */
  async configure(backend: BackendConfig): Promise<boolean> {
    const previous = await this.config();
    const endpointChanged = !previous || previous.url !== backend.url || previous.transport !== backend.transport;
    const wasStopped = this.stopped();
    this.generation++;
    if (endpointChanged && previous) {
      this.dropProbeSession(previous);
      this.remove("health");
      await this.commit(CLOSED);
    }
    const sealedHeaders =
      Object.keys(backend.headers).length > 0 ? await encryptHeaders(backend.headers, await keyRing(this.env)) : null;
    const { headers: _plain, auth, ...others } = backend;
    // The object needs only whether the backend uses upstream OAuth (its probe), never the client secret.
    const rest = { ...others, ...(auth && { auth: { ...auth, clientSecret: null } }) };
    this.write("config", { ...rest, sealedHeaders } satisfies StoredConfig);
    this.configValue = backend;
    this.remove("stopped");
    const alarm = await this.ctx.storage.getAlarm();
    if (
      alarm === null ||
      endpointChanged ||
      wasStopped ||
      previous?.healthIntervalSeconds !== backend.healthIntervalSeconds
    ) {
      await this.schedule(backend);
    }
    return endpointChanged;
  }

  /**
   * Configures a backend this object has never heard of (e.g. registered
   * before health checks existed), from the config a caller passed. A
   * stopped (disabled or deleted) backend stays stopped.
   */
  async adopt(backend: BackendConfig): Promise<void> {
    if (this.configValue !== undefined && this.configValue !== null) return;
    if (this.stopped() || this.read<StoredConfig>("config")) return;
    await this.configure(backend);
  }

  /** The backend was disabled: no more probes until it is configured again. */
  async stop(): Promise<void> {
    this.generation++;
    this.write("stopped", Date.now());
    await this.ctx.storage.deleteAlarm();
    const config = await this.config();
    if (config) this.dropProbeSession(config);
  }

  /** The backend was deleted: stop, and forget its config, breaker and health (the tombstone stays). */
  async forget(): Promise<void> {
    await this.stop();
    for (const key of ["config", "breaker", "health"]) this.remove(key);
    this.breakerValue = CLOSED;
    this.configValue = null;
  }

  private dropProbeSession(config: BackendConfig): void {
    const session = this.read<UpstreamSession>("probe-session");
    this.remove("probe-session");
    if (session) this.ctx.waitUntil(terminate(config, session, this.via));
  }

  private async schedule(config: BackendConfig): Promise<void> {
    const now = Date.now();
    let at = now + nextCheckDelayMs(config.healthIntervalSeconds);
    const afterCooldown = probeAfterCooldown(this.breaker);
    if (afterCooldown !== null) at = Math.min(at, Math.max(afterCooldown, now + MIN_PROBE_GAP_MS));
    await this.ctx.storage.setAlarm(at);
  }

  /** The breaker as of now. */
  breakerState(): BreakerSnapshot {
    return this.snapshot();
  }

  /** Admits a call: always while closed, one trial at a time once the cooldown elapsed, never while open. */
  async tryAcquireTrial(leaseMs: number): Promise<TrialAnswer> {
    const admission = acquireTrial(this.breaker, Date.now(), leaseMs);
    await this.commit(admission.breaker);
    return { admitted: admission.admitted, trial: admission.trial, ...this.snapshot() };
  }

  /** Applies outcomes an isolate collected; answers with the current state. */
  async report(settings: BreakerSettings, report: OutcomeReport): Promise<BreakerSnapshot> {
    const now = Date.now();
    let next = this.breaker;
    if (report.batch) next = applyBatch(next, settings, report.batch, now);
    if (report.trial) next = this.applyOutcome(next, settings, report.trial, true, now);
    await this.commit(next);
    return this.snapshot();
  }

  /** Records one outcome; `decisive` ones (trials, probes, operator refreshes) may close a half-open breaker. */
  async record(settings: BreakerSettings, outcome: CallOutcome, decisive: boolean): Promise<void> {
    await this.commit(this.applyOutcome(this.breaker, settings, outcome, decisive, Date.now()));
  }

  private applyOutcome(
    b: Breaker,
    settings: BreakerSettings,
    outcome: CallOutcome,
    decisive: boolean,
    now: number,
  ): Breaker {
    switch (outcome) {
      case "success":
        return recordSuccess(b, now, decisive);
      case "failure":
        return recordFailures(b, settings, now);
      case "neutral":
        return decisive ? releaseTrial(b) : b;
    }
  }

  /** The health view (see README). */
  async health(): Promise<HealthView> {
    const now = Date.now();
    const b = this.breaker;
    const h = this.read<HealthRecord>("health") ?? NO_HEALTH;
    const state = effectiveState(b, now);
    const scheduled = this.stopped() || !this.read<StoredConfig>("config") ? null : await this.ctx.storage.getAlarm();
    const view: HealthView = {
      breaker: state,
      healthy: state === "closed" && h.lastOk !== false,
      consecutiveFailures: b.consecutiveFailures,
      lastCheckAt: iso(h.lastCheckAt),
      lastLatencyMs: h.lastLatencyMs,
      lastError: h.lastError,
      nextCheckAt: iso(scheduled),
    };
    const retry = retryAt(b, now);
    if (state !== "closed" && retry !== null) view.retryAt = new Date(retry).toISOString();
    return view;
  }

  /** The alarm: probe, record, re-arm (always, unless the backend was stopped meanwhile). */
  async alarm(): Promise<void> {
    const config = await this.config();
    if (!config || this.stopped()) return;
    try {
      await this.probeNow(config);
    } catch (err) {
      this.write("health", {
        lastCheckAt: Date.now(),
        lastLatencyMs: null,
        lastError: describe(err),
        lastOk: false,
      } satisfies HealthRecord);
    } finally {
      if (!this.stopped()) await this.schedule((await this.config()) ?? config);
    }
  }

  /** Probes once (single-flight) and records the result. */
  probeNow(config: BackendConfig): Promise<void> {
    if (this.probing !== undefined) return this.probing;
    const run = this.runProbe(config).finally(() => {
      this.probing = undefined;
    });
    this.probing = run;
    return run;
  }

  private async runProbe(config: BackendConfig): Promise<void> {
    const generation = this.generation;
    const kept = this.read<UpstreamSession>("probe-session");
    const result = await probe(config, kept, Date.now, this.via, this.eras);
    if (generation !== this.generation) {
      // Reconfigured or stopped while probing: the result is about an endpoint that is gone.
      if (result.session && result.session.sessionId !== kept?.sessionId)
        this.ctx.waitUntil(terminate(config, result.session, this.via));
      return;
    }
    const now = Date.now();
    if (result.session) this.write("probe-session", result.session);
    else this.remove("probe-session");
    const settings = breakerSettings(config);
    if (result.ok) {
      this.write("health", {
        lastCheckAt: now,
        lastLatencyMs: result.latencyMs,
        lastError: null,
        lastOk: true,
      } satisfies HealthRecord);
      await this.record(settings, "success", true);
      return;
    }
    this.write("health", {
      lastCheckAt: now,
      lastLatencyMs: null,
      lastError: describe(result.error),
      lastOk: false,
    } satisfies HealthRecord);
    const outcome = outcomeOf(result.error);
    if (outcome === "failure") await this.record(settings, outcome, true);
  }
}
