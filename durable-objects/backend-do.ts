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
 * A modern backend's `ttlMs` shortens the refresh interval (never below
 * MIN_CATALOG_TTL_MS, never above CATALOG_TTL_MS).
 *
 * Protocol era (docs/design.md, "Protocol eras"): the verdict of a
 * `server/discover` probe, persisted next to the catalogs, which carry it to
 * the isolates. It is detected before the first catalog, again on an
 * operator's refresh, when a call meets a version error (`recheck`), when a
 * health probe finds the backend in the other era, and, for a legacy verdict,
 * on a refresh more than LEGACY_RECHECK_MS after the last probe (a stale
 * legacy verdict would otherwise work silently forever). Detection is
 * single-flight, and version errors trigger it at most once per RECHECK_GAP_MS.
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
import type { Era } from "../src/protocol/eras";
import { fetchCatalog } from "../src/upstream/catalog-fetch";
import { detectEra } from "../src/upstream/era";
import { BackendFailure } from "../src/upstream/failure";
import { legacyResponse } from "../src/upstream/legacy-sse";
import { withBearer } from "../src/upstream/oauth-client";
import type { LegacyPoster } from "../src/upstream/types";
import { type LegacyAnswer, SseConnections } from "./sse-connections";

/** A catalog older than this is refreshed in the background while still served. */
const CATALOG_TTL_MS = 60_000;
/** The shortest refresh interval a backend's `ttlMs` can ask for (design rule 7; `ttlMs: 0` is the SDK default). */
const MIN_CATALOG_TTL_MS = 5_000;
/** A legacy verdict older than this is probed again on the next refresh. */
const LEGACY_RECHECK_MS = 60 * 60_000;
/** Version errors make the era be probed at most this often (a backend answering every call with -32022 cannot make it spin). */
const RECHECK_GAP_MS = 5_000;

interface EraRecord {
  era: Era;
  detectedAt: number;
}

/** An era to fetch in, with the DiscoverResult when a probe just found the backend modern. */
type EraVerdict = { era: Era; discover?: Record<string, unknown> };

/** When to probe the era again: never (the stored verdict), after a version error (rate-limited), or now. */
type Redetect = "no" | "recheck" | "now";

/** How long a catalog is served before a background refresh: its `ttlMs`, within our bounds. */
function catalogTtl(catalog: Catalog): number {
  if (catalog.ttlMs === undefined) return CATALOG_TTL_MS;
  return Math.min(CATALOG_TTL_MS, Math.max(MIN_CATALOG_TTL_MS, catalog.ttlMs));
}
/** Profiles are combinations of three capabilities, so at most 8 rows. */
const MAX_PROFILES = 8;

