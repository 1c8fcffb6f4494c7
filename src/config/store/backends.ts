/**
 * Backend CRUD against D1. Header values are encrypted before they are stored
 * and never leave this module in API views.
 */

import type { z } from "@hono/zod-openapi";
import { count, eq, sql } from "drizzle-orm";
import type { KeyRing } from "../../auth/keys";
import { HttpError } from "../../errors";
import type { Db } from "../db";
import { encryptHeaders, type OpenedHeaders } from "../header-crypto";
import { LIMITS } from "../limits";
import type { OpenApiOperation, OpenApiSettings } from "../openapi-types";
import { type BackendRow, backends, servers, upstreamConnections } from "../schema";
import { type Backend, type BackendCreate, type BackendUpdate, REDACTED } from "../shapes";
import { authView, storedAuth } from "./upstream-auth";
import { assertBelowLimit, commit, nowIso } from "./write";

export type BackendView = z.infer<typeof Backend>;

/** Who owns a new object and who may see it (decided by the admin API from the caller). */
export interface Ownership {
  team: string | null;
  owner: string | null;
  visibility: "private" | "team" | "public";
}

/** Platform-owned and public: what objects created without an owner are (and every row from before teams). */
export const PLATFORM_PUBLIC: Ownership = { team: null, owner: null, visibility: "public" };

/** Whether a backend's stored headers can be used: none stored, readable, or sealed under a key the deployment lacks. */
export type CredentialsState = "none" | "ok" | "unreadable";

/** The credentials state of a row, given a way to open its headers. */
export async function credentialsState(
  row: BackendRow,
  openStored: (sealed: string) => Promise<OpenedHeaders>,
): Promise<CredentialsState> {
  if (!row.headersEncrypted) return "none";
  return (await openStored(row.headersEncrypted)).readable ? "ok" : "unreadable";
}

