/**
 * The index of upstream OAuth connections (`upstream_connections`): who has
 * connected which backend. The tokens are never here (they live sealed in
 * each user's UpstreamTokenDO); this lets admins list and revoke anyone's
 * connections and key rotation find every object holding tokens. Not
 * configuration: writes do not bump the config version.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db";
import { upstreamConnections } from "../schema";
import { nowIso } from "./write";

/** Most rows one listing returns (bounded, design rule 5). */
export const MAX_CONNECTIONS_LISTED = 1_000;

/** One indexed connection. */
export interface ConnectionRow {
  subject: string;
  backend: string;
  createdAt: string;
  updatedAt: string;
}

/** Records that `subject` connected `backend` (again). */
export async function recordConnection(db: Db, subject: string, backend: string): Promise<void> {
  const now = nowIso();
  await db
    .insert(upstreamConnections)
    .values({ subject, backend, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [upstreamConnections.subject, upstreamConnections.backend],
      set: { updatedAt: now },
    });
}

/** Forgets one connection; true when it was indexed. */
export async function removeConnection(db: Db, subject: string, backend: string): Promise<boolean> {
  const removed = await db
    .delete(upstreamConnections)
    .where(and(eq(upstreamConnections.subject, subject), eq(upstreamConnections.backend, backend)))
    .returning({ subject: upstreamConnections.subject });
  return removed.length > 0;
}

/** Indexed connections, optionally of one user or one backend (at most MAX_CONNECTIONS_LISTED). */
export async function listConnections(
  db: Db,
  filter: { subject?: string; backend?: string },
): Promise<ConnectionRow[]> {
  const conditions = [
    ...(filter.subject !== undefined ? [eq(upstreamConnections.subject, filter.subject)] : []),
    ...(filter.backend !== undefined ? [eq(upstreamConnections.backend, filter.backend)] : []),
  ];
  return db
    .select()
    .from(upstreamConnections)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(upstreamConnections.subject, upstreamConnections.backend)
    .limit(MAX_CONNECTIONS_LISTED);
}
