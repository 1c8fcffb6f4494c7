/**
 * Forwarding a client request to its backend and relaying everything the
 * backend sends during the call (MCP basic/transports, "Sending Messages to
 * the Server"): progress and log notifications, and server-to-client requests
 * (sampling, elicitation, roots) whose ids are rewritten so the client's
 * answer can be routed back by any isolate (`names.ts`).
 */

import { admitCall } from "../backends/breaker-client";
import type { BackendConfig } from "../config/snapshot";
import { ErrorCode, type JsonRpcRequest, type JsonRpcResponse, RpcError } from "../protocol/jsonrpc";
import { encodeSseComment, encodeSseMessage, encodeSsePriming } from "../protocol/sse";
import { isModernVersion } from "../protocol/versions";
import { BackendFailure } from "../upstream/failure";
import {
  assertCredentialsReadable,
  postMessage,
  readReply,
  readReplyText,
  replyFromText,
  resumer,
} from "../upstream/http";
import type { UpstreamSession } from "../upstream/types";
import type { McpContext, Outcome } from "./context";
import { fulfilInputs, isInputAnswerId, needsInput } from "./input-shim";
import { forClient } from "./legacy-view";
import { splitGatewayRequestId } from "./names";
import { passable } from "./passthrough";
import { mapErrorData, mapInputRequests, outbound } from "./references";
import { publicTaskRefs } from "./task-ids";
import { toClient } from "./to-client";
import { authorizedBackend, consentOrFailure } from "./upstream-auth";
import { inputRound, sendUpstream } from "./upstream-call";

/**
 * A streamed call that has been quiet this long gets an SSE comment. The
 * runtime learns that a client went away only when a write to it fails; the
 * comment's failed write fires the request's signal, which cancels the
 * upstream request (it also keeps proxies from closing a quiet stream).
 */
const RELAY_KEEPALIVE_MS = 5_000;

/**
 * The deadline of a relayed call: `timeoutMs` of silence, reset by every
 * upstream event; `client` (the request's signal) cancels it at once when the
 * client disconnects, and `cancelled()` then tells that apart from a failure.
 */
function idleAbort(
  ms: number,
  backend: string,
  client: AbortSignal | undefined,
): { signal: AbortSignal; touch: () => void; hold: () => void; stop: () => void; cancelled: () => boolean } {
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
  // The runtime joins the client's signal to ours natively: no listener to add and remove per call (issue 15).
  const signal = client ? AbortSignal.any([controller.signal, client]) : controller.signal;
  return {
    signal,
    touch,
    // While a person answers a bridged input request (until the next touch).
    hold: () => {
      if (timer !== undefined) clearTimeout(timer);
    },
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
    },
    cancelled: () => client?.aborted === true,
  };
}

/**
 * Rewrites a backend's result (public URIs, plugins' post hooks); may throw RpcError to answer with it.
 * `passes`, when present, says which reply texts it would leave unchanged: those keep the unparsed pass-through.
 */
export type ResultMapper = ((
  result: Record<string, unknown>,
) => Record<string, unknown> | Promise<Record<string, unknown>>) & { passes?: (text: string) => boolean };

/** One forwarded call in flight: its backend, deadline, span and how it ends. */
interface Call {
  ctx: McpContext;
  backend: BackendConfig;
  request: JsonRpcRequest;
  idle: ReturnType<typeof idleAbort>;
  traceparent: string;
  /** The upstream session the request went out in (its era decides what the client sees). */
  upstream?: UpstreamSession;
  /** The final reply for the backend's reply (post hooks applied) or for a failure. */
  end(reply: JsonRpcResponse | null, err?: unknown): Promise<JsonRpcResponse>;
}

/**
 * Sends `request` to `backendName` in the caller's upstream session and
 * answers with JSON if the backend does, or an SSE stream relaying the call's
 * messages. `mapResult` rewrites the final result. Every failure becomes the
 * era's JSON-RPC error (`ctx.era.fail`) with the request's id: before the stream
 * starts as a JSON reply, after it as the stream's last message.
 *
 * Without `mapResult` (or one whose `passes` accepts the text), for a client whose era reshapes nothing
 * (`passesResults`) and a backend of the same era, a JSON result reply is
 * passed through as the backend sent it: read (bounded) but neither parsed nor
 * re-serialised (issue 15). Its id is the client's own (requests go out with
 * it, in an upstream session that is this client's alone, design rule 8). A
 * reply whose text mentions `"error"` is parsed as before, so JSON-RPC errors
 * still end the backend span as errors, and so is one that does not look
 * like a result reply to this request (`passable`): a malformed reply still
 * becomes the malformed-reply error. Results are not checked further.
 */
