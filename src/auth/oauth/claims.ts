/**
 * From verified token claims to a Principal (pure): the subject, the user
 * name plugins match, the scopes, and team memberships from a claim mapped
 * per issuer plus the explicit memberships stored in D1 (from the config
 * snapshot, never a query).
 */
import type { ConfigSnapshot } from "../../config/snapshot";
import type { Principal, Scope, TeamRole } from "../principal";
import type { IssuerConfig } from "./issuers";

/** Claims the mapping reads. */
export type Claims = Record<string, unknown>;

/** The issuer fields the mapping needs (an `IssuerConfig`, or the built-in server's upstream login). */
export type ClaimMapping = Pick<IssuerConfig, "name" | "usernameClaim" | "teamsClaim" | "teams" | "grantScopes">;

const MAX_VALUES = 100;

/** A claim by dot path (`realm_access.roles`); bounded depth. */
export function claimAt(claims: Claims, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split(".").slice(0, 8)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean).slice(0, MAX_VALUES);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string").slice(0, MAX_VALUES);
  return [];
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= 256 ? value : null;
}

/** `scope` (space-separated, RFC 9068) or `scp` (array or string), limited to the gateway's scopes. */
export function scopesOf(claims: Claims, granted: readonly Scope[] = []): Scope[] {
  const out = new Set<Scope>(granted);
  for (const s of [...strings(claims.scope), ...strings(claims.scp)]) {
    if (s === "mcp" || s === "admin") out.add(s);
  }
  return [...out];
}

/** Team memberships and platform admin from the mapped claim. */
export function mappedTeams(
  mapping: ClaimMapping,
  claims: Claims,
): { teams: Map<string, TeamRole>; platformAdmin: boolean } {
  const teams = new Map<string, TeamRole>();
  let platformAdmin = false;
  if (!mapping.teamsClaim || !mapping.teams) return { teams, platformAdmin };
  const rank = { viewer: 1, developer: 2, team_admin: 3 } as const;
  for (const value of strings(claimAt(claims, mapping.teamsClaim))) {
    const m = Object.hasOwn(mapping.teams, value) ? mapping.teams[value] : undefined;
    if (!m) continue;
    if (m.role === "platform_admin") platformAdmin = true;
    else if (m.team) {
      const had = teams.get(m.team);
      if (!had || rank[m.role] > rank[had]) teams.set(m.team, m.role);
    }
  }
  return { teams, platformAdmin };
}

/** The Principal of a verified token; null without a usable `sub`. */
export function principalFromClaims(
  mapping: ClaimMapping,
  claims: Claims,
  config: ConfigSnapshot,
  scopes?: readonly Scope[],
): Principal | null {
  const sub = text(claims.sub);
  if (!sub) return null;
  const subject = `oauth:${mapping.name}:${sub}`;
  const name =
    (mapping.usernameClaim ? text(claimAt(claims, mapping.usernameClaim)) : null) ??
    text(claims.preferred_username) ??
    text(claims.email) ??
    sub;
  const { teams, platformAdmin } = mappedTeams(mapping, claims);
  for (const [team, role] of config.members?.get(subject) ?? []) if (!teams.has(team)) teams.set(team, role);
  return {
    kind: "oauth",
    subject,
    name,
    tokenId: null,
    scopes: scopes ?? scopesOf(claims, mapping.grantScopes),
    servers: null,
    platformAdmin,
    teams,
  };
}
