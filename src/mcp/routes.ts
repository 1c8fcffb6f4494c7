/**
 * The MCP endpoints: `/mcp` (every enabled backend) and `/servers/:name/mcp`
 * (one virtual server), Streamable HTTP POST / GET / DELETE.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { authenticate, bearerSecret } from "../auth/authenticate";
import { canUseMcp } from "../auth/principal";
import { loadConfig } from "../config/middleware";
import type { AppEnv } from "../env";
import type { HttpError } from "../errors";
import { SpanRecorder } from "../observability/span";
import { requestTrace } from "../observability/trace-context";
import type { McpContext, Outcome } from "./context";
import { dispatch, dispatchNotification } from "./dispatch";
import { resolveEndpoint } from "./federation";
import { handleInitialize } from "./initialize";
import {
  classify,
  ErrorCode,
  errorResponse,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcResponse,
  RpcError,
  readableId,
} from "./jsonrpc";
import { listen } from "./listen";
import { allowsBatches, MAX_BATCH, MAX_MCP_BODY_BYTES } from "./protocol";
import { backendErrorResponse, deliverResponse } from "./relay";
import { openSession, SessionError } from "./sessions";
import { parseSse } from "./sse";
import {
  checkAccept,
  checkHost,
  checkOrigin,
  checkProtocolVersion,
  TransportError,
  transportErrorResponse,
} from "./transport";
import { BackendFailure } from "./upstream";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="mcp-gateway"' };

/** Authenticates for an endpoint; returns the subject the session is bound to. */
async function authorize(c: Context<AppEnv>, serverName: string | null, spans: SpanRecorder): Promise<string> {
  const server = serverName === null ? null : c.get("config").servers.get(serverName);
  if (serverName !== null && !server)
    throw new TransportError(404, ErrorCode.ServerError, `Unknown server '${serverName}'`);
  if (server?.auth === "none") return "anonymous";
  const secret = bearerSecret(c.req.header("authorization"));
  if (!secret) throw new TransportError(401, ErrorCode.ServerError, "Unauthorized: missing bearer token", CHALLENGE);
  const principal = await authenticate(secret, c.env.ADMIN_TOKEN, c.get("config"));
  if (!principal)
    throw new TransportError(401, ErrorCode.ServerError, "Unauthorized: invalid or expired token", CHALLENGE);
  spans.root.set({ token: principal.name });
  if (!canUseMcp(principal, serverName))
    throw new TransportError(403, ErrorCode.ServerError, "Forbidden: this token may not use this endpoint");
  return principal.kind === "admin" ? "admin" : principal.id;
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** DNS-rebinding protection: Host (when configured) and Origin. */
function checkCaller(c: Context<AppEnv>): void {
  checkHost(c.req.raw, list(c.env.ALLOWED_HOSTS));
  checkOrigin(c.req.raw, list(c.env.ALLOWED_ORIGINS));
}

function jsonResponse(body: unknown, headers: Record<string, string> = {}, serialized?: string): Response {
  return new Response(serialized ?? JSON.stringify(body), {
    status: 200,
    headers: { "content-type": "application/json", ...headers },
  });
}

function outcomeResponse(outcome: Outcome): Response {
  if (outcome.kind === "json") return jsonResponse(outcome.body, {}, outcome.serialized);
  return new Response(outcome.stream, {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" },
  });
}

/** The id of the request being answered, once its body was read: every error then carries it (JSON-RPC 2.0 §5). */
const requestIds = new WeakMap<Context<AppEnv>, JsonRpcId>();

/** The parsed body and its raw byte length (plugins read sizes from it, never by re-serialising). */
async function readBody(c: Context<AppEnv>): Promise<{ value: unknown; bytes: number }> {
  const type = c.req.header("content-type") ?? "";
  if (!type.includes("application/json")) {
    throw new TransportError(
      415,
      ErrorCode.ServerError,
      "Unsupported Media Type: Content-Type must be application/json",
    );
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > MAX_MCP_BODY_BYTES) throw new TransportError(413, ErrorCode.ServerError, "Payload Too Large");
  const buffer = await c.req.arrayBuffer();
  if (buffer.byteLength > MAX_MCP_BODY_BYTES) throw new TransportError(413, ErrorCode.ServerError, "Payload Too Large");
  try {
    return { value: JSON.parse(new TextDecoder().decode(buffer)), bytes: buffer.byteLength };
  } catch {
    throw new TransportError(400, ErrorCode.ParseError, "Parse error: Invalid JSON");
  }
}

async function context(
  c: Context<AppEnv>,
  serverName: string | null,
  subject: string,
  spans: SpanRecorder,
  requestBytes = 0,
): Promise<McpContext> {
  const config = c.get("config");
  const endpoint = resolveEndpoint(config, serverName);
  if (!endpoint) throw new TransportError(404, ErrorCode.ServerError, `Unknown server '${serverName}'`);
  const session = await openSession(c.env, c.req.header("mcp-session-id"), subject, endpoint.key);
  return {
    env: c.env,
    config,
    endpoint,
    session,
    defer: (work) => c.executionCtx.waitUntil(work),
    traceparent: spans.root.traceparent,
    spans,
    requestBytes,
    clientSignal: c.req.raw.signal,
  };
}

/** Handles one (classified) message of an established session; null for notifications and responses. */
async function handleMessage(ctx: McpContext, message: JsonRpcMessage | null, raw: unknown): Promise<Outcome | null> {
  if (!message)
    return { kind: "json", body: errorResponse(readableId(raw), ErrorCode.InvalidRequest, "Invalid Request") };
  if (message.kind === "request") {
    if (message.message.method === "initialize") {
      return {
        kind: "json",
        body: errorResponse(
          message.message.id,
          ErrorCode.InvalidRequest,
          "Invalid Request: Server already initialized",
        ),
      };
    }
    return dispatch(ctx, message.message);
  }
  if (message.kind === "notification") {
    await dispatchNotification(ctx, message.message.method, message.message.params);
    return null;
  }
  try {
    await deliverResponse(ctx, message.message);
  } catch (err) {
    if (err instanceof BackendFailure) throw new TransportError(400, ErrorCode.BackendError, err.message);
    throw err;
  }
  return null;
}

/** What a request is about, for its span (names only, never arguments). */
function describe(spans: SpanRecorder, message: JsonRpcMessage | null): void {
  if (message?.kind !== "request") return;
  const { method, params } = message.message;
  spans.root.set({ method });
  const name = params?.name;
  if (typeof name === "string" && method === "tools/call") spans.root.set({ tool: name });
  if (typeof name === "string" && method === "prompts/get") spans.root.set({ prompt: name });
  if (typeof params?.uri === "string" && method.startsWith("resources/")) spans.root.set({ resource: params.uri });
}

async function post(c: Context<AppEnv>, serverName: string | null, spans: SpanRecorder): Promise<Response> {
  checkCaller(c);
  const subject = await authorize(c, serverName, spans);
  checkAccept(c.req.raw, ["application/json", "text/event-stream"]);
  const headerVersion = checkProtocolVersion(c.req.raw);
  const { value: body, bytes } = await readBody(c);
  const id = readableId(body);
  if (id !== null) requestIds.set(c, id);
  // A lone message is validated once here; a batch's members in the batch branch.
  const first = Array.isArray(body) ? null : classify(body);
  if (Array.isArray(body)) spans.root.set({ method: "batch" });
  else describe(spans, first);

  // initialize opens a session; it must be a lone request (basic/lifecycle).
  if (first?.kind === "request" && first.message.method === "initialize") {
    if (c.req.header("mcp-session-id")) {
      throw new TransportError(400, ErrorCode.InvalidRequest, "Invalid Request: Server already initialized");
    }
    const config = c.get("config");
    const endpoint = resolveEndpoint(config, serverName);
    if (!endpoint) throw new TransportError(404, ErrorCode.ServerError, `Unknown server '${serverName}'`);
    const result = await handleInitialize(c.env, endpoint, subject, first.message, (w) => c.executionCtx.waitUntil(w));
    return jsonResponse(result.body, result.sessionId ? { "mcp-session-id": result.sessionId } : {});
  }

  const ctx = await context(c, serverName, subject, spans, bytes);
  // Liveness is checked concurrently with the work, never cached (hardening issue, defect 5).
  const live = ctx.session.assertLive();
  const work = Array.isArray(body) ? batch(ctx, body, headerVersion) : single(ctx, first, body, spans);
  return whileLive(live, work);
}

/**
 * Waits for the request's answer and its session's liveness. A session found
 * ended drops the answer (a started stream is cancelled) for a 404: MCP
 * 2025-11-25 basic/transports says a terminated session's requests MUST get 404.
 */
async function whileLive(live: Promise<void>, work: Promise<Response>): Promise<Response> {
  const [alive, answer] = await Promise.allSettled([live, work]);
  if (alive.status === "rejected") {
    if (answer.status === "fulfilled") await answer.value.body?.cancel().catch(() => undefined);
    throw alive.reason;
  }
  if (answer.status === "rejected") throw answer.reason;
  return answer.value;
}

async function single(
  ctx: McpContext,
  message: JsonRpcMessage | null,
  raw: unknown,
  spans: SpanRecorder,
): Promise<Response> {
  const outcome = await handleMessage(ctx, message, raw);
  if (outcome?.kind === "json" && "error" in outcome.body) spans.root.set({ "rpc.error": outcome.body.error.code });
  return outcome ? outcomeResponse(outcome) : new Response(null, { status: 202 });
}

/** A JSON-RPC batch (2025-03-26 only): one JSON array of the members' responses; in-call messages are not relayed. */
async function batch(ctx: McpContext, body: unknown[], headerVersion: string): Promise<Response> {
  if (!allowsBatches(ctx.session.claims.pv) && !allowsBatches(headerVersion)) {
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
  const outcomes = await Promise.all(body.map((m) => handleMessage(ctx, classify(m), m)));
  const replies: JsonRpcResponse[] = [];
  for (const o of outcomes) {
    if (o?.kind === "json") replies.push(o.body);
    else if (o?.kind === "sse") replies.push(...(await finalResponse(o.stream)));
  }
  return replies.length ? jsonResponse(replies) : new Response(null, { status: 202 });
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

/** GET: the server-to-client stream of an established session. */
async function get(c: Context<AppEnv>, serverName: string | null, spans: SpanRecorder): Promise<Response> {
  checkCaller(c);
  const subject = await authorize(c, serverName, spans);
  checkAccept(c.req.raw, ["text/event-stream"]);
  checkProtocolVersion(c.req.raw);
  const ctx = await context(c, serverName, subject, spans);
  await ctx.session.assertLive();
  return outcomeResponse({ kind: "sse", stream: listen(ctx) });
}

async function remove(c: Context<AppEnv>, serverName: string | null, spans: SpanRecorder): Promise<Response> {
  checkCaller(c);
  const subject = await authorize(c, serverName, spans);
  checkProtocolVersion(c.req.raw);
  const ctx = await context(c, serverName, subject, spans);
  await ctx.session.assertLive();
  await ctx.session.end(ctx.config.backends, ctx.defer);
  return new Response(null, { status: 200 });
}

/**
 * Runs one MCP request inside its span. The span ends when the response is
 * produced (a streamed call's backend span ends with its stream), and the
 * finished spans go to the queue in `waitUntil`: never awaited here.
 */
async function handle(c: Context<AppEnv>, serverName: string | null, run: typeof post): Promise<Response> {
  const spans = new SpanRecorder(requestTrace(c.req.header("traceparent")), c.env.SPANS, (work) =>
    c.executionCtx.waitUntil(work),
  );
  spans.root.set({ server: serverName ?? "*" });
  const response = await respond(c, serverName, run, spans);
  const failed = response.status >= 400 || spans.root.attributes["rpc.error"] !== undefined;
  spans.root.end(failed ? "error" : "ok", { "http.status": response.status });
  spans.flush();
  return response;
}

async function respond(
  c: Context<AppEnv>,
  serverName: string | null,
  run: typeof post,
  spans: SpanRecorder,
): Promise<Response> {
  try {
    return await run(c, serverName, spans);
  } catch (err) {
    const id = requestIds.get(c) ?? null;
    if (err instanceof TransportError) return transportErrorResponse(err, id);
    if (err instanceof SessionError) {
      return transportErrorResponse(
        new TransportError(
          err.status,
          err.status === 404 ? ErrorCode.SessionNotFound : ErrorCode.ServerError,
          err.message,
        ),
        id,
      );
    }
    if (err instanceof RpcError) return jsonResponse(errorResponse(id, err.code, err.message));
    if (err instanceof BackendFailure) return jsonResponse(backendErrorResponse(id, err));
    console.error("mcp error", err instanceof Error ? `${err.name}: ${err.message}` : "unknown");
    return transportErrorResponse(new TransportError(500, ErrorCode.InternalError, "Internal error"), id);
  }
}

function methodNotAllowed(): Response {
  return transportErrorResponse(new TransportError(405, ErrorCode.ServerError, "Method Not Allowed"));
}

/** Mounts both endpoints. */
export function mcpRoutes() {
  const mcp = new Hono<AppEnv>();
  // Only the MCP paths load config: a stray 404 must not cost a D1 query, nor /api a second load.
  // A cold isolate with D1 down answers a JSON-RPC 503 (a warm one serves its last snapshot).
  const unavailable = (err: HttpError) =>
    transportErrorResponse(new TransportError(err.status, ErrorCode.ServerError, err.message, err.headers));
  mcp.use("/mcp", loadConfig(unavailable));
  mcp.use("/servers/:name/mcp", loadConfig(unavailable));
  mcp.post("/mcp", (c) => handle(c, null, post));
  mcp.delete("/mcp", (c) => handle(c, null, remove));
  mcp.get("/mcp", (c) => handle(c, null, get));
  mcp.post("/servers/:name/mcp", (c) => handle(c, c.req.param("name"), post));
  mcp.delete("/servers/:name/mcp", (c) => handle(c, c.req.param("name"), remove));
  mcp.get("/servers/:name/mcp", (c) => handle(c, c.req.param("name"), get));
  mcp.all("/mcp", () => methodNotAllowed());
  mcp.all("/servers/:name/mcp", () => methodNotAllowed());
  return mcp;
}
