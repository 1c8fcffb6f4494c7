/**
 * Admin console sessions (README, "Admin console"). Signing in with the admin
 * token or an admin-scoped API token gives the browser a cookie that holds a
 * sealed session, never the token itself:
 *
 * - sealed with the key ring under its own purpose (`seal.ts`), so it cannot
 *   be forged or read, nor mistaken for another sealed value;
 * - bound to the SHA-256 of the credential it was opened with: changing
 *   `ADMIN_TOKEN` or revoking the API token ends the session (for a token,
 *   within the config cache's 2 s, design rule 1), and an expired token too;
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
import type { KeyRing } from "./keys";
import { canAdmin, type Principal } from "./principal";
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
  /** What signed in: the admin token, or an API token (found by hash in the config). */
  k: "admin" | "token";
  /** SHA-256 of the credential. */
  h: string;
  csrf: string;
  /** Expiry, epoch ms. */
  exp: number;
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
    (c.k === "admin" || c.k === "token") &&
    typeof c.h === "string" &&
    typeof c.csrf === "string" &&
    typeof c.exp === "number"
  );
}

/** A new session for a credential that authenticated as `principal` (which must be allowed to administer). */
export async function openSession(
  secret: string,
  principal: Principal,
  ring: KeyRing,
  now = Date.now(),
): Promise<{ cookie: string; session: ConsoleSession }> {
  if (!canAdmin(principal)) throw new Error("only administrators get console sessions");
  const claims: Claims = {
    v: 1,
    k: principal.kind === "admin" ? "admin" : "token",
    h: await sha256Hex(secret),
    csrf: base64url(randomBytes(24)),
    exp: now + SESSION_TTL_SECONDS * 1000,
  };
  return {
    cookie: await seal(claims, ring, "console-session"),
    session: { principal, csrf: claims.csrf, expiresAt: claims.exp },
  };
}

/**
 * The session a cookie value carries, or null: unreadable or forged, expired,
 * or its credential no longer valid (admin token changed; API token revoked,
 * expired or without the admin scope). Never throws on client input.
 */
export async function readSession(
  cookie: string,
  ring: KeyRing,
  adminToken: string | undefined,
  config: ConfigSnapshot,
  now = Date.now(),
): Promise<ConsoleSession | null> {
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
    principal = { kind: "admin", name: "admin" };
  } else {
    const token = config.tokensByHash.get(claims.h);
    if (!token || (token.expiresAt !== null && token.expiresAt <= now)) return null;
    principal = { kind: "token", id: token.id, name: token.name, scopes: token.scopes, servers: token.servers };
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
