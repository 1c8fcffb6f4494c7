/**
 * Turns a bearer secret into a Principal, using only the cached config
 * (no database query on the request path).
 */
import type { ConfigSnapshot } from "../config/snapshot";
import type { Principal } from "./principal";
import { secretsEqual, sha256Hex, TOKEN_PREFIX } from "./secrets";

/** Extracts the secret from `Authorization: Bearer <secret>`, or null. */
export function bearerSecret(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
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
    return { kind: "token", id: token.id, name: token.name, scopes: token.scopes, servers: token.servers };
  }
  if (adminToken && (await secretsEqual(secret, adminToken))) return { kind: "admin", name: "admin" };
  return null;
}
