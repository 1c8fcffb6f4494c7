/**
 * Admin API guard: `Authorization: Bearer <ADMIN_TOKEN>` or an API token with scope `admin`.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { authenticate, bearerSecret } from "./authenticate";
import { canAdmin } from "./principal";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="mcp-gateway-admin"' };

/** 401 without or with a wrong credential, 403 for a token without the admin scope. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const secret = bearerSecret(c.req.header("authorization"));
    if (!secret) throw new HttpError(401, "unauthorized", "Missing bearer token", undefined, CHALLENGE);
    const principal = await authenticate(secret, c.env.ADMIN_TOKEN, c.get("config"));
    if (!principal) throw new HttpError(401, "unauthorized", "Invalid or expired token", undefined, CHALLENGE);
    if (!canAdmin(principal)) throw new HttpError(403, "forbidden", "This token does not have the admin scope");
    c.set("principal", principal);
    await next();
  };
}
