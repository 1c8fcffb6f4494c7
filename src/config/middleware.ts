/**
 * Puts the isolate-cached config snapshot on the context (`c.get("config")`).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ConfigCache } from "./cache";
import { shardConfigSource } from "./shard-source";

/** One cache per isolate, shared by every request it serves. */
export const configCache = new ConfigCache();

/**
 * Loads the config snapshot; warm requests run zero D1 queries (design rule 1).
 * Without any snapshot and with D1 down, the cache throws a 503 HttpError,
 * which each route family's `onError` renders in its own format (JSON-RPC on
 * the MCP endpoints).
 */
export function loadConfig(): MiddlewareHandler<AppEnv> {
  return async function loadConfigMiddleware(c, next) {
    c.set("config", await configCache.get(shardConfigSource(c.env), (work) => c.executionCtx.waitUntil(work)));
    await next();
  };
}
