/**
 * Forwarding a client request to its backend and relaying everything the
 * backend sends during the call (MCP basic/transports, "Sending Messages to
 * the Server"): progress and log notifications, and server-to-client requests
 * (sampling, elicitation, roots) whose ids are rewritten so the client's
 * answer can be routed back by any isolate (`names.ts`).
 */

import { guardCall } from "../backends/breaker-client";
import { forgetCatalogs } from "./catalog";
import type { McpContext, Outcome } from "./context";
import {
  ErrorCode,
  errorResponse,
  type JsonRpcId,
  type JsonRpcRequest,
  type JsonRpcResponse,
  RpcError,
} from "./jsonrpc";
import { gatewayRequestId, publicUri, splitGatewayRequestId } from "./names";
import { SessionError } from "./sessions";
import { encodeSseComment, encodeSseMessage, encodeSsePriming } from "./sse";
import {
  assertCredentialsReadable,
  BackendFailure,
  postMessage,
  readReply,
  resumer,
  type UpstreamSession,
} from "./upstream";

/** The JSON-RPC error a client sees for a failed backend call: which backend and why, no secrets. */
export function backendErrorResponse(id: JsonRpcId | null, err: BackendFailure): JsonRpcResponse {
  return errorResponse(id, ErrorCode.BackendError, err.message, { backend: err.backend, reason: err.kind });
}

/**
 * A streamed call that has been quiet this long gets an SSE comment. The
 * runtime learns that a client went away only when a write to it fails; the
 * comment's failed write fires the request's signal, which cancels the
 * upstream request (it also keeps proxies from closing a quiet stream).
 */
const RELAY_KEEPALIVE_MS = 5_000;

/** Rewrites a message the backend sent during a call into what the client sees. */
export function toClient(backend: string, prefix: boolean, message: Record<string, unknown>): Record<string, unknown> {
  const method = typeof message.method === "string" ? message.method : "";
  if ("id" in message && method) {
    return { ...message, id: gatewayRequestId(backend, message.id as JsonRpcId) };
  }
  const params = (message.params ?? {}) as Record<string, unknown>;
  if (method === "notifications/cancelled" && params.requestId !== undefined) {
    return { ...message, params: { ...params, requestId: gatewayRequestId(backend, params.requestId as JsonRpcId) } };
  }
  if (method === "notifications/resources/updated" && typeof params.uri === "string") {
    return { ...message, params: { ...params, uri: publicUri(backend, params.uri, prefix) } };
  }
  if (method.endsWith("/list_changed")) forgetCatalogs(backend);
  return message;
}

/**
 * The deadline of a relayed call: `timeoutMs` of silence, reset by every
 * upstream event; `client` (the request's signal) cancels it at once when the
 * client disconnects, and `cancelled()` then tells that apart from a failure.
 */
function idleAbort(
  ms: number,
  backend: string,
  client: AbortSignal | undefined,
): { signal: AbortSignal; touch: () => void; stop: () => void; cancelled: () => boolean } {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(
      () =>
        controller.abort(new BackendFailure(backend, "timeout", `Backend '${backend}' did not answer within ${ms} ms`)),
      ms,
    );
  };
  touch();
  let gone = false;
  const cancel = () => {
    gone = true;
    if (timer !== undefined) clearTimeout(timer);
    controller.abort(new Error("the client went away"));
  };
  if (client?.aborted) cancel();
  else client?.addEventListener("abort", cancel, { once: true });
  return {
    signal: controller.signal,
    touch,
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
      client?.removeEventListener("abort", cancel);
    },
    cancelled: () => gone,
  };
}

/**
 * Sends `request` to `backendName` in the client's session and answers with
 * JSON if the backend does, or an SSE stream relaying the call's messages.
 * `mapResult` rewrites the final result (e.g. resource URIs, plugins' post
 * hooks); it may be async, and may throw an RpcError to answer with that
 * error instead of the result.
 */