export async function forward(
  ctx: McpContext,
  backendName: string,
  request: JsonRpcRequest,
  mapResult?: ResultMapper,
): Promise<Outcome> {
  const backend = ctx.config.backends.get(backendName);
  if (!backend) throw new RpcError(ErrorCode.InvalidParams, "Unknown backend");
  // An open breaker answers from isolate memory: no upstream call, no DO round trip.
  const admission = await admitCall(ctx.env, ctx.defer, backend);
  if (admission.rejected) return { kind: "json", body: ctx.era.fail(admission.rejected, request.id) };
  const tool = request.method === "tools/call" ? request.params?.name : undefined;
  const span = ctx.spans.start("backend", {
    backend: backend.name,
    method: request.method,
    ...(typeof tool === "string" && { tool }),
  });
  const idle = idleAbort(backend.timeoutMs, backend.name, ctx.clientSignal);
  const fail = (err: unknown): JsonRpcResponse => {
    // A call the client abandoned says nothing about the backend (null: a neutral outcome).
    const cancelled = idle.cancelled();
    admission.done(cancelled ? null : err);
    idle.stop();
    // Nobody reads the reply of a call the client left; naming it keeps the log free of a bogus "mcp error".
    const reply = ctx.era.fail(
      cancelled ? new RpcError(ErrorCode.InternalError, "Request cancelled by the client") : err,
      request.id,
    );
    span.end(
      "error",
      cancelled
        ? { error: "cancelled" }
        : err instanceof BackendFailure
          ? { error: err.kind }
          : { "rpc.error": reply.error.code },
    );
    return reply;
  };
  // Post hooks run on final results only: an InputRequiredResult (2026) is a question, not an answer;
  // its questions still get public references, as does a backend error's `data.uri` (references.ts).
  const refs = ctx.endpoint.prefix ? outbound(backend.name) : null;
  const finalResult = async (result: Record<string, unknown>) => {
    if (result.resultType !== "input_required") return mapResult ? mapResult(result) : result;
    return refs ? mapInputRequests(result, refs) : result;
  };
  const errorData = (data: unknown) => (refs ? mapErrorData(data, refs) : data);
  const call: Call = {
    ctx,
    backend,
    request,
    idle,
    traceparent: span.traceparent,
    async end(reply, err) {
      if (!reply) return fail(err);
      admission.done();
      idle.stop();
      try {
        const final: JsonRpcResponse =
          "result" in reply
            ? {
                jsonrpc: "2.0",
                id: request.id,
                result: ctx.era.result(request.method, await finalResult(forClient(ctx, call.upstream, reply.result))),
              }
            : // A backend's own error, in this era's terms (e.g. 2026 answers a missing resource with -32602), its `data.uri` public.
              ctx.era.fail(
                new RpcError(reply.error.code, reply.error.message, errorData(reply.error.data)),
                request.id,
              );
        span.end("error" in final ? "error" : "ok", "error" in final ? { "rpc.error": final.error.code } : {});
        return final;
      } catch (mapErr) {
        // A post hook stopped the result (RpcError), or rewriting it failed.
        const failed = ctx.era.fail(mapErr, request.id);
        span.end("error", { "rpc.error": failed.error.code });
        return failed;
      }
    },
  };

  let upstream: UpstreamSession;
  let res: Response;
  try {
    // Before an upstream session is asked for that could not be opened either.
    assertCredentialsReadable(backend);
    // In the backend's era; retried once on a forgotten session or a refused era (upstream-call.ts),
    // with the caller's upstream token if it has one (then the call's input rounds use it too).
    const sent = await sendUpstream(ctx, backend, request, idle.signal, span.traceparent);
    ({ upstream, res } = sent);
    call.upstream = upstream;
    call.backend = sent.backend;
  } catch (err) {
    return { kind: "json", body: consentOrFailure(ctx, err, request.id, fail) };
  }
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream")) return relayReply(call, res, upstream);
  const passes =
    (!mapResult || mapResult.passes) && ctx.era.passesResults && !isModernVersion(upstream.protocolVersion);
  let reply: JsonRpcResponse;
  try {
    if (passes && type.includes("application/json")) {
      const text = await readReplyText(backend.name, res);
      if (passable(text, request.id) && (mapResult?.passes?.(text) ?? true)) {
        admission.done();
        idle.stop();
        span.end("ok");
        return { kind: "raw", text };
      }
      reply = replyFromText(backend.name, text, request.id);
    } else reply = await readReply(backend.name, res, request.id);
  } catch (err) {
    return { kind: "json", body: fail(err) };
  }
  // A 2026 backend asking a 2025 client for input: the questions go on a stream (input-shim.ts).
  if (needsInput(ctx.legacyClient, upstream, reply)) return relayReply(call, reply, upstream);
  return { kind: "json", body: await call.end(reply) };
}

/**
 * How long a streamed call may stay quiet before the client gets a stream
 * anyway. A reply that arrives sooner with nothing to relay before it is
 * answered as JSON: cheaper, and its error keeps its HTTP status (a 2026
 * -32021 is a 400, which a stream already at 200 could not say). A longer
 * call gets its stream, whose keep-alives let the runtime notice a client
 * that left and cancel the upstream request.
 */