/** The API view of a stored backend: header names only, and whether their values can be used. */
export function backendView(row: BackendRow, credentials: CredentialsState): BackendView {
  return {
    name: row.name,
    url: row.url,
    transport: row.transport,
    ...(row.openapi && { openapi: row.openapi }),
    ...(row.openapiOperations && { tools: row.openapiOperations.map((o) => o.tool) }),
    headers: Object.fromEntries(row.headerNames.map((h) => [h, REDACTED])),
    credentials,
    timeoutMs: row.timeoutMs,
    healthIntervalSeconds: row.healthIntervalSeconds,
    failureThreshold: row.failureThreshold,
    cooldownSeconds: row.cooldownSeconds,
    enabled: row.enabled,
    auth: authView(row.auth),
    team: row.team,
    owner: row.owner,
    visibility: row.visibility,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** All backends, by name. */
export async function listBackends(
  db: Db,
  openStored: (sealed: string) => Promise<OpenedHeaders>,
): Promise<BackendView[]> {
  const rows = await db.select().from(backends).orderBy(backends.name);
  return Promise.all(rows.map(async (row) => backendView(row, await credentialsState(row, openStored))));
}

/** One backend row, or 404. */
export async function getBackendRow(db: Db, name: string): Promise<BackendRow> {
  const row = await db.select().from(backends).where(eq(backends.name, name)).get();
  if (!row) throw new HttpError(404, "not_found", `Backend '${name}' not found`);
  return row;
}

async function sealHeaders(headers: Record<string, string> | undefined, ring: () => Promise<KeyRing>) {
  if (!headers || Object.keys(headers).length === 0) return { headersEncrypted: null, headerNames: [] };
  return { headersEncrypted: await encryptHeaders(headers, await ring()), headerNames: Object.keys(headers).sort() };
}

/** An OpenAPI backend's settings and the operations derived from its document (checked by the route). */
export interface OpenApiColumns {
  openapi: OpenApiSettings | null;
  openapiOperations: OpenApiOperation[] | null;
}

/** Stores a new backend; 409 if the name is taken or the limit is reached. */
export async function createBackend(
  db: Db,
  input: z.infer<typeof BackendCreate>,
  ring: () => Promise<KeyRing>,
  ownership: Ownership = PLATFORM_PUBLIC,
  openapi: OpenApiColumns = { openapi: null, openapiOperations: null },
): Promise<BackendView> {
  const [total] = await db.select({ n: count() }).from(backends);
  assertBelowLimit(total?.n ?? 0, LIMITS.backends, "backend");
  const now = nowIso();
  const row: BackendRow = {
    name: input.name,
    url: input.url,
    transport: input.transport ?? "streamable-http",
    ...openapi,
    ...(await sealHeaders(input.headers, ring)),
    timeoutMs: input.timeoutMs ?? 30_000,
    healthIntervalSeconds: input.healthIntervalSeconds ?? 30,
    failureThreshold: input.failureThreshold ?? 5,
    cooldownSeconds: input.cooldownSeconds ?? 30,
    enabled: input.enabled ?? true,
    auth: input.auth ? await storedAuth(input.auth, null, ring) : null,
    ...ownership,
    createdAt: now,
    updatedAt: now,
  };
  await commit(db, [db.insert(backends).values(row)], `Backend '${input.name}' already exists`);
  return backendView(row, row.headersEncrypted ? "ok" : "none");
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
  openStored: (sealed: string) => Promise<OpenedHeaders>,
  ring: () => Promise<KeyRing>,
  openapi?: OpenApiColumns,
): Promise<BackendView> {
  const current = await getBackendRow(db, name);
  let sealed: { headersEncrypted: string | null; headerNames: string[] } | undefined;
  if (patch.headers) {
    const keepsMasked = Object.values(patch.headers).some((v) => v === REDACTED);
    const existing =
      keepsMasked && current.headersEncrypted
        ? await openStored(current.headersEncrypted)
        : { readable: true, headers: {} as Record<string, string> };
    const merged: Record<string, string> = {};
    for (const [h, v] of Object.entries(patch.headers)) {
      if (v !== REDACTED) merged[h] = v;
      else if (existing.headers[h] !== undefined) merged[h] = existing.headers[h];
      else
        throw new HttpError(400, "validation_failed", "Invalid request", [
          {
            path: `headers.${h}`,
            message: existing.readable
              ? "has no stored value to keep"
              : "cannot keep its stored value: it cannot be decrypted with the configured keys; send the value again",
          },
        ]);
    }
    sealed = await sealHeaders(merged, ring);
  }
  const next: BackendRow = {
    ...current,
    ...(patch.url !== undefined && { url: patch.url }),
    ...(patch.transport !== undefined && { transport: patch.transport }),
    ...openapi,
    ...(patch.timeoutMs !== undefined && { timeoutMs: patch.timeoutMs }),
    ...(patch.healthIntervalSeconds !== undefined && { healthIntervalSeconds: patch.healthIntervalSeconds }),
    ...(patch.failureThreshold !== undefined && { failureThreshold: patch.failureThreshold }),
    ...(patch.cooldownSeconds !== undefined && { cooldownSeconds: patch.cooldownSeconds }),
    ...(patch.enabled !== undefined && { enabled: patch.enabled }),
    ...(patch.team !== undefined && { team: patch.team }),
    ...(patch.visibility !== undefined && { visibility: patch.visibility }),
    ...(patch.auth !== undefined && { auth: patch.auth && (await storedAuth(patch.auth, current.auth, ring)) }),
    ...sealed,
    updatedAt: nowIso(),
  };
  await commit(db, [db.update(backends).set(next).where(eq(backends.name, name))], "Conflict");
  const credentials = sealed ? (sealed.headersEncrypted ? "ok" : "none") : await credentialsState(next, openStored);
  return backendView(next, credentials);
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
  // Its users' connections go with it (the tokens themselves are dropped by the API, which can reach the objects).
  await commit(
    db,
    [
      db.delete(backends).where(eq(backends.name, name)),
      db.delete(upstreamConnections).where(eq(upstreamConnections.backend, name)),
    ],
    "Conflict",
  );
}
