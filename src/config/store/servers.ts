/**
 * Virtual server CRUD against D1.
 */

import type { z } from "@hono/zod-openapi";
import { count, eq, sql } from "drizzle-orm";
import { HttpError } from "../../errors";
import type { Db } from "../db";
import { LIMITS } from "../limits";
import { apiTokens, backends, type ServerRow, servers } from "../schema";
import type { Server, ServerCreate, ServerUpdate } from "../shapes";
import type { ServerConfig, ToolOverride } from "../snapshot";
import { type Ownership, PLATFORM_PUBLIC } from "./backends";
import { assertBelowLimit, commit, nowIso } from "./write";

export type ServerView = z.infer<typeof Server>;

/** Overrides arrive normalised (`tool-overrides.ts`): camelCase, one spelling. */
type Normalized<T> = Omit<T, "toolOverrides" | "tool_overrides"> & { toolOverrides?: ToolOverride[] };
export type ServerInput = Normalized<z.infer<typeof ServerCreate>>;
export type ServerPatch = Normalized<z.infer<typeof ServerUpdate>>;

function serverView(row: ServerRow): ServerView {
  return {
    name: row.name,
    backends: row.backends,
    tools: row.tools,
    prefix: row.prefix,
    auth: row.auth,
    team: row.team,
    owner: row.owner,
    visibility: row.visibility,
    discovery: row.discovery,
    toolOverrides: row.toolOverrides,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** 400 naming each listed name that does not exist in `table`. */
export async function assertNamesExist(
  db: Db,
  names: readonly string[] | null | undefined,
  field: string,
  kind: "backend" | "server",
): Promise<void> {
  if (!names || names.length === 0) return;
  const column = kind === "backend" ? backends.name : servers.name;
  const table = kind === "backend" ? backends : servers;
  // One JSON parameter, not one bound variable per name: D1 allows 100 per statement, and a
  // server may name every backend (LIMITS.backends, 500).
  const list = JSON.stringify([...names]);
  const found = new Set(
    (await db.select({ name: column }).from(table).where(sql`${column} IN (SELECT value FROM json_each(${list}))`)).map(
      (r) => r.name,
    ),
  );
  const issues = names.flatMap((n, i) =>
    found.has(n) ? [] : [{ path: `${field}.${i}`, message: `unknown ${kind} '${n}'` }],
  );
  if (issues.length > 0) throw new HttpError(400, "validation_failed", "Invalid request", issues);
}

/** All virtual servers, by name. */
export async function listServers(db: Db): Promise<ServerView[]> {
  return (await db.select().from(servers).orderBy(servers.name)).map(serverView);
}

async function getServerRow(db: Db, name: string): Promise<ServerRow> {
  const row = await db.select().from(servers).where(eq(servers.name, name)).get();
  if (!row) throw new HttpError(404, "not_found", `Server '${name}' not found`);
  return row;
}

/** One virtual server, or 404. */
export async function getServer(db: Db, name: string): Promise<ServerView> {
  return serverView(await getServerRow(db, name));
}

/** A check on a server as it would be stored, run before the write (e.g. name conflicts). */
export type ServerCheck = (server: ServerConfig) => Promise<void>;

/** Stores a new virtual server; its backends must exist and `check` must pass. */
export async function createServer(
  db: Db,
  input: ServerInput,
  check: ServerCheck = async () => undefined,
  ownership: Ownership = PLATFORM_PUBLIC,
): Promise<ServerView> {
  await assertNamesExist(db, input.backends, "backends", "backend");
  const [total] = await db.select({ n: count() }).from(servers);
  assertBelowLimit(total?.n ?? 0, LIMITS.servers, "server");
  const now = nowIso();
  const row: ServerRow = {
    name: input.name,
    backends: input.backends ?? null,
    tools: input.tools ?? null,
    prefix: input.prefix ?? true,
    auth: input.auth ?? "token",
    ...ownership,
    discovery: input.discovery ?? "list",
    toolOverrides: input.toolOverrides ?? [],
    createdAt: now,
    updatedAt: now,
  };
  await check(row);
  await commit(db, [db.insert(servers).values(row)], `Server '${input.name}' already exists`);
  return serverView(row);
}

/** Updates a virtual server; `null`-able lists are replaced as a whole. */
export async function updateServer(
  db: Db,
  name: string,
  patch: ServerPatch,
  check: ServerCheck = async () => undefined,
): Promise<ServerView> {
  const current = await getServerRow(db, name);
  await assertNamesExist(db, patch.backends, "backends", "backend");
  const next: ServerRow = {
    ...current,
    ...(patch.backends !== undefined && { backends: patch.backends }),
    ...(patch.tools !== undefined && { tools: patch.tools }),
    ...(patch.prefix !== undefined && { prefix: patch.prefix }),
    ...(patch.auth !== undefined && { auth: patch.auth }),
    ...(patch.team !== undefined && { team: patch.team }),
    ...(patch.visibility !== undefined && { visibility: patch.visibility }),
    ...(patch.discovery !== undefined && { discovery: patch.discovery }),
    ...(patch.toolOverrides !== undefined && { toolOverrides: patch.toolOverrides }),
    updatedAt: nowIso(),
  };
  await check(next);
  await commit(db, [db.update(servers).set(next).where(eq(servers.name, name))], "Conflict");
  return serverView(next);
}

/** Deletes a virtual server; 409 while an API token is limited to it (deleting would change what it grants). */
export async function deleteServer(db: Db, name: string): Promise<void> {
  await getServerRow(db, name);
  const users = await db
    .select({ name: apiTokens.name })
    .from(apiTokens)
    .where(sql`EXISTS (SELECT 1 FROM json_each(${apiTokens.servers}) WHERE json_each.value = ${name})`);
  if (users.length > 0) {
    throw new HttpError(409, "conflict", `Server '${name}' is named by API tokens`, {
      tokens: users.map((u) => u.name),
    });
  }
  await commit(db, [db.delete(servers).where(eq(servers.name, name))], "Conflict");
}
