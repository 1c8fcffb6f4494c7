/**
 * Whole-configuration reads and writes for `/api/config` (configuration as
 * code): every row in one consistent read, and a planned change written as
 * one D1 batch with one version bump (`commit`), so an import is applied
 * entirely or not at all.
 */

import { inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db";
import {
  type ApiTokenRow,
  apiTokens,
  type BackendRow,
  backends,
  type PluginRow,
  plugins,
  type ServerRow,
  servers,
} from "../schema";
import { commit } from "./write";

/** Every configuration row. */
export interface AllRows {
  backends: BackendRow[];
  servers: ServerRow[];
  plugins: PluginRow[];
  tokens: ApiTokenRow[];
}

/** Reads every configuration table in one batch (one round trip, one consistent view), by name. */
export async function readAllRows(db: Db): Promise<AllRows> {
  const [b, s, p, t] = await db.batch([
    db.select().from(backends).orderBy(backends.name),
    db.select().from(servers).orderBy(servers.name),
    db.select().from(plugins).orderBy(plugins.name),
    db.select().from(apiTokens).orderBy(apiTokens.name),
  ]);
  return { backends: b, servers: s, plugins: p, tokens: t };
}

/** What an import writes: rows to remove (by name) and whole rows to store (replacing any of the same name). */
export interface ImportWrite {
  remove: { backends: string[]; servers: string[]; plugins: string[]; tokens: string[] };
  put: { backends: BackendRow[]; servers: ServerRow[]; plugins: PluginRow[]; tokens: ApiTokenRow[] };
}

/** D1 binds at most 100 parameters per statement: names are deleted in chunks. */
const CHUNK = 50;

function chunked(names: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < names.length; i += CHUNK) out.push(names.slice(i, i + CHUNK));
  return out;
}

/**
 * Writes an import in one batch with one version bump. A stored row is
 * replaced by deleting it and inserting the new one in the same transaction
 * (deletes run first, so a token may take over a name or hash another row in
 * the document gives up). Nothing is written when there is nothing to do.
 */
export async function writeImport(db: Db, write: ImportWrite): Promise<boolean> {
  const removeNames = {
    backends: [...write.remove.backends, ...write.put.backends.map((r) => r.name)],
    servers: [...write.remove.servers, ...write.put.servers.map((r) => r.name)],
    plugins: [...write.remove.plugins, ...write.put.plugins.map((r) => r.name)],
    tokens: [...write.remove.tokens, ...write.put.tokens.map((r) => r.name)],
  };
  const statements: BatchItem<"sqlite">[] = [
    ...chunked(removeNames.tokens).map((n) => db.delete(apiTokens).where(inArray(apiTokens.name, n))),
    ...chunked(removeNames.plugins).map((n) => db.delete(plugins).where(inArray(plugins.name, n))),
    ...chunked(removeNames.servers).map((n) => db.delete(servers).where(inArray(servers.name, n))),
    ...chunked(removeNames.backends).map((n) => db.delete(backends).where(inArray(backends.name, n))),
    ...write.put.backends.map((row) => db.insert(backends).values(row)),
    ...write.put.servers.map((row) => db.insert(servers).values(row)),
    ...write.put.plugins.map((row) => db.insert(plugins).values(row)),
    ...write.put.tokens.map((row) => db.insert(apiTokens).values(row)),
  ];
  if (statements.length === 0) return false;
  await commit(db, statements, "The document conflicts with a stored API token (its id or secret hash is taken)");
  return true;
}
