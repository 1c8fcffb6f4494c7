/**
 * The audit trail of the admin API: a middleware that records every
 * successful write (who: subject, team, token id; what: method, route, object
 * and a field-level diff of the stored row with secrets redacted; when), and
 * `GET /api/audit` to read it (filters, cursor). Platform admins read every
 * record, team admins their teams' records.
 *
 * The record is written after the change committed, awaited (an admin write
 * is not the hot path); if D1 fails right then, the change stands and the
 * failure is logged.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { database } from "../config/db";
import { type AuditObject, auditDiff, auditId, listAudit, loadSnapshot, writeAudit } from "../config/store/audit";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { apiRouter, commonErrors, jsonResponse } from "./openapi";
import { decodeSegment } from "./path";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const SINGULAR: Record<string, "backend" | "server" | "plugin" | "team"> = {
  backends: "backend",
  servers: "server",
  plugins: "plugin",
  teams: "team",
};

/** The object a write is about; `created` is the response body of a create. */
function objectOf(segments: string[], created: Record<string, unknown> | null): AuditObject | null {
  const [section = "", id, sub, subId] = segments;
  if (section === "teams" && id && sub === "members" && subId) return { type: "team_member", team: id, subject: subId };
  const createdKey =
    created && typeof (created.name ?? created.id) === "string" ? String(created.name ?? created.id) : undefined;
  if (section === "tokens") {
    const key = id ?? createdKey;
    return key ? { type: "token", id: key } : null;
  }
  const type = SINGULAR[section];
  const key = id ?? createdKey;
  return type && key ? { type, id: key } : null;
}

async function json(res: Response): Promise<Record<string, unknown> | null> {
  if (!res.headers.get("content-type")?.includes("application/json")) return null;
  try {
    const value: unknown = await res.clone().json();
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Records successful admin writes; see the module comment. */
export function auditTrail(): MiddlewareHandler<AppEnv> {
  return async function auditTrailMiddleware(c, next) {
    if (!WRITES.has(c.req.method)) return next();
    const segments = c.req.path
      .replace(/^\/api\/?/, "")
      .split("/")
      .map(decodeSegment);
    const db = database(c.env.DB);
    const known = objectOf(segments, null);
    const before = known && segments[1] ? await loadSnapshot(db, known).catch(() => null) : null;
    await next();
    if (c.res.status >= 400) return;
    // A configuration import changes many objects at once: its record carries the plan (names and field
    // names only, never values, so no secret), and a dry run, which writes nothing, is not recorded.
    const imported = segments[0] === "config" && segments[1] === "import" ? await json(c.res) : null;
    if (imported && imported.applied !== true) return;
    const object = known ?? objectOf(segments, await json(c.res));
    try {
      const after = object && c.req.method !== "DELETE" ? await loadSnapshot(db, object) : null;
      const principal = c.get("principal");
      const at = new Date().toISOString();
      const team = (after?.team ?? before?.team ?? (object?.type === "team" ? object.id : null)) as string | null;
      await writeAudit(db, {
        id: auditId(at),
        at,
        subject: principal.subject,
        team: object?.type === "team_member" ? object.team : team,
        tokenId: principal.tokenId,
        method: c.req.method,
        route: c.req.path,
        objectType: object?.type ?? (segments[0] || "api"),
        objectId: object ? ("id" in object ? object.id : `${object.team}/${object.subject}`) : (segments[1] ?? null),
        status: c.res.status,
        diff: imported
          ? { changes: imported.changes }
          : object && segments[2] !== "refresh"
            ? auditDiff(before, after)
            : {},
      });
    } catch (err) {
      console.error("audit record not written", err instanceof Error ? err.name : "error");
    }
  };
}

const AuditRecord = z
  .object({
    id: z.string(),
    at: z.string(),
    subject: z.string(),
    team: z.string().nullable(),
    tokenId: z.string().nullable(),
    method: z.string(),
    route: z.string(),
    objectType: z.string(),
    objectId: z.string().nullable(),
    status: z.number().int(),
    diff: z.record(z.string(), z.unknown()),
  })
  .openapi("AuditRecord");

const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(64).optional().openapi({ description: "`nextCursor` of the previous page" }),
  subject: z.string().max(600).optional(),
  team: z.string().max(32).optional(),
  objectType: z.string().max(32).optional(),
  objectId: z.string().max(600).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

/** The teams whose records the caller may read (undefined: all). */
function readableTeams(c: Context<AppEnv>): string[] | undefined {
  const p = c.get("principal");
  if (p.platformAdmin) return undefined;
  const teams = [...p.teams].filter(([, role]) => role === "team_admin").map(([team]) => team);
  if (teams.length === 0) throw new HttpError(403, "forbidden", "Only platform and team admins read the audit log");
  return teams;
}

/** Routes under /api/audit. */
export const auditRoutes = apiRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["audit"],
    summary: "Admin writes, newest first",
    description:
      "Who (subject, team, token id), what (method, route, object, field-level diff with secrets shown as [redacted]) and when. Team admins see their teams' records. Kept like spans (AUDIT_RETENTION_DAYS, default SPAN_RETENTION_DAYS).",
    request: { query: AuditQuery },
    responses: {
      200: jsonResponse(z.object({ items: z.array(AuditRecord), nextCursor: z.string().nullable() }), "One page"),
      ...commonErrors,
    },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const teamsIn = readableTeams(c);
    const since = q.since && new Date(q.since).toISOString();
    const until = q.until && new Date(q.until).toISOString();
    const page = await listAudit(database(c.env.DB), {
      ...q,
      ...(since && { since }),
      ...(until && { until }),
      ...(teamsIn && { teamsIn }),
    });
    return c.json(page, 200);
  },
);
