/**
 * Admin API guard: a credential with the `admin` scope for the admin API's
 * resource (`<origin>/api`): ADMIN_TOKEN, an API token with scope `admin`, an
 * OAuth access token (JWT from a trusted issuer, or from the built-in
 * authorization server) for that resource, or the admin console's session
 * cookie (`console-session.ts`), whose writes must also pass the CSRF check.
 * The console therefore uses the very same routes, with exactly the powers of
 * the credential it signed in with. What the caller may do on each route is
 * decided by `api/guard.ts`.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { bearerSecret } from "./authenticate";
import { authenticateCaller } from "./caller";
import { CSRF_HEADER, readSession, SESSION_COOKIE, sessionCredentials, writeAllowed } from "./console-session";
import { keyRing } from "./keys";
import { bearerChallenge, gatewayOrigin, resourceId } from "./oauth/resource";
import { canAdmin } from "./principal";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * 401 without or with a wrong credential (or an ended console session), 403
 * for a credential without the admin scope or a console write that fails the
 * CSRF check. A bearer credential wins over a cookie.
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const origin = gatewayOrigin(c.env, c.req.url);
    const challenge = (error?: "invalid_token" | "insufficient_scope") => ({
      "WWW-Authenticate": bearerChallenge(origin, "/api", "admin", error),
    });
    const secret = bearerSecret(c.req.header("authorization"));
    if (secret) {
      const result = await authenticateCaller(secret, c.env, c.get("config"), resourceId(origin, "/api"), origin);
      if ("failure" in result) {
        throw new HttpError(401, "unauthorized", "Invalid or expired token", undefined, challenge("invalid_token"));
      }
      if (!canAdmin(result.principal)) {
        throw new HttpError(
          403,
          "forbidden",
          "This token does not have the admin scope",
          undefined,
          challenge("insufficient_scope"),
        );
      }
      c.set("principal", result.principal);
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie) throw new HttpError(401, "unauthorized", "Missing bearer token", undefined, challenge());
    const config = c.get("config");
    const session = await readSession(
      cookie,
      await keyRing(c.env),
      sessionCredentials(c.env, c.req.url, config),
      config,
    );
    if (!session) {
      throw new HttpError(401, "unauthorized", "The console session has ended; sign in again", undefined, challenge());
    }
    if (!SAFE.has(c.req.method)) {
      const allowed = await writeAllowed(session, {
        url: c.req.url,
        csrf: c.req.header(CSRF_HEADER),
        origin: c.req.header("origin"),
        fetchSite: c.req.header("sec-fetch-site"),
      });
      if (!allowed) throw new HttpError(403, "forbidden", "Cross-site request refused (CSRF check failed)");
    }
    c.set("principal", session.principal);
    return next();
  };
}

/** After `requireAdmin`: 403 unless the caller is a platform admin (keys, spans, metrics). */
export function requirePlatformAdmin(): MiddlewareHandler<AppEnv> {
  return async function requirePlatformAdminMiddleware(c, next) {
    if (!c.get("principal").platformAdmin)
      throw new HttpError(403, "forbidden", "Only platform admins may use this route");
    await next();
  };
}
