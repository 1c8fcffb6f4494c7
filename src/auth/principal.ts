/**
 * Who is calling, after authentication: the operator (ADMIN_TOKEN), an API
 * token, an OAuth caller (a JWT from a configured issuer, or a token of the
 * built-in authorization server), or nobody (`auth: "none"` servers). One
 * shape for all, so every check downstream (admin routes, MCP visibility,
 * plugin conditions, rate-limit keys, spans, session binding) reads the same
 * fields and never asks how the caller authenticated.
 */
import type { Role } from "../config/schema";

/** Scopes a caller can carry: `mcp` (use the MCP endpoints) and `admin` (use the admin API). */
export type Scope = "mcp" | "admin";

/** A role within one team. */
export type TeamRole = Exclude<Role, "platform_admin">;

/** The caller after authentication. */
export interface Principal {
  kind: "admin" | "token" | "oauth" | "anonymous";
  /**
   * Stable id of the caller, bound into sessions and used for ownership:
   * `admin`, `anonymous`, an API token id (`tok_…`) or `oauth:<issuer>:<sub>`.
   * Never a secret.
   */
  subject: string;
  /** What plugin `user_patterns` and rate-limit keys see: token name, `admin`, `anonymous`, or the OAuth user name. */
  name: string;
  /** The API token id, when the caller is one (audit records). */
  tokenId: string | null;
  scopes: readonly Scope[];
  /** MCP servers this caller is limited to; null = every server and `/mcp`. */
  servers: readonly string[] | null;
  /** Everything, everywhere (the admin token, legacy admin tokens, mapped platform admins). */
  platformAdmin: boolean;
  /** Team → role. */
  teams: ReadonlyMap<string, TeamRole>;
}

/** The operator: ADMIN_TOKEN. */
export const ADMIN_PRINCIPAL: Principal = {
  kind: "admin",
  subject: "admin",
  name: "admin",
  tokenId: null,
  scopes: ["mcp", "admin"],
  servers: null,
  platformAdmin: true,
  teams: new Map(),
};

/** The caller of an `auth: "none"` server. */
export const ANONYMOUS: Principal = {
  kind: "anonymous",
  subject: "anonymous",
  name: "anonymous",
  tokenId: null,
  scopes: ["mcp"],
  servers: null,
  platformAdmin: false,
  teams: new Map(),
};

/** True when the principal may use the admin API at all (what it may do there is `access.ts`). */
export function canAdmin(p: Principal): boolean {
  return p.scopes.includes("admin");
}

/** True when the principal may call MCP on the given server (`null` = the `/mcp` aggregate). */
export function canUseMcp(p: Principal, server: string | null): boolean {
  if (!p.scopes.includes("mcp")) return false;
  if (p.servers === null) return true;
  // A token limited to named servers cannot use the all-backends aggregate.
  return server !== null && p.servers.includes(server);
}
