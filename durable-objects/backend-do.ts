/**
 * BackendDO: one SQLite-backed Durable Object per backend, addressed by the
 * backend's name (`env.BACKEND.idFromName(name)`). It is the unit of
 * coordination for that backend (never one object for all traffic: see
 * shared/seeds/connection-pool-performance-analysis.md, a global lock
 * serialising every host).
 *
 * It owns the backend's circuit breaker and health schedule (one alarm), in
 * `src/backends/monitor.ts`, and its catalog cache. It is not on the
 * per-call path: isolates cache its breaker state and report call outcomes
 * in batches, off the response path (`src/backends/breaker-client.ts`).
 *
 * Catalog cache (design rule 7): per capability profile, persisted in SQLite
 * so it survives eviction, served stale while one refresh runs (single-flight,
 * so an expiry under load causes one upstream fetch, not one per caller).
 */
import { DurableObject } from "cloudflare:workers";
import { type BreakerSettings, breakerSettings, trialLeaseMs, unavailableMessage } from "../src/backends/breaker";
import {
  BackendMonitor,
  type BreakerSnapshot,
  type HealthView,
  type OutcomeReport,
  type TrialAnswer,
} from "../src/backends/monitor";
import { outcomeOf } from "../src/backends/outcome";
import type { BackendConfig } from "../src/config/snapshot";
import type { Bindings } from "../src/env";
import type { Catalog, CatalogAnswer } from "../src/protocol/catalog-types";
import { fetchCatalog } from "../src/upstream/catalog-fetch";
import { BackendFailure } from "../src/upstream/failure";
import { legacyResponse } from "../src/upstream/legacy-sse";
import type { LegacyPoster } from "../src/upstream/types";
import { type LegacyAnswer, SseConnections } from "./sse-connections";

/** A catalog older than this is refreshed in the background while still served. */
const CATALOG_TTL_MS = 60_000;
/** Profiles are combinations of three capabilities, so at most 8 rows. */
const MAX_PROFILES = 8;

