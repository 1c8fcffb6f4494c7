/**
 * Authenticates a bearer credential for one protected resource (an MCP
 * endpoint or the admin API), whatever kind it is: an API token (`mcpgw_…`,
 * found by hash in the config snapshot), a JWT from a trusted issuer
 * (`oauth/jwt.ts`), a token of the built-in authorization server
 * (`oauth/server.ts`), or ADMIN_TOKEN. No D1 query: tokens come from the
 * snapshot, JWKS from the isolate's cache, built-in tokens from KV.
 */
import type { ConfigSnapshot } from "../config/snapshot";
import { authenticate } from "./authenticate";
import { principalFromClaims } from "./oauth/claims";
import { configuredIssuers } from "./oauth/issuers";
import { looksLikeJwt, verifyJwt } from "./oauth/jwt";
import { builtinPrincipal, looksLikeBuiltinToken } from "./oauth/tokens";
import type { Principal } from "./principal";

/** What authentication needs from the environment. */
export interface CallerEnv {
  ADMIN_TOKEN?: string;
  OAUTH_ISSUERS?: string;
  OAUTH_KV?: KVNamespace;
  OAUTH_LOGIN_ISSUER?: string;
  PUBLIC_URL?: string;
}

/** The caller, or why not (a class for logs and spans, never the token). */
export type CallerResult = { principal: Principal } | { failure: string };

/**
 * Resolves `secret` for `resource` (an RFC 8707 resource identifier of this
 * gateway). `direct` resolves API tokens and ADMIN_TOKEN; the MCP path passes
 * its per-isolate cache of those (`edge/auth-cache.ts`) so a warm request does
 * not hash its token again.
 */
export async function authenticateCaller(
  secret: string,
  env: CallerEnv,
  config: ConfigSnapshot,
  resource: string,
  origin: string,
  direct: (secret: string) => Promise<Principal | null> = (s) => authenticate(s, env.ADMIN_TOKEN, config),
): Promise<CallerResult> {
  const known = await direct(secret);
  if (known) return { principal: known };
  const issuers = configuredIssuers(env.OAUTH_ISSUERS);
  if (issuers.length > 0 && looksLikeJwt(secret)) {
    const result = await verifyJwt(secret, issuers, resource);
    if ("failure" in result) return { failure: `jwt:${result.failure}` };
    const principal = principalFromClaims(result.issuer, result.claims, config);
    return principal ? { principal } : { failure: "jwt:no-subject" };
  }
  if (looksLikeBuiltinToken(secret)) {
    const principal = await builtinPrincipal(env, secret, resource, origin, config);
    return principal ? { principal } : { failure: "oauth:invalid" };
  }
  return { failure: "unknown-token" };
}
