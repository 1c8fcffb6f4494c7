/**
 * Requests with a body must declare `Content-Type: application/json`; anything
 * else is a 415 rather than a confusing validation error about missing fields.
 */
import type { MiddlewareHandler } from "hono";
import { HttpError } from "../errors";

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/** 415 for a body-carrying request without a JSON content type. */
export function requireJson(): MiddlewareHandler {
  return async function requireJsonMiddleware(c, next) {
    // A bodiless action (e.g. POST /api/backends/:name/refresh) needs no content type.
    const bodiless = c.req.raw.body === null || c.req.header("content-length") === "0";
    if (WITH_BODY.has(c.req.method) && !bodiless) {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
        throw new HttpError(415, "unsupported_media_type", "Content-Type must be application/json");
      }
    }
    await next();
  };
}
