/**
 * Turns a bearer secret into a Principal, using only the cached config
 * (no database query on the request path).
 */
import type { ConfigSnapshot, TokenConfig } from "../config/snapshot";
import { ADMIN_PRINCIPAL, type Principal, type TeamRole } from "./principal";
import { secretsEqual, sha256Hex, TOKEN_PREFIX } from "./secrets";

/** Extracts the secret from `Authorization: Bearer <secret>`, or null. */
export function bearerSecret(header: string | undefined): string | null {
  if (!header) return null;
  // JWT access tokens run to a few KiB; 16 KiB bounds the work any one header can cause.
  const match = /^Bearer\s+(\S{1,16384})\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Resolves a secret: gateway API tokens (recognised by their prefix) are found
 * by hash in the snapshot; anything else is compared with ADMIN_TOKEN in
 * constant time. Expired tokens resolve to null.
 */
export async function authenticate(
  secret: string,
  adminToken: string | undefined,
  config: ConfigSnapshot,
  now = Date.now(),
): Promise<Principal | null> {
  if (secret.startsWith(TOKEN_PREFIX)) {
    const token = config.tokensByHash.get(await sha256Hex(secret));
    if (!token) return null;
    if (token.expiresAt !== null && token.expiresAt <= now) return null;
    return tokenPrincipal(token, config);
  }
  if (adminToken && (await secretsEqual(secret, adminToken))) return ADMIN_PRINCIPAL;
  return null;
}

/**
 * An API token's Principal. Its role is its `role`, else `developer` in its
 * team, else (no team) `platform_admin` when it has the `admin` scope: tokens
 * from before teams keep exactly the power they had. Explicit memberships of
 * the token's id (`/api/teams/:team/members`) add teams.
 */
export function tokenPrincipal(token: TokenConfig, config: ConfigSnapshot): Principal {
  const role = token.role ?? (token.team ? "developer" : token.scopes.includes("admin") ? "platform_admin" : null);
  const teams = new Map<string, TeamRole>(config.members?.get(token.id) ?? []);
  if (token.team && role && role !== "platform_admin") teams.set(token.team, role);
  return {
    kind: "token",
    subject: token.id,
    name: token.name,
    tokenId: token.id,
    scopes: token.scopes,
    servers: token.servers,
    platformAdmin: role === "platform_admin",
    teams,
  };
}

/** The presented bearer as `McpContext.caller.credential` wants it (absent without one). */
export function credentialOf(header: string | undefined): { credential?: string } {
  const secret = bearerSecret(header);
  return secret ? { credential: secret } : {};
}