/** Per-backend coordination object (RPC methods, no `fetch`). */
export class BackendDO extends DurableObject<Bindings> {
  private readonly refreshing = new Map<string, Promise<CatalogAnswer>>();
  /** Legacy HTTP+SSE connections of this backend (in memory: a connection is a live stream). */
  private readonly sse = new SseConnections();
  /** Catalog fetches from inside this object reach a legacy backend directly, not through a stub. */
  private readonly direct: LegacyPoster = async (backend, message, options) =>
    legacyResponse(backend.name, await this.sse.post(backend, options.session?.sessionId ?? "", message));
  private readonly monitor: BackendMonitor;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.monitor = new BackendMonitor(ctx, env, this.direct);
    // Idempotent schema creation; SQL calls are synchronous, so it completes before any RPC runs.
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS backend_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS catalog (profile TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at INTEGER NOT NULL);
    `);
  }

  private stored(profile: string): Catalog | null {
    const row = this.ctx.storage.sql
      .exec<{ body: string }>("SELECT body FROM catalog WHERE profile = ?", profile)
      .toArray()[0];
    return row ? (JSON.parse(row.body) as Catalog) : null;
  }

  /**
   * Fetches a profile's catalog (single-flight). The breaker gates it like a
   * call (an open breaker means no upstream fetch, the stale catalog stays);
   * `forced` (an operator's refresh) goes through, and like a trial its
   * outcome decides a half-open breaker.
   */
  private refresh(backend: BackendConfig, profile: string, forced = false): Promise<CatalogAnswer> {
    const pending = this.refreshing.get(profile);
    if (pending !== undefined) return pending;
    const run = (async (): Promise<CatalogAnswer> => {
      const settings = breakerSettings(backend);
      const gate = forced
        ? { admitted: true, trial: true, retryAt: null }
        : await this.monitor.tryAcquireTrial(trialLeaseMs(backend));
      if (!gate.admitted) return { ok: false, error: unavailableMessage(backend.name, gate.retryAt) };
      try {
        const catalog = await fetchCatalog(backend, profile, this.direct);
        await this.monitor.record(settings, "success", gate.trial);
        this.ctx.storage.sql.exec(
          "INSERT OR REPLACE INTO catalog (profile, body, fetched_at) VALUES (?, ?, ?)",
          profile,
          JSON.stringify(catalog),
          catalog.fetchedAt,
        );
        this.ctx.storage.sql.exec(
          "DELETE FROM catalog WHERE profile NOT IN (SELECT profile FROM catalog ORDER BY fetched_at DESC LIMIT ?)",
          MAX_PROFILES,
        );
        return { ok: true, catalog };
      } catch (err) {
        await this.monitor.record(settings, outcomeOf(err), gate.trial);
        // BackendFailure messages are written to be shown; anything else is not echoed.
        const error = err instanceof BackendFailure ? err.message : `Backend '${backend.name}' catalog fetch failed`;
        return { ok: false, error };
      }
    })().finally(() => {
      if (this.refreshing.get(profile) === run) this.refreshing.delete(profile);
    });
    this.refreshing.set(profile, run);
    return run;
  }

  /**
   * The catalog for a capability profile: cached (refreshed in the background
   * once stale), or fetched now if there is none yet.
   */
  async catalog(backend: BackendConfig, profile: string): Promise<CatalogAnswer> {
    await this.monitor.adopt(backend);
    const cached = this.stored(profile);
    if (cached) {
      if (Date.now() - cached.fetchedAt > CATALOG_TTL_MS) this.ctx.waitUntil(this.refresh(backend, profile));
      return { ok: true, catalog: cached };
    }
    return this.refresh(backend, profile);
  }

  /**
   * Re-discovers the catalog of `profile` now (an operator's refresh), then
   * the other cached profiles in the background. A failure keeps the old
   * catalogs.
   */
  async refreshCatalog(backend: BackendConfig, profile: string): Promise<CatalogAnswer> {
    const answer = await this.refresh(backend, profile, true);
    if (answer.ok) {
      const others = this.ctx.storage.sql
        .exec<{ profile: string }>("SELECT profile FROM catalog WHERE profile != ?", profile)
        .toArray();
      for (const row of others) this.ctx.waitUntil(this.refresh(backend, row.profile, true));
    }
    return answer;
  }

  /**
   * Sends one message over the legacy HTTP+SSE connection named `key` (one per
   * upstream session), opening it at `initialize`. Requests answer with an SSE
   * stream ending with the reply; notifications and responses with null.
   */
  async ssePost(backend: BackendConfig, key: string, message: unknown): Promise<LegacyAnswer> {
    return this.sse.post(backend, key, message);
  }

  /** The admin API created, enabled or changed the backend: store its config, (re)start its health schedule. */
  async configure(backend: BackendConfig): Promise<void> {
    if (await this.monitor.configure(backend)) this.ctx.storage.sql.exec("DELETE FROM catalog");
  }

  /** The backend was disabled: stop probing (catalogs and breaker are kept). */
  async stop(): Promise<void> {
    await this.monitor.stop();
  }

  /** Forgets everything (the backend was deleted); a tombstone keeps the schedule from restarting. */
  async reset(): Promise<void> {
    this.sse.closeAll();
    await this.monitor.forget();
    this.ctx.storage.sql.exec("DELETE FROM catalog");
  }

  /** Breaker, last probe and next probe. */
  async health(): Promise<HealthView> {
    return this.monitor.health();
  }

  /** The breaker as of now (isolates cache it for about a second). */
  async breakerState(): Promise<BreakerSnapshot> {
    return this.monitor.breakerState();
  }

  /** Admits a call: always while closed, one trial per lease once the cooldown elapsed, never while open. */
  async tryAcquireTrial(leaseMs: number): Promise<TrialAnswer> {
    return this.monitor.tryAcquireTrial(leaseMs);
  }

  /** Call outcomes an isolate collected; answers with the breaker as of now. */
  async report(settings: BreakerSettings, report: OutcomeReport): Promise<BreakerSnapshot> {
    return this.monitor.report(settings, report);
  }

  /** The health schedule. */
  override async alarm(): Promise<void> {
    await this.monitor.alarm();
  }
}
