/**
 * Plugin instance rows in D1. Validation against the kind (hooks, config
 * schema, save-time checks, sealing) happens in `api/plugins.ts` before
 * anything reaches this module.
 */
import { asc, count, eq } from "drizzle-orm";
import { HttpError } from "../../errors";
import type { Db } from "../db";
import { LIMITS } from "../limits";
import { type PluginRow, plugins } from "../schema";
import { assertBelowLimit, commit, nowIso } from "./write";

/** Every plugin, in execution order (priority, then name). */
export async function listPluginRows(db: Db): Promise<PluginRow[]> {
  return db.select().from(plugins).orderBy(asc(plugins.priority), asc(plugins.name));
}

/** One plugin row, or 404. */
export async function getPluginRow(db: Db, name: string): Promise<PluginRow> {
  const row = await db.select().from(plugins).where(eq(plugins.name, name)).get();
  if (!row) throw new HttpError(404, "not_found", `Plugin '${name}' not found`);
  return row;
}

export type PluginFields = Omit<PluginRow, "createdAt" | "updatedAt" | "team">;

/** Stores a new plugin owned by `team` (null: platform-wide); 409 on a duplicate name or at the plugin limit. */
export async function insertPlugin(db: Db, fields: PluginFields, team: string | null = null): Promise<PluginRow> {
  const [total] = await db.select({ n: count() }).from(plugins);
  assertBelowLimit(total?.n ?? 0, LIMITS.plugins, "plugin");
  const now = nowIso();
  const row: PluginRow = { ...fields, team, createdAt: now, updatedAt: now };
  await commit(db, [db.insert(plugins).values(row)], `Plugin '${fields.name}' already exists`);
  return row;
}

/** Replaces a plugin's fields (the name stays). */
export async function replacePlugin(
  db: Db,
  current: PluginRow,
  fields: Omit<PluginFields, "name">,
): Promise<PluginRow> {
  const row: PluginRow = { ...current, ...fields, name: current.name, updatedAt: nowIso() };
  await commit(db, [db.update(plugins).set(row).where(eq(plugins.name, current.name))], "Conflict");
  return row;
}

/** Removes a plugin; 404 when unknown. */
export async function deletePlugin(db: Db, name: string): Promise<void> {
  await getPluginRow(db, name);
  await commit(db, [db.delete(plugins).where(eq(plugins.name, name))], "Conflict");
}
