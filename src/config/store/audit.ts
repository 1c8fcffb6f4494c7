/**
 * The audit log in D1: who changed what and when, with a field-level diff of
 * the stored rows. Secrets never enter it: fields whose name says they hold
 * one (header values, token hashes, sealed configs, keys) are shown only as
 * changed or not. Not configuration: writing it does not bump the version.
 */
import { and, desc, eq, gte, inArray, lt, lte, type SQL } from "drizzle-orm";
import { base64url, randomBytes } from "../../util/bytes";
import type { Db } from "../db";
import { type AuditRow, apiTokens, auditLog, backends, plugins, servers, teamMembers, teams } from "../schema";

/** Shown instead of a secret value. */
export const REDACTED_VALUE = "[redacted]";

/** Field names whose values are secrets or secret-derived (compared, never shown). */
const SECRET_FIELD = /secret|password|hash|encrypted|authorization|^headers$|^token$|^config$/i;

/**
 * Fields that change on every write and say nothing, or are derived from
 * another field (an OpenAPI backend's operations come from its `openapi`
 * settings, whose diff is recorded; the derived list could be a megabyte).
 */
const NOISE = new Set(["updatedAt", "openapiOperations"]);

/** A stored object before or after a write: a flat record of columns. */
export type Snapshot = Record<string, unknown> | null;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Field-level diff `{field: {from?, to?}}` between two snapshots (null =
 * absent: a create or a delete), secret fields redacted. Plugin configs are
 * sealed where secret and otherwise plain, so `config` is diffed one level
 * down with the same redaction.
 */
export function auditDiff(before: Snapshot, after: Snapshot): Record<string, { from?: unknown; to?: unknown }> {
  const out: Record<string, { from?: unknown; to?: unknown }> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    if (NOISE.has(key)) continue;
    const from = before?.[key];
    const to = after?.[key];
    if (before && after && same(from, to)) continue;
    if (key === "config" && isRecord(from ?? {}) && isRecord(to ?? {})) {
      for (const [k, change] of Object.entries(
        auditDiff(before ? (from as Snapshot) : null, after ? (to as Snapshot) : null),
      )) {
        out[`config.${k}`] = change;
      }
      continue;
    }
    const secret = SECRET_FIELD.test(key);
    out[key] = {
      ...(before && { from: secret ? REDACTED_VALUE : from }),
      ...(after && { to: secret ? REDACTED_VALUE : to }),
    };
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** What an audited route is about: a collection and the object's key. */
export type AuditObject =
  | { type: "backend" | "server" | "plugin" | "team"; id: string }
  | { type: "token"; id: string }
  | { type: "team_member"; team: string; subject: string };

/** The stored row of an object, or null. */
export async function loadSnapshot(db: Db, o: AuditObject): Promise<Snapshot> {
  switch (o.type) {
    case "backend":
      return (await db.select().from(backends).where(eq(backends.name, o.id)).get()) ?? null;
    case "server":
      return (await db.select().from(servers).where(eq(servers.name, o.id)).get()) ?? null;
    case "plugin":
      return (await db.select().from(plugins).where(eq(plugins.name, o.id)).get()) ?? null;
    case "token":
      return (await db.select().from(apiTokens).where(eq(apiTokens.id, o.id)).get()) ?? null;
    case "team":
      return (await db.select().from(teams).where(eq(teams.name, o.id)).get()) ?? null;
    case "team_member":
      return (
        (await db
          .select()
          .from(teamMembers)
          .where(and(eq(teamMembers.team, o.team), eq(teamMembers.subject, o.subject)))
          .get()) ?? null
      );
  }
}

/** A new, time-sortable record id (the listing's cursor). */
export function auditId(at: string): string {
  return `${at}_${base64url(randomBytes(6))}`;
}

/** Stores one record. */
export async function writeAudit(db: Db, row: AuditRow): Promise<void> {
  await db.insert(auditLog).values(row);
}

/** Listing filters. */
export interface AuditQuery {
  limit: number;
  cursor?: string;
  subject?: string;
  team?: string;
  objectType?: string;
  objectId?: string;
  since?: string;
  until?: string;
  /** Only these teams (team admins); undefined = all. */
  teamsIn?: readonly string[];
}

/** Records newest first, `limit + 1` read to tell whether there is a next page. */
export async function listAudit(db: Db, q: AuditQuery): Promise<{ items: AuditRow[]; nextCursor: string | null }> {
  const where: SQL[] = [];
  if (q.cursor) where.push(lt(auditLog.id, q.cursor));
  if (q.subject) where.push(eq(auditLog.subject, q.subject));
  if (q.team) where.push(eq(auditLog.team, q.team));
  if (q.objectType) where.push(eq(auditLog.objectType, q.objectType));
  if (q.objectId) where.push(eq(auditLog.objectId, q.objectId));
  if (q.since) where.push(gte(auditLog.at, q.since));
  if (q.until) where.push(lte(auditLog.at, q.until));
  if (q.teamsIn) where.push(inArray(auditLog.team, q.teamsIn.length > 0 ? [...q.teamsIn] : ["\u0000"]));
  const rows = await db
    .select()
    .from(auditLog)
    .where(where.length > 0 ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(q.limit + 1);
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
}

/** Deletes records older than `days` (the daily cron, like spans). */
export async function deleteAuditOlderThan(db: Db, days: number, now = Date.now()): Promise<void> {
  const cutoff = new Date(now - days * 86_400_000).toISOString();
  await db.delete(auditLog).where(lt(auditLog.at, cutoff));
}
