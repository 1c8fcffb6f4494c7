/**
 * The one place the 2025-era MCP path turns failures into answers (JSON-RPC
 * 2.0 §5; MCP 2025-11-25 basic/transports for the HTTP statuses). Every error
 * carries the request's id whenever it was readable. The message of an
 * unexpected error never reaches the client; its name is logged.
 *
 * - TransportError: an HTTP status with a JSON-RPC error body (auth, Accept,
 *   version, body size, unknown server).
 * - SessionError: 400 (no session id), 404 (unknown or ended: the client
 *   initializes again, -32001), 503 (session state unreachable: retry).
 * - RpcError: its own code, in a 200 reply.
 * - BackendFailure: -32010 naming the backend and the reason, in a 200 reply.
 * - anything else: -32603 "Internal error".
 */
import type { Context } from "hono";
import { HttpError } from "../errors";
import { ErrorCode, errorResponse, type JsonRpcErrorReply, type JsonRpcId, RpcError } from "../protocol/jsonrpc";
import { BackendFailure } from "../upstream/failure";
import type { McpEnv } from "./middleware";
import { SessionError } from "./sessions";

/** An HTTP error on the MCP path, answered with a JSON-RPC error body. */
export class TransportError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** The JSON-RPC error's `data`, when the code has some (e.g. -32022 `{supported, requested}`). */
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "TransportError";
  }
}

/** The JSON-RPC error reply for a failure inside a request (what `McpContext.fail` is on this era). */
export function failureReply(err: unknown, id: JsonRpcId | null): JsonRpcErrorReply {
  if (err instanceof RpcError) return errorResponse(id, err.code, err.message, err.data);
  if (err instanceof BackendFailure) {
    return errorResponse(id, ErrorCode.BackendError, err.message, {
      backend: err.backend,
      reason: err.kind,
      ...err.details,
    });
  }
  if (err instanceof SessionError) {
    return errorResponse(id, err.status === 404 ? ErrorCode.SessionNotFound : ErrorCode.ServerError, err.message);
  }
  console.error("mcp error", err instanceof Error ? err.name : "unknown");
  return errorResponse(id, ErrorCode.InternalError, "Internal error");
}

/** A JSON body with a status. */
export function jsonReply(body: unknown, status = 200, headers: Record<string, string> = {}, text?: string): Response {
  return new Response(text ?? JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The HTTP response for a failure that ends a request before or instead of its answer. */
export function failureResponse(err: unknown, id: JsonRpcId | null): Response {
  if (err instanceof TransportError) {
    return jsonReply(errorResponse(id, err.code, err.message, err.data), err.status, err.headers);
  }
  // The admin API's error type reaches here from shared middleware (D1 down on a cold isolate: 503).
  if (err instanceof HttpError) {
    return jsonReply(errorResponse(id, ErrorCode.ServerError, err.message), err.status, err.headers);
  }
  if (err instanceof SessionError) return jsonReply(failureReply(err, id), err.status);
  const reply = failureReply(err, id);
  return jsonReply(reply, err instanceof RpcError || err instanceof BackendFailure ? 200 : 500);
}

/** The id of the request being answered, once its body was read (set by the POST handler). */
export const requestIds = new WeakMap<Request, JsonRpcId>();

/** The `onError` of the MCP routes. */
export function mcpOnError(err: Error, c: Context<McpEnv>): Response {
  return failureResponse(err, requestIds.get(c.req.raw) ?? null);
}
