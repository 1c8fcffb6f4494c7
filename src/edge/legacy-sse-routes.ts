/**
 * The legacy HTTP+SSE endpoints (MCP 2024-11-05 basic/transports, "HTTP with
 * SSE") for clients that predate Streamable HTTP, as ContextForge,
 * agentgateway, Docker's gateway and MetaMCP offer them:
 *
 * - `GET /sse` and `GET /servers/:name/sse` open a session: a stream whose
 *   first event (`endpoint`) names the URI the client POSTs to
 *   (`/messages?sessionId=…`, or `/servers/:name/messages?sessionId=…`), and
 *   on which every server message then arrives as a `message` event.
 * - `POST …/messages?sessionId=…` carries one JSON-RPC message and is answered
 *   202 once admitted; what it produces goes on the stream.
 *
 * Same preamble as the Streamable HTTP endpoints (`middleware.ts`: span,
 * caller checks, auth for the endpoint) on both the GET and every POST, and
 * the same core through an McpContext, so prefixing, virtual servers,
 * plugins, breakers and spans behave identically. One LegacyClientDO per
 * session holds the stream; any isolate serves the POSTs (design rules 3, 8).
 * Failures before a POST is admitted are clean 4xx (`mcpOnError`); after, a
 * JSON-RPC error on the stream with the request's id.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { credentialOf } from "../auth/authenticate";
import { gatewayOrigin } from "../auth/oauth/resource";
import { configCache, loadConfig } from "../config/middleware";
import { shardConfigSource } from "../config/shard-source";
import type { McpContext } from "../core/context";
import { classify, ErrorCode, readableId } from "../protocol/jsonrpc";
import { ERA_2025 } from "./era-2025";
import { mcpOnError, requestIds, TransportError } from "./errors";
import { answerOnStream, followBackends, legacyDeadlineMs } from "./legacy-messages";
import {
  createLegacySession,
  endLegacySession,
  LEGACY_PROTOCOL_VERSION,
  type LegacyClaims,
  legacyClient,
  openLegacySession,
  startUpstreams,
  upstreamSessions,
} from "./legacy-sessions";
import { describe, handleMessage } from "./messages";
import { callerChecks, type McpEnv, mcpAuth, mcpSpan } from "./middleware";
import { readBody } from "./routes";
import { SessionError } from "./sessions";

const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform" };

/** Where a session of this endpoint POSTs its messages (absolute path, as the SDK's server sends it). */
function messagesPath(c: Context<McpEnv>, sessionId: string): string {
  const name = c.req.param("name");
  const base = name === undefined ? "" : `/servers/${encodeURIComponent(name)}`;
  return `${base}/messages?sessionId=${encodeURIComponent(sessionId)}`;
}

/**
 * GET: a new session and its stream. The stream is the LegacyClientDO's,
 * piped through this isolate so that its end, whichever side ends it (the
 * client leaving, the object's idle timeout, expiry or backlog bound), ends
 * the session here too: the object stops admitting POSTs and the client's
 * upstream sessions are closed. While it is open, this isolate also follows
 * the backends' own streams for the session (`followBackends`).
 */
async function openStream(c: Context<McpEnv>): Promise<Response> {
  const env = c.env;
  const subject = c.get("subject");
  const endpoint = c.get("endpoint");
  c.get("spans").root.set({ method: "sse/open" });
  // Hono answers HEAD with the GET handler: the headers only, no session opened for a stream nobody reads.
  if (c.req.method === "HEAD") return new Response(null, { status: 200, headers: SSE_HEADERS });
  const { id, claims } = await createLegacySession(env, subject, endpoint.key);
  // No capabilities until the client's initialize replaces them; nothing opens upstream before it.
  await startUpstreams(env, claims, { capabilities: {} });
  const client = legacyClient(env, claims.sid);
  const source = await client.open({
    subject,
    endpoint: endpoint.key,
    expiresAt: claims.exp,
    endpointUri: messagesPath(c, id),
  });
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  // The request's signal fires when the client disconnects (enable_request_signal): the pipe stops and cancels the source.
  const piped = source.pipeTo(writable, { signal: c.req.raw.signal }).catch(() => undefined);
  const stop = new AbortController();
  const session = upstreamSessions(env, claims, "", LEGACY_PROTOCOL_VERSION);
  const following = followBackends(
    legacyContext(c, claims, "", LEGACY_PROTOCOL_VERSION, 0, stop.signal),
    session,
    client,
    stop.signal,
  );
  const snapshot = c.get("config");
  const defer = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  c.executionCtx.waitUntil(
    piped.then(async () => {
      stop.abort();
      // The freshest configuration this isolate can get, for the backends' current URLs and headers.
      const config = await configCache.get(shardConfigSource(env), defer).catch(() => snapshot);
      await Promise.all([endLegacySession(env, claims, config.backends), following]);
    }),
  );
  return new Response(readable, { status: 200, headers: SSE_HEADERS });
}

