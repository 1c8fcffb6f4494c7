/**
 * Backend CRUD against D1. Header values are encrypted before they are stored
 * and never leave this module in API views.
 */

import type { z } from "@hono/zod-openapi";
import { count, eq, sql } from "drizzle-orm";
import { type Backend, type BackendCreate, type BackendUpdate, REDACTED } from "../../api/schemas";
import { HttpError } from "../../errors";
import type { Db } from "../db";
import { encryptHeaders } from "../header-crypto";
import { LIMITS } from "../limits";
import { type BackendRow, backends, servers } from "../schema";
import { assertBelowLimit, commit, nowIso } from "./write";

export type BackendView = z.infer<typeof Backend>;

/** The API view of a stored backend: header names only. */
export function backendView(row: BackendRow): BackendView {
  return {
    name: row.name,
    url: row.url,
    transport: row.transport,
    headers: Object.fromEntries(row.headerNames.map((h) => [h, REDACTED])),
    timeoutMs: row.timeoutMs,
    healthIntervalSeconds: row.healthIntervalSeconds,
    failureThreshold: row.failureThreshold,
    cooldownSeconds: row.cooldownSeconds,
    enabled: row.enabled,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** All backends, by name. */
export async function listBackends(db: Db): Promise<BackendView[]> {
  const rows = await db.select().from(backends).orderBy(backends.name);
  return rows.map(backendView);
}

/** One backend row, or 404. */
export async function getBackendRow(db: Db, name: string): Promise<BackendRow> {
  const row = await db.select().from(backends).where(eq(backends.name, name)).get();
  if (!row) throw new HttpError(404, "not_found", `Backend '${name}' not found`);
  return row;
}

async function sealHeaders(headers: Record<string, string> | undefined, material: string) {
  if (!headers || Object.keys(headers).length === 0) return { headersEncrypted: null, headerNames: [] };
  return { headersEncrypted: await encryptHeaders(headers, material), headerNames: Object.keys(headers).sort() };
}

/** Stores a new backend; 409 if the name is taken or the limit is reached. */
export async function createBackend(
  db: Db,
  input: z.infer<typeof BackendCreate>,
  keyMaterial: () => string,
): Promise<BackendView> {
  const [total] = await db.select({ n: count() }).from(backends);
  assertBelowLimit(total?.n ?? 0, LIMITS.backends, "backend");
  const now = nowIso();
  const row: BackendRow = {
    name: input.name,
    url: input.url,
    transport: input.transport ?? "streamable-http",
    ...(await sealHeaders(input.headers, input.headers && Object.keys(input.headers).length ? keyMaterial() : "")),
    timeoutMs: input.timeoutMs ?? 30_000,
    healthIntervalSeconds: input.healthIntervalSeconds ?? 30,
    failureThreshold: input.failureThreshold ?? 5,
    cooldownSeconds: input.cooldownSeconds ?? 30,
    enabled: input.enabled ?? true,
    createdAt: now,
    updatedAt: now,
  };
  await commit(db, [db.insert(backends).values(row)], `Backend '${input.name}' already exists`);
  return backendView(row);
}

/**
 * Updates a backend. `headers` replaces the whole set; a value of `********`
 * keeps the stored value of that header, so a read-modify-write round trip
 * never overwrites a secret with its mask.
 */
export async function updateBackend(
  db: Db,
  name: string,
  patch: z.infer<typeof BackendUpdate>,
  decryptExisting: (row: BackendRow) => Promise<Record<string, string>>,
  keyMaterial: () => string,
): Promise<BackendView> {
  const current = await getBackendRow(db, name);
  let sealed: { headersEncrypted: string | null; headerNames: string[] } | undefined;
  if (patch.headers) {
    const keepsMasked = Object.values(patch.headers).some((v) => v === REDACTED);
    const existing = keepsMasked ? await decryptExisting(current) : {};
    const merged: Record<string, string> = {};
    for (const [h, v] of Object.entries(patch.headers)) {
      if (v !== REDACTED) merged[h] = v;
      else if (existing[h] !== undefined) merged[h] = existing[h];
      else
        throw new HttpError(400, "validation_failed", "Invalid request", [
          { path: `headers.${h}`, message: "has no stored value to keep" },
        ]);
    }
    sealed = await sealHeaders(merged, Object.keys(merged).length ? keyMaterial() : "");
  }
  const next: BackendRow = {
    ...current,
    ...(patch.url !== undefined && { url: patch.url }),
    ...(patch.transport !== undefined && { transport: patch.transport }),
    ...(patch.timeoutMs !== undefined && { timeoutMs: patch.timeoutMs }),
    ...(patch.healthIntervalSeconds !== undefined && { healthIntervalSeconds: patch.healthIntervalSeconds }),
    ...(patch.failureThreshold !== undefined && { failureThreshold: patch.failureThreshold }),
    ...(patch.cooldownSeconds !== undefined && { cooldownSeconds: patch.cooldownSeconds }),
    ...(patch.enabled !== undefined && { enabled: patch.enabled }),
    ...sealed,
    updatedAt: nowIso(),
  };
  await commit(db, [db.update(backends).set(next).where(eq(backends.name, name))], "Conflict");
  return backendView(next);
}

/** Deletes a backend; 409 while a virtual server still lists it. */
export async function deleteBackend(db: Db, name: string): Promise<void> {
  await getBackendRow(db, name);
  const users = await db
    .select({ name: servers.name })
    .from(servers)
    .where(sql`EXISTS (SELECT 1 FROM json_each(${servers.backends}) WHERE json_each.value = ${name})`);
  if (users.length > 0) {
    throw new HttpError(409, "conflict", `Backend '${name}' is used by virtual servers`, {
      servers: users.map((u) => u.name),
    });
  }
  await commit(db, [db.delete(backends).where(eq(backends.name, name))], "Conflict");
}
