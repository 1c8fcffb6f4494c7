/**
 * Authorization over owned objects (pure logic, no I/O): who may see, use and
 * edit a backend, virtual server, plugin or token. The admin API and the MCP
 * path ask the same functions, so listing, calling and editing never disagree
 * (ContextForge once listed tools a caller could not call).
 *
 * - `platform_admin`: everything.
 * - `team_admin`: reads, uses and edits its team's objects, and manages the members.
 * - `developer`: reads and uses its team's objects.
 * - `viewer`: reads its team's objects.
 * Visibility: `private` (the owner, and platform admins), `team` (members of
 * the owning team), `public` (every authenticated caller, for reading and use).
 */
import type { Owned } from "../config/snapshot";
import type { Principal, TeamRole } from "./principal";

/** Role strength within a team, for "at least" checks. */
const RANK: Record<TeamRole, number> = { viewer: 1, developer: 2, team_admin: 3 };

/** True when `p` has at least `role` in `team`. */
export function hasRole(p: Principal, team: string | null | undefined, role: TeamRole): boolean {
  if (!team) return false;
  const has = p.teams.get(team);
  return has !== undefined && RANK[has] >= RANK[role];
}

/** May `p` see (read, list) the object? */
export function canSee(p: Principal, o: Owned): boolean {
  if (p.platformAdmin) return true;
  const visibility = o.visibility ?? "public";
  if (visibility === "public") return true;
  if (visibility === "private") return o.owner === p.subject;
  return hasRole(p, o.team, "viewer");
}

/** May `p` use the object over MCP (list and call what it offers)? Viewers read but do not use. */
export function canUse(p: Principal, o: Owned): boolean {
  if (p.platformAdmin) return true;
  const visibility = o.visibility ?? "public";
  if (visibility === "public") return true;
  if (visibility === "private") return o.owner === p.subject;
  return hasRole(p, o.team, "developer");
}

/** May `p` change or delete the object? Platform-owned objects (no team) are the platform admins'. */
export function canEdit(p: Principal, o: Owned): boolean {
  if (p.platformAdmin) return true;
  return hasRole(p, o.team, "team_admin");
}

/** May `p` create an object owned by `team` (null = platform-owned)? */
export function canCreateIn(p: Principal, team: string | null): boolean {
  if (p.platformAdmin) return true;
  return team !== null && hasRole(p, team, "team_admin");
}

/**
 * The team a new object gets when the request names none: platform admins
 * create platform-owned objects; a team admin of exactly one team creates in
 * it; anyone else must say which team (null, and `canCreateIn` refuses).
 */
export function defaultTeam(p: Principal): string | null {
  if (p.platformAdmin) return null;
  const adminOf = [...p.teams].filter(([, role]) => role === "team_admin").map(([team]) => team);
  return adminOf.length === 1 ? (adminOf[0] ?? null) : null;
}

/** A string that changes whenever what `p` may see or use changes (cache keys of per-caller views). */
export function accessKey(p: Principal): string {
  if (p.platformAdmin) return "*";
  const teams = [...p.teams].map(([t, r]) => `${t}=${r}`).sort();
  return `${p.subject}|${teams.join(",")}`;
}