/** What the core needs for one POSTed message of a legacy session. */
function legacyContext(
  c: Context<McpEnv>,
  claims: LegacyClaims,
  profile: string,
  version: string,
  requestBytes: number,
  clientSignal: AbortSignal,
): McpContext {
  const spans = c.get("spans");
  return {
    env: c.env,
    config: c.get("config"),
    endpoint: c.get("endpoint"),
    caller: {
      subject: c.get("subject"),
      profile,
      principal: c.get("principal"),
      ...credentialOf(c.req.header("authorization")),
    },
    upstreams: upstreamSessions(c.env, claims, profile, version),
    era: ERA_2025,
    defer: (work) => c.executionCtx.waitUntil(work),
    traceparent: spans.root.traceparent,
    origin: gatewayOrigin(c.env, c.req.url),
    spans,
    requestBytes,
    // Not the POST's own signal: the POST ends with its 202, the call lives as long as the stream.
    clientSignal,
  };
}

/**
 * POST: one JSON-RPC message of an established session, admitted (the
 * session is this caller's, on this endpoint, live, with a free request slot)
 * and answered 202. Requests run on after the answer and reply on the
 * stream; notifications and responses (a client's answer to sampling or
 * elicitation, routed back to the backend by the core) are handled before it.
 */
async function postMessage(c: Context<McpEnv>): Promise<Response> {
  const env = c.env;
  const subject = c.get("subject");
  const endpoint = c.get("endpoint");
  // The body first, so that every error after it carries the request's id (JSON-RPC 2.0 §5).
  const { value: body, bytes } = await readBody(c);
  const id = readableId(body);
  if (id !== null) requestIds.set(c.req.raw, id);
  const claims = await openLegacySession(env, c.req.query("sessionId"), subject, endpoint.key);
  if (Array.isArray(body)) {
    throw new TransportError(
      400,
      ErrorCode.InvalidRequest,
      "Invalid Request: this transport takes one message per POST",
    );
  }
  const message = classify(body);
  if (!message) throw new TransportError(400, ErrorCode.InvalidRequest, "Invalid Request");
  describe(c.get("spans"), message);

  const client = legacyClient(env, claims.sid);
  const admission = await client.admit(subject, endpoint.key, message.kind === "request");
  if (!admission.ok) {
    if (admission.reason === "busy") {
      throw new TransportError(
        429,
        ErrorCode.ServerError,
        "Too Many Requests: too many requests in flight on this session",
      );
    }
    throw new SessionError(404, "Session not found");
  }
  const initialized = admission.protocolVersion !== null;
  const abort = new AbortController();
  const ctx = legacyContext(
    c,
    claims,
    admission.profile ?? "",
    admission.protocolVersion ?? LEGACY_PROTOCOL_VERSION,
    bytes,
    abort.signal,
  );
  if (message.kind === "request") {
    c.executionCtx.waitUntil(
      answerOnStream(
        {
          ctx,
          claims,
          client,
          initialized,
          ticket: admission.ticket,
          abort,
          deadlineMs: legacyDeadlineMs(env.LEGACY_SSE_DEADLINE_MS),
        },
        message.message,
      ),
    );
  } else if (initialized) {
    await handleMessage(ctx, message, body);
  } else if (message.kind === "response") {
    // Nothing was asked of a client that has not initialized.
    throw new TransportError(400, ErrorCode.InvalidRequest, "Response to an unknown request");
  }
  return new Response(null, { status: 202 });
}

function methodNotAllowed(allow: string) {
  return () => {
    throw new TransportError(405, ErrorCode.ServerError, "Method Not Allowed", { allow });
  };
}

/** Mounts `/sse` + `/messages` and their virtual-server forms. */
export function legacySseRoutes() {
  const app = new Hono<McpEnv>();
  app.onError(mcpOnError);
  for (const prefix of ["", "/servers/:name"]) {
    // Only these paths load config: a stray 404 must not cost a D1 query.
    const preamble = [mcpSpan(), loadConfig(), callerChecks(), mcpAuth()] as const;
    app.get(`${prefix}/sse`, ...preamble, openStream);
    app.post(`${prefix}/messages`, ...preamble, postMessage);
    app.all(`${prefix}/sse`, methodNotAllowed("GET"));
    app.all(`${prefix}/messages`, methodNotAllowed("POST"));
  }
  return app;
}