/** Per-backend coordination object (RPC methods, no `fetch`). */
export class BackendDO extends DurableObject<Bindings> {
  private readonly refreshing = new Map<string, Promise<CatalogAnswer>>();
  private detecting: Promise<EraVerdict> | undefined;
  /** When a version error last made this object probe the era (in memory: a bound on probes, not state). */
  private lastRecheck = 0;
  /** Legacy HTTP+SSE connections of this backend (in memory: a connection is a live stream). */
  private readonly sse = new SseConnections();
  /** Catalog fetches from inside this object reach a legacy backend directly, not through a stub. */
  private readonly direct: LegacyPoster = async (backend, message, options) =>
    legacyResponse(backend.name, await this.sse.post(backend, options.session?.sessionId ?? "", message));
  private readonly monitor: BackendMonitor;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.monitor = new BackendMonitor(ctx, env, this.direct, {
      get: () => this.eraRecord()?.era ?? null,
      set: (era) => this.storeEra(era),
    });
    // Idempotent schema creation; SQL calls are synchronous, so it completes before any RPC runs.
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS backend_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS catalog (profile TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at INTEGER NOT NULL);
    `);
  }

  private eraRecord(): EraRecord | null {
    const row = this.ctx.storage.sql
      .exec<{ value: string }>("SELECT value FROM backend_state WHERE key = 'era'")
      .toArray()[0];
    return row ? (JSON.parse(row.value) as EraRecord) : null;
  }

  /** Stores a verdict; a changed era drops every catalog (they were fetched on the other era's wire). */
  private storeEra(era: Era): void {
    if (this.eraRecord()?.era !== era) this.ctx.storage.sql.exec("DELETE FROM catalog");
    const record: EraRecord = { era, detectedAt: Date.now() };
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO backend_state (key, value) VALUES ('era', ?)",
      JSON.stringify(record),
    );
  }

  /**
   * The era to fetch in: the stored verdict, or a new probe (single-flight)
   * when there is none, when asked `now` (an operator's refresh), after a
   * version error (`recheck`, at most once per RECHECK_GAP_MS), or when a
   * legacy verdict is old.
   */
  private async eraFor(backend: BackendConfig, redetect: Redetect): Promise<EraVerdict> {
    const known = this.eraRecord();
    const now = Date.now();
    const recheck = redetect === "recheck" && now - this.lastRecheck > RECHECK_GAP_MS;
    const stale =
      !known || redetect === "now" || recheck || (known.era === "legacy" && now - known.detectedAt > LEGACY_RECHECK_MS);
    if (!stale) return { era: known.era };
    if (recheck) this.lastRecheck = now;
    this.detecting ??= detectEra(backend, { via: this.direct })
      .then((verdict) => {
        this.storeEra(verdict.era);
        return verdict;
      })
      .finally(() => {
        this.detecting = undefined;
      });
    return this.detecting;
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
  private refresh(
    backend: BackendConfig,
    profile: string,
    forced = false,
    redetect: Redetect = forced ? "now" : "no",
  ): Promise<CatalogAnswer> {
    const pending = this.refreshing.get(profile);
    if (pending !== undefined) return pending;
    const run = (async (): Promise<CatalogAnswer> => {
      const settings = breakerSettings(backend);
      const gate = forced
        ? { admitted: true, trial: true, retryAt: null }
        : await this.monitor.tryAcquireTrial(trialLeaseMs(backend));
      if (!gate.admitted) return this.failed(unavailableMessage(backend.name, gate.retryAt));
      try {
        const catalog = await this.fetchInEra(backend, profile, redetect);
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
        return this.failed(
          err instanceof BackendFailure ? err.message : `Backend '${backend.name}' catalog fetch failed`,
        );
      }
    })().finally(() => {
      if (this.refreshing.get(profile) === run) this.refreshing.delete(profile);
    });
    this.refreshing.set(profile, run);
    return run;
  }

  /** A failed answer, with the era verdict isolates still need to open the right kind of upstream session. */
  private failed(error: string): CatalogAnswer {
    const era = this.eraRecord()?.era;
    return { ok: false, error, ...(era && { era }) };
  }

  /** Fetches in the backend's era; a backend that refuses it (kind `version`) is re-detected once. */
  private async fetchInEra(backend: BackendConfig, profile: string, redetect: Redetect): Promise<Catalog> {
    const verdict = await this.eraFor(backend, redetect);
    try {
      return await fetchCatalog(backend, profile, this.direct, verdict.era, verdict.discover);
    } catch (err) {
      if (!(err instanceof BackendFailure && err.kind === "version")) throw err;
      const again = await this.eraFor(backend, "recheck");
      if (again.era === verdict.era) throw err;
      return fetchCatalog(backend, profile, this.direct, again.era, again.discover);
    }
  }

  /**
   * The catalog for a capability profile: cached (refreshed in the background
   * once stale), or fetched now if there is none yet.
   */
  async catalog(backend: BackendConfig, profile: string, bearer?: string): Promise<CatalogAnswer> {
    await this.monitor.adopt(backend);
    // An upstream-OAuth backend is listed as the asking user (never stored here: `adopt` kept the bare config).
    const as = bearer ? withBearer(backend, bearer) : backend;
    const cached = this.stored(profile);
    if (cached) {
      if (Date.now() - cached.fetchedAt > catalogTtl(cached)) this.ctx.waitUntil(this.refresh(as, profile));
      return { ok: true, catalog: cached };
    }
    return this.refresh(as, profile);
  }

  /**
   * A call met a version error (-32022, or -32020 on the version header):
   * the stored era is wrong. Detects it again (at most once per
   * RECHECK_GAP_MS) and refetches this profile's catalog in it.
   */
  async recheck(backend: BackendConfig, profile: string): Promise<CatalogAnswer> {
    await this.monitor.adopt(backend);
    return this.refresh(backend, profile, false, "recheck");
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
      // The era was probed just now: the other profiles are refetched in it.
      for (const row of others) this.ctx.waitUntil(this.refresh(backend, row.profile, true, "no"));
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
    if (await this.monitor.configure(backend)) {
      // A new endpoint: its era is unknown again.
      this.ctx.storage.sql.exec("DELETE FROM catalog");
      this.ctx.storage.sql.exec("DELETE FROM backend_state WHERE key = 'era'");
    }
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
    this.ctx.storage.sql.exec("DELETE FROM backend_state WHERE key = 'era'");
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
