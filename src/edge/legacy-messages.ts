/**
 * Requests of a legacy HTTP+SSE session (MCP 2024-11-05 basic/transports):
 * the POST that carried one has already been answered 202, and everything the
 * request produces goes on the session's stream instead, through its
 * LegacyClientDO. The request runs through the same core as on Streamable
 * HTTP (`handleMessage` → dispatch); a relayed call's stream is read event by
 * event and each message delivered as it arrives, so a server-to-client
 * request (sampling, elicitation) reaches the client while the call waits for
 * its answer, which the client POSTs back like any message.
 *
 * `initialize` is answered here (the stream's session has none yet): it
 * records the client's capability profile with the LegacyClientDO and gives
 * the SessionDO that holds the client's upstream sessions its capabilities.
 *
 * What backends send outside any call (`resources/updated`, `list_changed`)
 * comes from the same follower of the backends' GET streams as on Streamable
 * HTTP (`listen.ts`), run by the isolate that serves the session's stream.
 */
import type { McpContext, Outcome } from "../core/context";
import { ErrorCode, errorResponse, type JsonRpcRequest, type JsonRpcResponse } from "../protocol/jsonrpc";
import { capabilityProfile } from "../protocol/profiles";
import { parseSse } from "../protocol/sse";
import { initializeAnswer } from "./initialize";
import { LEGACY_PROTOCOL_VERSIONS, type LegacyClaims, type LegacyClient, startUpstreams } from "./legacy-sessions";
import { listen } from "./listen";
import { handleMessage, rawReply } from "./messages";
import type { Session } from "./sessions";

/** One admitted request of a legacy session. */
export interface LegacyRequest {
  ctx: McpContext;
  claims: LegacyClaims;
  client: LegacyClient;
  /** The client had initialized when the request was admitted. */
  initialized: boolean;
  /** The request's in-flight slot, released with its final answer. */
  ticket: string | null;
  /** `ctx.clientSignal`'s controller: aborted when the stream is gone, which cancels the backend call. */
  abort: AbortController;
  /** How long the request may run after its 202 (`legacyDeadlineMs`). */
  deadlineMs: number;
}

/** Default of `LEGACY_SSE_DEADLINE_MS`: Cloudflare ends `waitUntil` work 30 s after the response. */
const DEFAULT_DEADLINE_MS = 25_000;

/** The deadline of a legacy request from `LEGACY_SSE_DEADLINE_MS` (default 25 s, 1 s to 10 min). */
export function legacyDeadlineMs(value: string | undefined): number {
  const ms = Number(value);
  if (!value || !Number.isFinite(ms)) return DEFAULT_DEADLINE_MS;
  return Math.min(600_000, Math.max(1_000, Math.floor(ms)));
}

/** Answers `initialize`: the answer the Streamable HTTP edge gives, and the session's upstream state. */
async function initialize(call: LegacyRequest, request: JsonRpcRequest): Promise<JsonRpcResponse> {
  const already = () =>
    errorResponse(request.id, ErrorCode.InvalidRequest, "Invalid Request: Server already initialized");
  if (call.initialized) return already();
  const { ctx } = call;
  const answer = await initializeAnswer(ctx.env, ctx.endpoint, request, ctx.defer, LEGACY_PROTOCOL_VERSIONS);
  if (!answer.accepted) return answer.body;
  const { init, protocolVersion } = answer.accepted;
  await startUpstreams(ctx.env, call.claims, init);
  // The object decides which of two racing initializes counts.
  if (!(await call.client.initialized(capabilityProfile(init.capabilities), protocolVersion))) return already();
  return answer.body;
}

/** What a request produces: a JSON answer, or a relayed call's stream ending with one. */
async function outcomeOf(call: LegacyRequest, request: JsonRpcRequest): Promise<Outcome> {
  if (request.method === "initialize") return { kind: "json", body: await initialize(call, request) };
  // MCP basic/lifecycle: nothing but ping before initialization.
  if (!call.initialized && request.method !== "ping") {
    return {
      kind: "json",
      body: errorResponse(
        request.id,
        ErrorCode.InvalidRequest,
        "Invalid Request: the session is not initialized; send initialize first",
      ),
    };
  }
  const outcome = await handleMessage(call.ctx, { kind: "request", message: request }, request);
  // A request always has an outcome; null would be a notification's.
  return outcome ?? { kind: "json", body: errorResponse(request.id, ErrorCode.InternalError, "Internal error") };
}

/**
 * Runs one request and writes what it produces on the session's stream, the
 * final answer (a result or the era's JSON-RPC error, with the request's id)
 * last. Never throws: it runs after the POST was answered, in `waitUntil`,
 * which Cloudflare ends 30 s after the response; so the request has a
 * deadline, at which the call is cancelled and the client told, rather than
 * cut off without an answer.
 */
export async function answerOnStream(call: LegacyRequest, request: JsonRpcRequest): Promise<void> {
  const { ctx, client, ticket } = call;
  let answered = false;
  let released = false;
  const send = async (message: unknown, final: boolean): Promise<boolean> => {
    // One final answer per request: the deadline's or the call's, whichever comes first.
    if (final && answered) return false;
    if (final) answered = true;
    const answer = await client.deliver([message], final && ticket !== null ? ticket : undefined);
    if (final) released = true;
    // No stream any more: stop the call (the backend request is cancelled).
    if (answer === "ended") call.abort.abort();
    return answer === "ok" && !answered;
  };
  let late: Promise<unknown> = Promise.resolve();
  const deadline = setTimeout(() => {
    call.abort.abort();
    const message = `Request timed out: a request over HTTP+SSE may run ${call.deadlineMs} ms after its POST was accepted; use Streamable HTTP (/mcp) for longer calls`;
    late = send(errorResponse(request.id, ErrorCode.ServerError, message, { reason: "deadline" }), true).catch(
      () => undefined,
    );
  }, call.deadlineMs);
  try {
    const outcome = await outcomeOf(call, request);
    if (outcome.kind === "json" || outcome.kind === "raw") {
      await send(outcome.kind === "json" ? outcome.body : rawReply(outcome.text, request.id), true);
      return;
    }
    for await (const event of parseSse(outcome.stream)) {
      // The priming event carries no message; keep-alive comments never reach here.
      if (!event.data) continue;
      const message = JSON.parse(event.data) as Record<string, unknown>;
      const final = !("method" in message) && message.id === request.id;
      if (!(await send(message, final))) break;
    }
  } catch (err) {
    // The core answers its own failures; this is the stream's object failing, or a relay broken midway.
    call.abort.abort();
    await send(ctx.era.fail(err, request.id), true).catch(() => undefined);
  } finally {
    clearTimeout(deadline);
    await late;
    if (!released && ticket !== null) await client.deliver([], ticket).catch(() => undefined);
    // The request's span ended with its 202; the backend and plugin spans end now.
    ctx.spans.flush();
  }
}

/**
 * Relays the messages the session's backends send outside any call onto its
 * stream, until `stop` aborts (the stream ended) or the session ends (the
 * follower sees its SessionDO end). Never throws.
 */
export async function followBackends(
  ctx: McpContext,
  session: Session,
  client: LegacyClient,
  stop: AbortSignal,
): Promise<void> {
  try {
    // Aborting the pipe cancels the follower's stream, which stops it and everything it follows.
    const events = parseSse(listen(ctx, session).pipeThrough(new TransformStream(), { signal: stop }));
    for await (const event of events) {
      if (!event.data) continue;
      if ((await client.deliver([JSON.parse(event.data)])) === "ended") break;
    }
  } catch {
    // Stopped, or the stream's object is unreachable: the session is ending either way.
  }
}
