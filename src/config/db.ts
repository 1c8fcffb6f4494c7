/**
 * drizzle over the D1 binding, plus the config-version bump every write joins.
 */
import { sql } from "drizzle-orm";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import { guardedD1 } from "./guarded-d1";
import * as schema from "./schema";

/** The typed database handle. Cheap to create; no connection is held. */
export type Db = DrizzleD1Database<typeof schema>;

/** Wraps the D1 binding with drizzle; every query has a deadline and fails as a 503 (`guarded-d1.ts`). */
export function database(d1: D1Database): Db {
  return drizzle(guardedD1(d1), { schema });
}

/** The statement that bumps the config version; run it in the same `batch` as the write. */
export function bumpVersion(db: Db) {
  const now = new Date().toISOString();
  return db
    .insert(schema.configMeta)
    .values({ id: 1, version: 1, updatedAt: now })
    .onConflictDoUpdate({
      target: schema.configMeta.id,
      set: { version: sql`${schema.configMeta.version} + 1`, updatedAt: now },
    });
}

/** Reads the current config version (0 before the first write). */
export async function readVersion(d1: D1Database): Promise<number> {
  const row = await guardedD1(d1).prepare("SELECT version FROM config_meta WHERE id = 1").first<{ version: number }>();
  return row?.version ?? 0;
}
