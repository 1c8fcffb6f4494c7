/**
 * Bearer secrets already resolved by this isolate, so a warm request does not
 * hash its token again (a SHA-256 per request was a measurable share of a
 * warm call's CPU; issue 15). An entry holds for one config snapshot and one
 * `ADMIN_TOKEN`: any config change (a revoked or edited token included)
 * makes every entry miss, so revocation still takes effect as the config
 * cache promises (design rule 1). A token's expiry is checked on every use.
 * Only successful resolutions are kept (a flood of bad secrets cannot push
 * them out faster than it costs to compute them), and the map is bounded.
 * The secrets stay in this isolate's memory, as the requests carrying them
 * do; they are never logged.
 */
import { authenticate } from "../auth/authenticate";
import type { Principal } from "../auth/principal";
import type { ConfigSnapshot } from "../config/snapshot";
import { LruMap } from "../util/lru";

interface Resolved {
  config: ConfigSnapshot;
  adminToken: string | undefined;
  principal: Principal;
  /** The token's expiry (epoch ms), or null. */
  expiresAt: number | null;
}

/** Distinct secrets remembered per isolate (tokens are at most LIMITS.tokens, 1000, plus the admin token). */
const MAX_SECRETS = 2_048;
const resolved = new LruMap<string, Resolved>(MAX_SECRETS);

function expiryOf(config: ConfigSnapshot, principal: Principal): number | null {
  if (principal.kind !== "token") return null;
  for (const token of config.tokensByHash.values()) if (token.id === principal.tokenId) return token.expiresAt;
  return null;
}

/** `authenticate`, remembered per secret for the current snapshot (see the module comment). */
export async function authenticateCached(
  secret: string,
  adminToken: string | undefined,
  config: ConfigSnapshot,
  now = Date.now(),
): Promise<Principal | null> {
  const known = resolved.get(secret);
  if (known && known.config === config && known.adminToken === adminToken) {
    if (known.expiresAt !== null && known.expiresAt <= now) return null;
    return known.principal;
  }
  const principal = await authenticate(secret, adminToken, config, now);
  if (principal) resolved.set(secret, { config, adminToken, principal, expiresAt: expiryOf(config, principal) });
  else resolved.delete(secret);
  return principal;
}
