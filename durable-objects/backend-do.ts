/**
 * BackendDO: one SQLite-backed Durable Object per backend, addressed by the
 * backend's name (`env.BACKEND.idFromName(name)`). It is the unit of
 * coordination for that backend (never one object for all traffic: see
 * shared/seeds/connection-pool-performance-analysis.md, a global lock
 * serialising every host).
 *
 * This version owns the catalog cache; the breaker and health alarm are added
 * by the backend Durable Object issue.
 *
 * Catalog cache (design rule 7): per capability profile, persisted in SQLite
 * so it survives eviction, served stale while one refresh runs (single-flight,
 * so an expiry under load causes one upstream fetch, not one per caller).
 */
import { DurableObject } from "cloudflare:workers";
import type { BackendConfig } from "../src/config/snapshot";
import type { Bindings } from "../src/env";
import { fetchCatalog } from "../src/mcp/catalog-fetch";
import type { Catalog, CatalogAnswer } from "../src/mcp/catalog-types";
import { legacyResponse } from "../src/mcp/legacy-sse";
import type { LegacyPoster } from "../src/mcp/upstream";
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

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
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

  private refresh(backend: BackendConfig, profile: string): Promise<CatalogAnswer> {
    const pending = this.refreshing.get(profile);
    if (pending !== undefined) return pending;
    const run = (async (): Promise<CatalogAnswer> => {
      try {
        const catalog = await fetchCatalog(backend, profile, this.direct);
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
        return { ok: false, error: err instanceof Error ? err.message : "Catalog fetch failed" };
      } finally {
        this.refreshing.delete(profile);
      }
    })();
    this.refreshing.set(profile, run);
    return run;
  }

  /**
   * The catalog for a capability profile: cached (refreshed in the background
   * once stale), or fetched now if there is none yet.
   */
  async catalog(backend: BackendConfig, profile: string): Promise<CatalogAnswer> {
    const cached = this.stored(profile);
    if (cached) {
      if (Date.now() - cached.fetchedAt > CATALOG_TTL_MS) this.ctx.waitUntil(this.refresh(backend, profile));
      return { ok: true, catalog: cached };
    }
    return this.refresh(backend, profile);
  }

  /** Drops every cached catalog and fetches the given profile again now. */
  async refreshCatalog(backend: BackendConfig, profile: string): Promise<CatalogAnswer> {
    this.ctx.storage.sql.exec("DELETE FROM catalog");
    return this.refresh(backend, profile);
  }

  /**
   * Sends one message over the legacy HTTP+SSE connection named `key` (one per
   * upstream session), opening it at `initialize`. Requests answer with an SSE
   * stream ending with the reply; notifications and responses with null.
   */
  async ssePost(backend: BackendConfig, key: string, message: unknown): Promise<LegacyAnswer> {
    return this.sse.post(backend, key, message);
  }

  /** Forgets everything (the backend was deleted). */
  async reset(): Promise<void> {
    this.sse.closeAll();
    await this.ctx.storage.deleteAll();
  }
}
