/**
 * The JSON-RPC messages of an established 2025-era session: one message, or a
 * 2025-03-26 batch, turned into the HTTP response. Requests go to the core's
 * dispatch; a failure becomes this era's JSON-RPC error with the request's id
 * (`errors.ts`), never an HTTP 5xx.
 */
import type { McpContext, Outcome } from "../core/context";
import { dispatch, dispatchNotification } from "../core/dispatch";
import { batchClient } from "../core/input-shim";
import { deliverResponse } from "../core/relay";
import type { SpanRecorder } from "../observability/span";
import {
  classify,
  ErrorCode,
  errorResponse,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcResponse,
  RpcError,
  readableId,
} from "../protocol/jsonrpc";
import { parseSse } from "../protocol/sse";
import { allowsBatches, MAX_BATCH } from "../protocol/versions";
import { BackendFailure } from "../upstream/failure";
import { jsonReply, TransportError } from "./errors";

/** The HTTP response for an outcome: JSON, or an SSE stream. */
export function outcomeResponse(outcome: Outcome, headers: Record<string, string> = {}): Response {
  if (outcome.kind === "json") return jsonReply(outcome.body, 200, headers, outcome.serialized);
  if (outcome.kind === "raw") return jsonReply(null, 200, headers, outcome.text);
  return new Response(outcome.stream, {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
  });
}

/**
 * A passed-through reply (`raw`) as a message, where one is needed (batches,
 * legacy HTTP+SSE streams): text that is not a JSON-RPC response becomes the
 * error the parsed path gives a malformed reply.
 */
export function rawReply(text: string, id: JsonRpcId | null): JsonRpcResponse {
  try {
    const message = classify(JSON.parse(text));
    if (message?.kind === "response") return message.message;
  } catch {
    // Not JSON: answered below.
  }
  return errorResponse(id, ErrorCode.BackendError, "The backend sent a malformed JSON-RPC reply", {
    reason: "malformed",
  });
}

/** Handles one (classified) message; null for notifications and responses (202). Also the legacy HTTP+SSE POST's. */
export async function handleMessage(
  ctx: McpContext,
  message: JsonRpcMessage | null,
  raw: unknown,
): Promise<Outcome | null> {
  if (!message) {
    return { kind: "json", body: errorResponse(readableId(raw), ErrorCode.InvalidRequest, "Invalid Request") };
  }
  if (message.kind === "request") {
    const { id, method } = message.message;
    if (method === "initialize") {
      return {
        kind: "json",
        body: errorResponse(id, ErrorCode.InvalidRequest, "Invalid Request: Server already initialized"),
      };
    }
    try {
      return await dispatch(ctx, message.message);
    } catch (err) {
      return { kind: "json", body: ctx.era.fail(err, id) };
    }
  }
  if (message.kind === "notification") {
    await dispatchNotification(ctx, message.message.method, message.message.params);
    return null;
  }
  try {
    await deliverResponse(ctx, message.message);
  } catch (err) {
    // An answer that cannot be delivered is the client's mistake or the backend's loss: 400.
    if (err instanceof RpcError) throw new TransportError(400, err.code, err.message);
    if (err instanceof BackendFailure) throw new TransportError(400, ErrorCode.BackendError, err.message);
    throw err;
  }
  return null;
}

/** One message: its outcome as the response (202 for notifications and responses). */
export async function single(
  ctx: McpContext,
  message: JsonRpcMessage | null,
  raw: unknown,
  spans: SpanRecorder,
): Promise<Response> {
  const outcome = await handleMessage(ctx, message, raw);
  if (outcome?.kind === "json" && "error" in outcome.body) spans.root.set({ "rpc.error": outcome.body.error.code });
  return outcome ? outcomeResponse(outcome) : new Response(null, { status: 202 });
}

/**
 * A JSON-RPC batch (2025-03-26 only): one JSON array of the members'
 * responses, in order; messages a backend sends during a call are not relayed.
 */
export async function batch(
  ctx: McpContext,
  body: unknown[],
  sessionVersion: string,
  headerVersion: string,
): Promise<Response> {
  if (!allowsBatches(sessionVersion) && !allowsBatches(headerVersion)) {
    throw new TransportError(
      400,
      ErrorCode.InvalidRequest,
      "Invalid Request: batches are not supported in this protocol version",
    );
  }
  if (body.length === 0 || body.length > MAX_BATCH) {
    throw new TransportError(
      400,
      ErrorCode.InvalidRequest,
      `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`,
    );
  }
  // Input requests of 2026 backends cannot be relayed from inside a batch (core/input-shim.ts).
  const members = ctx.legacyClient ? { ...ctx, legacyClient: batchClient(ctx.legacyClient) } : ctx;
  const outcomes = await Promise.all(body.map((m) => handleMessage(members, classify(m), m)));
  const replies: JsonRpcResponse[] = [];
  for (const [i, o] of outcomes.entries()) {
    if (o?.kind === "json") replies.push(o.body);
    else if (o?.kind === "raw") replies.push(rawReply(o.text, readableId(body[i])));
    else if (o?.kind === "sse") replies.push(...(await finalResponse(o.stream)));
  }
  return replies.length ? jsonReply(replies) : new Response(null, { status: 202 });
}

/**
 * The final response on a relayed call's stream (for batches). Events are
 * read with the SSE parser: the priming event has empty data, and progress
 * or server-to-client requests come before the response.
 */
async function finalResponse(stream: ReadableStream<Uint8Array>): Promise<JsonRpcResponse[]> {
  let final: JsonRpcResponse | undefined;
  for await (const event of parseSse(stream)) {
    if (event.data === "") continue;
    const message = classify(JSON.parse(event.data));
    if (message?.kind === "response") final = message.message;
  }
  return final ? [final] : [];
}

/** What a request is about, for its span (names only, never arguments). */
export function describe(spans: SpanRecorder, message: JsonRpcMessage | null): void {
  if (message?.kind !== "request") return;
  const { method, params } = message.message;
  spans.root.set({ method });
  const name = params?.name;
  if (typeof name === "string" && method === "tools/call") spans.root.set({ tool: name });
  if (typeof name === "string" && method === "prompts/get") spans.root.set({ prompt: name });
  if (typeof params?.uri === "string" && method.startsWith("resources/")) spans.root.set({ resource: params.uri });
}
