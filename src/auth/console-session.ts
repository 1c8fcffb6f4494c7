/**
 * Admin console sessions (README, "Admin console"). Signing in with the admin
 * token or an admin-scoped API token, or through the built-in OAuth
 * authorization server (`console/oauth-login.ts`), gives the browser a cookie
 * that holds a sealed session, never a readable credential:
 *
 * - sealed with the key ring under its own purpose (`seal.ts`), so it cannot
 *   be forged or read, nor mistaken for another sealed value;
 * - bound to the SHA-256 of the credential it was opened with: changing
 *   `ADMIN_TOKEN` or revoking the API token ends the session (for a token,
 *   within the config cache's 2 s, design rule 1), and an expired token too;
 * - an OAuth session carries the gateway-issued access token inside the
 *   sealed value and validates it on every request, so revoking the grant
 *   ends the session at once, and so does the token's own expiry (an hour);
 * - with an absolute expiry (8 hours) checked on every request;
 * - with its own random CSRF token, which the console page carries and every
 *   write must echo in `X-CSRF-Token` (double submit bound to the session),
 *   on top of `SameSite=Strict` and an Origin check.
 *
 * The cookie is `__Host-` prefixed, `HttpOnly; Secure; SameSite=Strict;
 * Path=/`. Sessions hold no server-side state, so signing out clears the
 * cookie; to end every session at once, rotate the credential.
 */
import type { ConfigSnapshot } from "../config/snapshot";
import { base64url, randomBytes } from "../util/bytes";
import { tokenPrincipal } from "./authenticate";
import type { KeyRing } from "./keys";
import { builtinServerEnabled, gatewayOrigin, resourceId } from "./oauth/resource";
import { builtinPrincipal } from "./oauth/tokens";
import { ADMIN_PRINCIPAL, canAdmin, type Principal } from "./principal";
import { open, seal } from "./seal";
import { secretsEqual, sha256Hex, TOKEN_PREFIX } from "./secrets";

/** The cookie's name; the `__Host-` prefix makes browsers insist on Secure, Path=/ and no Domain. */
export const SESSION_COOKIE = "__Host-mcpgw-console";

/** How long a session lasts, whatever happens in it. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

/** The header every console write carries. */
export const CSRF_HEADER = "x-csrf-token";

interface Claims {
  v: 1;
  /** What signed in: the admin token, an API token (found by hash in the config), or an OAuth access token. */
  k: "admin" | "token" | "oauth";
  /** SHA-256 of the credential. */
  h: string;
  /** The OAuth access token itself (only for `oauth`; the cookie is sealed, so it never reaches script or eyes). */
  t?: string;
  csrf: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/**
 * How a session's credential is checked again on each request: the current
 * `ADMIN_TOKEN`, and (when the built-in authorization server is configured)
 * the validation of an OAuth access token for the admin API's resource.
 */
export interface SessionCredentials {
  adminToken: string | undefined;
  oauth?: (accessToken: string) => Promise<Principal | null>;
}

/** The credentials of this deployment: an OAuth session's token is checked for the admin API's resource. */
export function sessionCredentials(
  env: { ADMIN_TOKEN?: string; OAUTH_KV?: KVNamespace; OAUTH_LOGIN_ISSUER?: string; PUBLIC_URL?: string },
  requestUrl: string,
  config: ConfigSnapshot,
): SessionCredentials {
  const origin = gatewayOrigin(env, requestUrl);
  return {
    adminToken: env.ADMIN_TOKEN,
    ...(builtinServerEnabled(env) && {
      oauth: (token: string) => builtinPrincipal(env, token, resourceId(origin, "/api"), origin, config),
    }),
  };
}

/** A verified session: who it is, and the CSRF token its writes must carry. */
export interface ConsoleSession {
  principal: Principal;
  csrf: string;
  expiresAt: number;
}

function isClaims(value: unknown): value is Claims {
  const c = value as Partial<Claims> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    c.v === 1 &&
    (c.k === "admin" || c.k === "token" || (c.k === "oauth" && typeof c.t === "string")) &&
    typeof c.h === "string" &&
    typeof c.csrf === "string" &&
    typeof c.exp === "number"
  );
}

/**
 * A new session for a credential that authenticated as `principal` (which
 * must be allowed to administer). `until` caps the session at the
 * credential's own expiry (an OAuth access token's).
 */
export async function openSession(
  secret: string,
  principal: Principal,
  ring: KeyRing,
  now = Date.now(),
  until = Number.POSITIVE_INFINITY,
): Promise<{ cookie: string; session: ConsoleSession }> {
  if (!canAdmin(principal)) throw new Error("only administrators get console sessions");
  const kind = principal.kind === "admin" ? "admin" : principal.kind === "oauth" ? "oauth" : "token";
  const claims: Claims = {
    v: 1,
    k: kind,
    h: await sha256Hex(secret),
    ...(kind === "oauth" && { t: secret }),
    csrf: base64url(randomBytes(24)),
    exp: Math.min(now + SESSION_TTL_SECONDS * 1000, until),
  };
  return {
    cookie: await seal(claims, ring, "console-session"),
    session: { principal, csrf: claims.csrf, expiresAt: claims.exp },
  };
}

/**
 * The session a cookie value carries, or null: unreadable or forged, expired,
 * or its credential no longer valid (admin token changed; API token revoked,
 * expired or without the admin scope; OAuth grant revoked or expired, or the
 * authorization server no longer configured). Never throws on client input.
 */
export async function readSession(
  cookie: string,
  ring: KeyRing,
  credentials: SessionCredentials,
  config: ConfigSnapshot,
  now = Date.now(),
): Promise<ConsoleSession | null> {
  const adminToken = credentials.adminToken;
  if (cookie.length > 4096) return null;
  let claims: unknown;
  try {
    claims = (await open(cookie, ring, "console-session")).value;
  } catch {
    return null;
  }
  if (!isClaims(claims) || claims.exp <= now) return null;
  let principal: Principal;
  if (claims.k === "admin") {
    if (!adminToken || adminToken.startsWith(TOKEN_PREFIX)) return null;
    if (!(await secretsEqual(claims.h, await sha256Hex(adminToken)))) return null;
    principal = ADMIN_PRINCIPAL;
  } else if (claims.k === "oauth") {
    if (!credentials.oauth) return null;
    const resolved = await credentials.oauth(claims.t ?? "").catch(() => null);
    if (!resolved || !canAdmin(resolved)) return null;
    principal = resolved;
  } else {
    const token = config.tokensByHash.get(claims.h);
    if (!token || (token.expiresAt !== null && token.expiresAt <= now)) return null;
    principal = tokenPrincipal(token, config);
    if (!canAdmin(principal)) return null;
  }
  return { principal, csrf: claims.csrf, expiresAt: claims.exp };
}

/**
 * Whether a cookie-authenticated write may proceed: the CSRF token matches
 * the session's (constant time), and the browser's own signals do not say it
 * comes from another site (`Origin`, `Sec-Fetch-Site`).
 */
export async function writeAllowed(
  session: ConsoleSession,
  request: { url: string; csrf: string | undefined; origin: string | undefined; fetchSite: string | undefined },
): Promise<boolean> {
  if (request.fetchSite !== undefined && request.fetchSite !== "same-origin") return false;
  if (request.origin !== undefined && request.origin !== new URL(request.url).origin) return false;
  if (!request.csrf || request.csrf.length > 256) return false;
  return secretsEqual(request.csrf, session.csrf);
}
