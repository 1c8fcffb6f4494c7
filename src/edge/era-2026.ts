/**
 * The 2026 era (protocol 2026-07-28, stateless) as the core sees it:
 *
 * - every result carries `resultType` (basic/index; a 2025 backend's result
 *   becomes `"complete"`, a 2026 backend's own value is kept), and the
 *   cacheable results carry `ttlMs` and `cacheScope` (server/utilities/caching);
 * - a backend's in-call messages reach the client only when 2026 allows them
 *   on a request's stream: progress, and log messages at or above the level
 *   the request asked for (never without one); server-to-client requests are
 *   not JSON-RPC requests in this era (they come back as `InputRequiredResult`);
 * - failures map as in 2025, except that a missing resource is -32602 with
 *   `data.uri` (the 2026 revision retired -32002).
 */
import type { EraAdapter } from "../core/context";
import { ErrorCode, errorResponse, RpcError } from "../protocol/jsonrpc";
import { LOG_LEVELS, type LogLevel, META } from "../protocol/meta";
import { SERVER_INFO } from "../protocol/versions";
import { failureReply } from "./errors";

/** Methods whose complete results must carry cache hints. */
const CACHEABLE = new Set([
  "server/discover",
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  // The Skills extension's results are cacheable too (SEP-2640; the SDK client requires the fields).
  "skills/list",
  "skills/get",
  "resources/directory/read",
]);

/**
 * How long a client may reuse a listing or the discover result. The
 * gateway's own views are at most a few seconds behind the backends, and a
 * `subscriptions/listen` stream announces changes at once.
 */
export const LIST_TTL_MS = 10_000;

/** What shapes a modern request's answers. */
export interface ModernEraOptions {
  /** The level the request asked log messages for (`_meta` logLevel); none: no log messages. */
  logLevel?: LogLevel;
  /** `public` only when no answer can depend on who asks (see `modern.ts`). */
  listScope: "public" | "private";
}

function levelRank(level: unknown): number {
  return LOG_LEVELS.indexOf(level as LogLevel);
}

/** The adapter of one modern request. */
export function modernEra(options: ModernEraOptions): EraAdapter {
  const minLevel = options.logLevel === undefined ? -1 : levelRank(options.logLevel);
  return {
    name: "2026",
    fail(err, id) {
      if (err instanceof RpcError && err.code === ErrorCode.ResourceNotFound) {
        return errorResponse(id, ErrorCode.InvalidParams, err.message, err.data);
      }
      return failureReply(err, id);
    },
    result(method, result) {
      const shaped: Record<string, unknown> = { ...result };
      shaped.resultType ??= "complete";
      if (shaped.resultType === "complete" && CACHEABLE.has(method)) {
        const reads = method === "resources/read";
        shaped.ttlMs ??= reads ? 0 : LIST_TTL_MS;
        shaped.cacheScope ??= reads ? "private" : options.listScope;
      }
      const meta = (typeof result._meta === "object" && result._meta !== null ? result._meta : {}) as object;
      shaped._meta = { ...meta, [META.serverInfo]: SERVER_INFO };
      return shaped;
    },
    relayed(message) {
      const method = message.method;
      if (method === "notifications/progress") return message;
      if (method === "notifications/message") {
        const level = levelRank((message.params as { level?: unknown } | undefined)?.level);
        return minLevel >= 0 && level >= minLevel ? message : null;
      }
      return null;
    },
  };
}
