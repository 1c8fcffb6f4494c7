/**
 * BackendDO: one SQLite-backed Durable Object per backend, addressed by the
 * backend's name (`env.BACKEND.idFromName(name)`). It is the unit of
 * coordination for that backend (never one object for all traffic: see
 * shared/seeds/connection-pool-performance-analysis.md, a global lock
 * serialising every host).
 *
 * This first version owns the schema and identity; the breaker, health alarm
 * and catalog cache are added by the backend Durable Object issue.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../src/env";

/** Per-backend coordination object (RPC methods, no `fetch`). */
export class BackendDO extends DurableObject<Bindings> {
  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    // Idempotent schema creation; SQL calls are synchronous, so it completes before any RPC runs.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS backend_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }

  /** Records which backend this object serves (first call wins) and returns it. */
  async identify(name: string): Promise<string> {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT OR IGNORE INTO backend_state (key, value) VALUES ('name', ?)", name);
    const row = sql.exec<{ value: string }>("SELECT value FROM backend_state WHERE key = 'name'").one();
    return row.value;
  }
}
