/**
 * Every configuration write goes through `commit`: the write statements and the
 * config-version bump run in one D1 batch (one transaction), so a reader never
 * sees new rows under an old version, and a failed write bumps nothing.
 */
import type { BatchItem } from "drizzle-orm/batch";
import { HttpError } from "../../errors";
import { bumpVersion, type Db } from "../db";
import { configCache } from "../middleware";

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed|SQLITE_CONSTRAINT/.test(e.message)) return true;
  }
  return false;
}

/**
 * Runs `statements` and the version bump atomically; a unique-constraint
 * violation becomes 409 with `conflictMessage`. Invalidates this isolate's
 * cache so the writer sees its own write at once; other isolates see it
 * within the cache's freshness window.
 */
export async function commit(db: Db, statements: BatchItem<"sqlite">[], conflictMessage: string): Promise<void> {
  try {
    await db.batch([bumpVersion(db), ...statements]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new HttpError(409, "conflict", conflictMessage);
    throw err;
  } finally {
    configCache.invalidate();
  }
}

/** Throws 409 when a table already holds `limit` rows. */
export function assertBelowLimit(count: number, limit: number, what: string): void {
  if (count >= limit) throw new HttpError(409, "conflict", `The ${what} limit (${limit}) is reached`);
}

/** ISO timestamp for created/updated columns. */
export function nowIso(): string {
  return new Date().toISOString();
}
