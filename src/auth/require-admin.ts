/**
 * Admin API guard: `Authorization: Bearer <ADMIN_TOKEN>` or an API token with
 * scope `admin`, or the admin console's session cookie (`console-session.ts`),
 * whose writes must also pass the CSRF check. The console therefore uses the
 * very same routes, with exactly the powers of the credential it signed in with.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { authenticate, bearerSecret } from "./authenticate";
import { CSRF_HEADER, readSession, SESSION_COOKIE, writeAllowed } from "./console-session";
import { keyRing } from "./keys";
import { canAdmin } from "./principal";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="mcp-gateway-admin"' };
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * 401 without or with a wrong credential (or an ended console session), 403
 * for a token without the admin scope or a console write that fails the
 * CSRF check. A bearer credential wins over a cookie.
 */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const secret = bearerSecret(c.req.header("authorization"));
    if (secret) {
      const principal = await authenticate(secret, c.env.ADMIN_TOKEN, c.get("config"));
      if (!principal) throw new HttpError(401, "unauthorized", "Invalid or expired token", undefined, CHALLENGE);
      if (!canAdmin(principal)) throw new HttpError(403, "forbidden", "This token does not have the admin scope");
      c.set("principal", principal);
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie) throw new HttpError(401, "unauthorized", "Missing bearer token", undefined, CHALLENGE);
    const session = await readSession(cookie, await keyRing(c.env), c.env.ADMIN_TOKEN, c.get("config"));
    if (!session) {
      throw new HttpError(401, "unauthorized", "The console session has ended; sign in again", undefined, CHALLENGE);
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
