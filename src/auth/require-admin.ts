/**
 * Admin API guard: a credential with the `admin` scope for the admin API's
 * resource (`<origin>/api`): ADMIN_TOKEN, an API token with scope `admin`, or
 * an OAuth access token (JWT from a trusted issuer, or from the built-in
 * authorization server) for that resource. What the caller may do there is
 * decided per route (`api/guard.ts`).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { bearerSecret } from "./authenticate";
import { authenticateCaller } from "./caller";
import { bearerChallenge, gatewayOrigin, resourceId } from "./oauth/resource";
import { canAdmin } from "./principal";

/** 401 without or with a wrong credential, 403 for one without the admin scope. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const origin = gatewayOrigin(c.env, c.req.url);
    const challenge = (error?: "invalid_token" | "insufficient_scope") => ({
      "WWW-Authenticate": bearerChallenge(origin, "/api", "admin", error),
    });
    const secret = bearerSecret(c.req.header("authorization"));
    if (!secret) throw new HttpError(401, "unauthorized", "Missing bearer token", undefined, challenge());
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
    await next();
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
