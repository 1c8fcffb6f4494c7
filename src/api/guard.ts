/**
 * Teams and visibility on every admin route (`auth/access.ts` holds the
 * rules), as one middleware after authentication, so the route handlers keep
 * their shape:
 *
 * - Objects the caller may not see are 404, exactly like unknown ones;
 *   listings leave them out.
 * - Changing or deleting needs `canEdit` (team admins: their team's objects;
 *   platform-owned objects: platform admins); `POST /backends/:name/refresh`
 *   needs `canUse` (developers may refresh what they use).
 * - Moving an object to a team needs the right to create there; a virtual
 *   server may only name backends its writer can see.
 * - Keys, spans, config export/import and `/metrics` are the platform admins';
 *   `/stats` answers only the backends the caller may see.
 *
 * Ownership is read from D1 (the admin path may query; the snapshot can be
 * up to 2 s old on another isolate, which is too old for a permission).
 */
import { eq } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { canEdit, canSee, canUse } from "../auth/access";
import type { Principal } from "../auth/principal";
import { database } from "../config/db";
import { apiTokens, backends, plugins, servers } from "../config/schema";
import type { Owned } from "../config/snapshot";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { creationTeam } from "./access";
import { decodeSegment } from "./path";

type Collection = "backends" | "servers" | "plugins" | "tokens";
const COLLECTIONS = new Set<string>(["backends", "servers", "plugins", "tokens"]);
// Config export/import reads and writes every team's objects at once (stats filter by visibility themselves).
const PLATFORM_ONLY = new Set(["keys", "spans", "config", "connections"]);
const KIND: Record<Collection, string> = { backends: "Backend", servers: "Server", plugins: "Plugin", tokens: "Token" };

/** How an object of a collection is owned: tokens and plugins have a team but no visibility of their own. */
export function ownedOf(
  collection: Collection,
  o: { team?: string | null; owner?: string | null; visibility?: unknown },
): Owned {
  if (collection === "tokens") return { team: o.team ?? null, visibility: o.team ? "team" : "private", owner: null };
  if (collection === "plugins") return { team: o.team ?? null, visibility: o.team ? "team" : "public" };
  const visibility = o.visibility === "private" || o.visibility === "team" ? o.visibility : "public";
  return { team: o.team ?? null, owner: o.owner ?? null, visibility };
}

async function loadOwned(c: Context<AppEnv>, collection: Collection, id: string): Promise<Owned | null> {
  const db = database(c.env.DB);
  const row =
    collection === "backends"
      ? await db
          .select({ team: backends.team, owner: backends.owner, visibility: backends.visibility })
          .from(backends)
          .where(eq(backends.name, id))
          .get()
      : collection === "servers"
        ? await db
            .select({ team: servers.team, owner: servers.owner, visibility: servers.visibility })
            .from(servers)
            .where(eq(servers.name, id))
            .get()
        : collection === "plugins"
          ? await db.select({ team: plugins.team }).from(plugins).where(eq(plugins.name, id)).get()
          : await db.select({ team: apiTokens.team }).from(apiTokens).where(eq(apiTokens.id, id)).get();
  return row ? ownedOf(collection, row) : null;
}

/** The JSON body, or undefined when it is not readable JSON (the route's validator answers that). */
async function body(c: Context<AppEnv>): Promise<Record<string, unknown> | undefined> {
  if (c.req.method === "GET" || c.req.method === "DELETE") return undefined;
  try {
    const value: unknown = await c.req.json();
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** 400 naming each listed backend the writer cannot see (as if it did not exist). */
async function assertBackendsVisible(c: Context<AppEnv>, p: Principal, names: unknown): Promise<void> {
  if (!Array.isArray(names)) return;
  const issues: { path: string; message: string }[] = [];
  for (const [i, name] of names.slice(0, 500).entries()) {
    if (typeof name !== "string") continue;
    const owned = await loadOwned(c, "backends", name);
    if (owned && !canSee(p, owned)) issues.push({ path: `backends.${i}`, message: `unknown backend '${name}'` });
  }
  if (issues.length > 0) throw new HttpError(400, "validation_failed", "Invalid request", issues);
}

async function filterListing(c: Context<AppEnv>, p: Principal, collection: Collection): Promise<void> {
  if (c.res.status !== 200) return;
  const items: unknown = await c.res.clone().json();
  if (!Array.isArray(items)) return;
  const kept = items.filter((item) => canSee(p, ownedOf(collection, item as Owned)));
  c.res = new Response(JSON.stringify(kept), { status: 200, headers: c.res.headers });
}

/** The guard; see the module comment. Platform admins pass untouched. */
export function accessGuard(): MiddlewareHandler<AppEnv> {
  return async function accessGuardMiddleware(c, next) {
    const p = c.get("principal");
    if (p.platformAdmin) return next();
    // The admin scope alone reads nothing: a role in some team is the least that does (viewer).
    if (p.teams.size === 0) throw new HttpError(403, "forbidden", "The admin API needs a role in a team");
    const [section = "", id, sub] = c.req.path
      .replace(/^\/api\/?/, "")
      .split("/")
      .map(decodeSegment);
    if (PLATFORM_ONLY.has(section)) throw new HttpError(403, "forbidden", "Only platform admins may use this route");
    if (!COLLECTIONS.has(section)) return next();
    const collection = section as Collection;
    const method = c.req.method;
    const input = await body(c);
    if (collection === "servers" && input) await assertBackendsVisible(c, p, input.backends);
    if (!id) {
      await next();
      if (method === "GET") await filterListing(c, p, collection);
      return;
    }
    if (collection === "plugins" && id === "kinds") return next();
    const owned = await loadOwned(c, collection, id);
    if (!owned) return next(); // the handler's own 404
    if (!canSee(p, owned)) throw new HttpError(404, "not_found", `${KIND[collection]} '${id}' not found`);
    if (method !== "GET") {
      const refresh = collection === "backends" && sub === "refresh" && method === "POST";
      if (refresh ? !canUse(p, owned) : !canEdit(p, owned)) {
        throw new HttpError(403, "forbidden", `You may read but not change ${KIND[collection].toLowerCase()} '${id}'`);
      }
      if (input && "team" in input && input.team !== owned.team) {
        await creationTeam(c, typeof input.team === "string" ? input.team : null);
      }
    }
    await next();
  };
}