const LAZY_STREAM_MS = 1_000;

/**
 * Relays a backend's SSE reply to the client: every message the backend sends
 * during the call (rewritten by `toClient`, shaped by the era), keep-alive
 * comments while it is quiet, and the final reply; a 2026 backend's
 * `InputRequiredResult` to a 2025 client is fulfilled on the way (`source`
 * is then that reply when it came as JSON). The client's stream (a priming
 * event first) opens only when there is something to relay before the reply
 * or the call has been quiet for `LAZY_STREAM_MS`; otherwise the outcome is
 * the JSON reply. Runs in `waitUntil`.
 */
function relayReply(call: Call, source: Response | JsonRpcResponse, upstream: UpstreamSession): Promise<Outcome> {
  const { ctx, backend, request, idle } = call;
  const resume = resumer(backend, { session: upstream, signal: idle.signal, traceparent: call.traceparent });
  let settle: (outcome: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => {
    settle = resolve;
  });
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let quiet: ReturnType<typeof setInterval> | undefined;
  let wrote = Date.now();
  const open = (): WritableStreamDefaultWriter<Uint8Array> => {
    if (writer) return writer;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const opened = writable.getWriter();
    writer = opened;
    opened.write(encodeSsePriming()).catch(() => undefined);
    quiet = setInterval(() => {
      if (Date.now() - wrote < RELAY_KEEPALIVE_MS) return;
      wrote = Date.now();
      opened.write(encodeSseComment("keep-alive")).catch(() => undefined);
    }, RELAY_KEEPALIVE_MS);
    settle({ kind: "sse", stream: readable });
    return opened;
  };
  const lazy = setTimeout(open, LAZY_STREAM_MS);
  const write = async (message: Record<string, unknown>): Promise<void> => {
    wrote = Date.now();
    await open().write(encodeSseMessage(message));
  };
  const relay = async (message: Record<string, unknown>): Promise<void> => {
    const mapped = await publicTaskRefs(ctx, backend.name, toClient(backend.name, ctx.endpoint.prefix, message));
    const relayed = mapped && ctx.era.relayed(mapped);
    if (relayed) await write(relayed);
  };
  const work = (async () => {
    let final: JsonRpcResponse;
    try {
      let reply =
        source instanceof Response
          ? await readReply(backend.name, source, request.id, {
              onMessage: relay,
              onEvent: idle.touch,
              ...(resume && { resume }),
            })
          : source;
      if (needsInput(ctx.legacyClient, upstream, reply)) {
        const { signal, hold, touch } = idle;
        const wiring = {
          ctx,
          backend,
          request,
          upstream,
          signal,
          traceparent: call.traceparent,
          relay,
          write,
          hold,
          touch,
        };
        reply = await fulfilInputs(inputRound(wiring), reply);
      }
      final = await call.end(reply);
    } catch (err) {
      final = await call.end(null, err);
      // Nobody is left to tell when the client went away.
      if (idle.cancelled()) return;
    } finally {
      clearTimeout(lazy);
      if (quiet !== undefined) clearInterval(quiet);
      // The request's span ended when the answer started; this call's span ends now.
      ctx.spans.flush();
    }
    if (!writer) {
      settle({ kind: "json", body: final });
      return;
    }
    try {
      await writer.write(encodeSseMessage(final));
      await writer.close();
    } catch {
      // The client went away; nothing left to tell it.
    }
  })();
  ctx.defer(work);
  return outcome;
}

/**
 * Delivers the client's answer to a server-to-client request back to the
 * backend that asked, in the same upstream session. Works on any isolate:
 * the backend and its original id are in the gateway-issued id.
 */
export async function deliverResponse(ctx: McpContext, response: JsonRpcResponse): Promise<void> {
  // An answer to the input-required bridge goes to the isolate waiting for it (input-shim.ts).
  if (isInputAnswerId(response.id)) {
    if (!(await ctx.legacyClient?.deliverAnswer(response.id, response))) {
      throw new RpcError(ErrorCode.InvalidRequest, "Response to an unknown request");
    }
    return;
  }
  const target = splitGatewayRequestId(response.id);
  const backend = target ? ctx.config.backends.get(target.backend) : undefined;
  if (!target || !backend || !ctx.endpoint.backends.some((b) => b.name === backend.name)) {
    throw new RpcError(ErrorCode.InvalidRequest, "Response to an unknown request");
  }
  const authed = await authorizedBackend(ctx, backend);
  const upstream = await ctx.upstreams.open(authed);
  const res = await postMessage(
    authed,
    { ...response, id: target.id },
    {
      session: upstream,
      signal: AbortSignal.timeout(backend.timeoutMs),
    },
  );
  await res.body?.cancel();
}
