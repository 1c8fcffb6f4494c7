/**
 * API token store. The secret is generated here, returned once, and only its
 * SHA-256 is written to D1.
 */

import type { z } from "@hono/zod-openapi";
import { count, desc, eq } from "drizzle-orm";
import { newId, newTokenSecret, sha256Hex } from "../../auth/secrets";
import { HttpError } from "../../errors";
import type { Db } from "../db";
import { LIMITS } from "../limits";
import { type ApiTokenRow, apiTokens } from "../schema";
import type { Token, TokenCreate, TokenCreated } from "../token-shapes";
import { assertNamesExist } from "./servers";
import { assertBelowLimit, commit, nowIso } from "./write";

export type TokenView = z.infer<typeof Token>;

function tokenView(row: ApiTokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    tokenPrefix: row.tokenPrefix,
    scopes: row.scopes,
    servers: row.servers,
    expiresAt: row.expiresAt,
    team: row.team,
    role: row.role,
    createdAt: row.createdAt,
  };
}

/** All tokens, newest first, without secrets. */
export async function listTokens(db: Db): Promise<TokenView[]> {
  return (await db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt))).map(tokenView);
}

/** Creates a token and returns its secret, the only time it is ever visible. */
export async function createToken(db: Db, input: z.infer<typeof TokenCreate>): Promise<z.infer<typeof TokenCreated>> {
  await assertNamesExist(db, input.servers, "servers", "server");
  const [total] = await db.select({ n: count() }).from(apiTokens);
  assertBelowLimit(total?.n ?? 0, LIMITS.tokens, "token");
  const secret = newTokenSecret();
  const row: ApiTokenRow = {
    id: newId("tok"),
    name: input.name,
    tokenHash: await sha256Hex(secret),
    tokenPrefix: secret.slice(0, 12),
    scopes: input.scopes,
    servers: input.servers ?? null,
    expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
    team: input.team ?? null,
    role: input.role ?? null,
    createdAt: nowIso(),
  };
  await commit(db, [db.insert(apiTokens).values(row)], `Token '${input.name}' already exists`);
  return { ...tokenView(row), token: secret };
}

/** Revokes a token; 404 when unknown. */
export async function deleteToken(db: Db, id: string): Promise<void> {
  const row = await db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.id, id)).get();
  if (!row) throw new HttpError(404, "not_found", `Token '${id}' not found`);
  await commit(db, [db.delete(apiTokens).where(eq(apiTokens.id, id))], "Conflict");
}
