/**
 * RateLimiterDO: one SQLite-backed Durable Object per rate-limit key (e.g.
 * `<plugin>|u=<token>|t=tool:alpha/echo`), addressed with
 * `env.RATE_LIMITER.idFromName(key)`. Each key is its own unit of
 * coordination, so limits hold across isolates and locations without any
 * object seeing all traffic (design rule 3): only calls that share a key
 * meet here.
 *
 * Algorithms (counts per window start, in SQLite so they survive eviction):
 * - fixed: at most `limit` calls per aligned window of `windowMs`.
 * - sliding: the sliding-window counter (the approximation Cloudflare's own
 *   rate limiting uses): the previous window's count weighted by how much of
 *   it still overlaps the sliding window, plus the current window's count.
 *
 * Denied calls are not counted. An alarm clears the object's storage once it
 * has been idle for two windows, so keys that stop being used cost nothing.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../src/env";

export interface RateRule {
  limit: number;
  windowMs: number;
  algorithm: "fixed" | "sliding";
}

export interface RateDecision {
  allowed: boolean;
  /** Calls left in the current window after this one (0 when denied). */
  remaining: number;
  /** When denied: how long until a call may succeed. */
  retryAfterMs: number;
}

export class RateLimiterDO extends DurableObject<Bindings> {
  /** Whether the tables exist (created on first use, and again after the idle alarm wiped them). */
  private ready = false;

  private schema(): void {
    if (this.ready) return;
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS windows (start INTEGER PRIMARY KEY, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.ready = true;
  }

  private count(start: number): number {
    return (
      this.ctx.storage.sql.exec<{ count: number }>("SELECT count FROM windows WHERE start = ?", start).toArray()[0]
        ?.count ?? 0
    );
  }

  /** Counts one call against `rule` if it is allowed. */
  async hit(rule: RateRule): Promise<RateDecision> {
    const { limit, windowMs, algorithm } = rule;
    this.schema();
    const sql = this.ctx.storage.sql;
    const stored = sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'window_ms'").toArray()[0]?.value;
    if (windowMs !== stored) {
      // The rule changed: counts of another window size mean nothing now.
      sql.exec("DELETE FROM windows");
      sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('window_ms', ?)", windowMs);
    }
    const now = Date.now();
    const start = Math.floor(now / windowMs) * windowMs;
    sql.exec("DELETE FROM windows WHERE start < ?", start - windowMs);
    const current = this.count(start);

    let used = current;
    let retryAfterMs = start + windowMs - now;
    if (algorithm === "sliding") {
      const previous = this.count(start - windowMs);
      const overlap = 1 - (now - start) / windowMs;
      used = previous * overlap + current;
      if (used + 1 > limit && current < limit && previous > 0) {
        // When enough of the previous window will have slid out for one more call.
        const needed = (used + 1 - limit) / previous;
        retryAfterMs = Math.min(retryAfterMs, Math.ceil(needed * windowMs));
      }
    }
    if (used + 1 > limit) return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, retryAfterMs) };

    sql.exec(
      "INSERT INTO windows (start, count) VALUES (?, 1) ON CONFLICT(start) DO UPDATE SET count = count + 1",
      start,
    );
    await this.ctx.storage.setAlarm(now + 2 * windowMs);
    return { allowed: true, remaining: Math.max(0, Math.floor(limit - used - 1)), retryAfterMs: 0 };
  }

  /** Idle for two windows: nothing left worth keeping. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.ready = false;
  }
}
