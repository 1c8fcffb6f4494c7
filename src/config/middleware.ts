/**
 * Puts the isolate-cached config snapshot on the context (`c.get("config")`).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { ConfigCache } from "./cache";
import { d1ConfigSource } from "./d1-source";

/** One cache per isolate, shared by every request it serves. */
export const configCache = new ConfigCache();

/**
 * Loads the config snapshot; warm requests run zero D1 queries (design rule 1).
 * Without any snapshot and with D1 down, the cache throws a 503 HttpError:
 * `unavailable` renders it in the route's own error format (JSON-RPC on the
 * MCP endpoints); by default it goes to `app.onError`.
 */
export function loadConfig(unavailable?: (err: HttpError) => Response): MiddlewareHandler<AppEnv> {
  return async function loadConfigMiddleware(c, next) {
    let snapshot: Awaited<ReturnType<ConfigCache["get"]>>;
    try {
      snapshot = await configCache.get(d1ConfigSource(c.env), (work) => c.executionCtx.waitUntil(work));
    } catch (err) {
      if (unavailable && err instanceof HttpError) return unavailable(err);
      throw err;
    }
    c.set("config", snapshot);
    await next();
  };
}