export async function forward(
  ctx: McpContext,
  backendName: string,
  request: JsonRpcRequest,
  mapResult: (result: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>> = (r) => r,
): Promise<Outcome> {
  const backend = ctx.config.backends.get(backendName);
  if (!backend) return { kind: "json", body: errorResponse(request.id, ErrorCode.InvalidParams, "Unknown backend") };
  const finish = async (reply: JsonRpcResponse): Promise<JsonRpcResponse> =>
    "result" in reply
      ? { jsonrpc: "2.0", id: request.id, result: await mapResult(reply.result) }
      : { ...reply, id: request.id };

  // An open breaker answers from isolate memory: no upstream call, no DO round trip.
  const breaker = await guardCall(ctx, backend, request.id);
  if (breaker.rejection) return { kind: "json", body: breaker.rejection };
  const tool = request.method === "tools/call" ? request.params?.name : undefined;
  const span = ctx.spans.start("backend", {
    backend: backend.name,
    method: request.method,
    ...(typeof tool === "string" && { tool }),
  });
  /** Ends the backend span from the reply the client gets. */
  const done = (reply: JsonRpcResponse, failure?: BackendFailure): JsonRpcResponse => {
    if (failure) span.end("error", { error: failure.kind });
    else if ("error" in reply) span.end("error", { "rpc.error": reply.error.code });
    else span.end("ok");
    return reply;
  };
  const idle = idleAbort(backend.timeoutMs, backend.name, ctx.clientSignal);
  let upstream: UpstreamSession;
  let res: Response;
  try {
    // Before the session's DO is asked for an upstream session it could not open either.
    assertCredentialsReadable(backend);
    upstream = await ctx.session.upstream(backend);
    const send = (session: UpstreamSession) =>
      postMessage(backend, request, { session, signal: idle.signal, traceparent: span.traceparent });
    try {
      res = await send(upstream);
    } catch (err) {
      // The backend forgot the session (restart, expiry): open a new one once.
      if (!(err instanceof BackendFailure) || err.kind !== "session-expired") throw err;
      await ctx.session.forget(backend.name, upstream);
      upstream = await ctx.session.upstream(backend);
      res = await send(upstream);
    }
  } catch (err) {
    idle.stop();
    breaker.done(idle.cancelled() ? null : err);
    if (err instanceof BackendFailure) return { kind: "json", body: done(backendErrorResponse(request.id, err), err) };
    span.end("error", { error: err instanceof SessionError ? "session" : "internal" });
    throw err;
  }

  const prefix = ctx.endpoint.prefix;
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    try {
      const reply = await readReply(backend.name, res, request.id);
      breaker.done();
      return { kind: "json", body: done(await finish(reply)) };
    } catch (err) {
      breaker.done(idle.cancelled() ? null : err);
      if (err instanceof BackendFailure)
        return { kind: "json", body: done(backendErrorResponse(request.id, err), err) };
      span.end("error", err instanceof RpcError ? { "rpc.error": err.code } : { error: "internal" });
      throw err;
    } finally {
      idle.stop();
    }
  }

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const resume = resumer(backend, { session: upstream, signal: idle.signal, traceparent: span.traceparent });
  let quiet: ReturnType<typeof setInterval> | undefined;
  const relay = (async () => {
    let final: JsonRpcResponse;
    try {
      await writer.write(encodeSsePriming());
      let wrote = Date.now();
      quiet = setInterval(() => {
        if (Date.now() - wrote < RELAY_KEEPALIVE_MS) return;
        wrote = Date.now();
        writer.write(encodeSseComment("keep-alive")).catch(() => undefined);
      }, RELAY_KEEPALIVE_MS);
      final = await finish(
        await readReply(backend.name, res, request.id, {
          onMessage: (message) => {
            wrote = Date.now();
            return writer.write(encodeSseMessage(toClient(backend.name, prefix, message)));
          },
          onEvent: idle.touch,
          ...(resume && { resume }),
        }),
      );
      done(final);
    } catch (err) {
      // A call the client abandoned says nothing about the backend (null: a neutral outcome).
      breaker.done(idle.cancelled() ? null : err);
      if (idle.cancelled()) {
        span.end("error", { error: "cancelled" });
        return;
      }
      final =
        err instanceof BackendFailure
          ? done(backendErrorResponse(request.id, err), err)
          : err instanceof RpcError
            ? errorResponse(request.id, err.code, err.message, err.data)
            : errorResponse(request.id, ErrorCode.InternalError, "Relay failed");
      if (!(err instanceof BackendFailure)) {
        span.end("error", err instanceof RpcError ? { "rpc.error": err.code } : { error: "internal" });
      }
    } finally {
      if (quiet !== undefined) clearInterval(quiet);
      idle.stop();
      breaker.done();
      // The request's span ended when the stream started; this call's span ends now.
      ctx.spans.flush();
    }
    try {
      await writer.write(encodeSseMessage(final));
      await writer.close();
    } catch {
      // The client went away; nothing left to tell it.
    }
  })();
  ctx.defer(relay);
  return { kind: "sse", stream: readable };
}

/**
 * Delivers the client's answer to a server-to-client request back to the
 * backend that asked, in the same upstream session. Works on any isolate:
 * the backend and its original id are in the gateway-issued id.
 */
export async function deliverResponse(ctx: McpContext, response: JsonRpcResponse): Promise<void> {
  const target = splitGatewayRequestId(response.id);
  if (!target) throw new SessionError(400, "Response to an unknown request");
  const backend = ctx.config.backends.get(target.backend);
  if (!backend || !ctx.endpoint.backends.some((b) => b.name === backend.name)) {
    throw new SessionError(400, "Response to an unknown request");
  }
  const upstream = await ctx.session.upstream(backend);
  const res = await postMessage(
    backend,
    { ...response, id: target.id },
    {
      session: upstream,
      signal: AbortSignal.timeout(backend.timeoutMs),
    },
  );
  await res.body?.cancel();
}
