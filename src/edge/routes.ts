/**
 * The MCP endpoints: `/mcp` (every enabled backend) and `/servers/:name/mcp`
 * (one virtual server), Streamable HTTP POST / GET / DELETE (MCP 2025-11-25
 * basic/transports). Every method runs the same preamble (`middleware.ts`),
 * and every failure goes through the routes' one `onError` (`errors.ts`).
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { credentialOf } from "../auth/authenticate";
import { gatewayOrigin } from "../auth/oauth/resource";
import { loadConfig } from "../config/middleware";
import type { McpContext } from "../core/context";
import { classify, ErrorCode, readableId } from "../protocol/jsonrpc";
import { MAX_MCP_BODY_BYTES } from "../protocol/versions";
import { classifyEra } from "./era";
import { ERA_2025 } from "./era-2025";
import { mcpOnError, requestIds, TransportError } from "./errors";
import { handleInitialize } from "./initialize";
import { listen } from "./listen";
import { batch, describe, outcomeResponse, single } from "./messages";
import { callerChecks, type McpEnv, mcpAuth, mcpSpan } from "./middleware";
import { modernPost } from "./modern";
import { openSession, type Session } from "./sessions";
import { checkAccept, checkProtocolVersion } from "./transport";

/** The parsed body and its raw byte length (plugins read sizes from it, never by re-serialising). Also the legacy HTTP+SSE POST's. */
export async function readBody(c: Context<McpEnv>): Promise<{ value: unknown; bytes: number }> {
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

/** The session named by `Mcp-Session-Id`, bound to this caller and endpoint (400 without one, 404 if unusable). */
function session(c: Context<McpEnv>): Promise<Session> {
  return openSession(c.env, c.req.header("mcp-session-id"), c.get("subject"), c.get("endpoint").key);
}

/** What the core needs for this request, from the 2025-era session. */
function mcpContext(c: Context<McpEnv>, s: Session, requestBytes = 0): McpContext {
  const spans = c.get("spans");
  return {
    env: c.env,
    config: c.get("config"),
    endpoint: c.get("endpoint"),
    caller: {
      subject: c.get("subject"),
      profile: s.claims.prof,
      principal: c.get("principal"),
      ...credentialOf(c.req.header("authorization")),
    },
    upstreams: s,
    era: ERA_2025,
    defer: (work) => c.executionCtx.waitUntil(work),
    traceparent: spans.root.traceparent,
    origin: gatewayOrigin(c.env, c.req.url),
    spans,
    requestBytes,
    clientSignal: c.req.raw.signal,
    legacyClient: s,
  };
}

/**
 * Waits for the request's answer and its session's liveness. A session found
 * ended drops the answer (a started stream is cancelled) for a 404: MCP
 * 2025-11-25 basic/transports says a terminated session's requests MUST get
 * 404, and liveness is checked on every request, concurrently with its work
 * (hardening issue, defect 5).
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

/** POST: one JSON-RPC message (or a 2025-03-26 batch), of either protocol era (`era.ts`). */
async function post(c: Context<McpEnv>): Promise<Response> {
  const { value: body, bytes } = await readBody(c);
  const id = readableId(body);
  if (id !== null) requestIds.set(c.req.raw, id);
  const verdict = classifyEra(body, {
    protocolVersion: c.req.header("mcp-protocol-version") ?? null,
    method: c.req.header("mcp-method") ?? null,
  });
  if ("refuse" in verdict) throw new TransportError(verdict.refuse.status, verdict.refuse.code, verdict.refuse.message);
  // 2026 has no client-to-server notifications over HTTP (a closed stream is the cancel): accepted, dropped.
  if (verdict.era === "modern-notification") return new Response(null, { status: 202 });
  if (verdict.era === "modern" && id !== null) return modernPost(c, verdict, id, bytes);
  checkAccept(c.req.raw, ["application/json", "text/event-stream"]);
  const headerVersion = checkProtocolVersion(c.req.raw);
  const spans = c.get("spans");
  // A lone message is validated once here; a batch's members in `batch`.
  const first = Array.isArray(body) ? null : classify(body);
  if (Array.isArray(body)) spans.root.set({ method: "batch" });
  else describe(spans, first);

  // initialize opens a session; it must be a lone request (basic/lifecycle).
  if (first?.kind === "request" && first.message.method === "initialize") {
    if (c.req.header("mcp-session-id")) {
      throw new TransportError(400, ErrorCode.InvalidRequest, "Invalid Request: Server already initialized");
    }
    const defer = (w: Promise<unknown>) => c.executionCtx.waitUntil(w);
    const result = await handleInitialize(c.env, c.get("endpoint"), c.get("subject"), first.message, defer);
    return outcomeResponse(
      { kind: "json", body: result.body },
      result.sessionId ? { "mcp-session-id": result.sessionId } : {},
    );
  }

  const s = await session(c);
  const ctx = mcpContext(c, s, bytes);
  const work = Array.isArray(body) ? batch(ctx, body, s.claims.pv, headerVersion) : single(ctx, first, body, spans);
  if (skipsLiveness(c.env)) return work;
  return whileLive(s.assertLive(), work);
}

let warned = false;

/** The benchmark's switch (`BENCH_SKIP_SESSION_LIVENESS`, see env.ts): loud, and only for its exact value. */
function skipsLiveness(env: McpEnv["Bindings"]): boolean {
  if (env.BENCH_SKIP_SESSION_LIVENESS !== "unsafe-bench-only") return false;
  if (!warned) console.warn("BENCH_SKIP_SESSION_LIVENESS is set: ended sessions are not refused (benchmark only)");
  warned = true;
  return true;
}

/** GET: the server-to-client stream of an established session. */
async function get(c: Context<McpEnv>): Promise<Response> {
  // Hono routes HEAD to GET handlers; a HEAD must not open a stream nobody reads.
  if (c.req.method === "HEAD") throw new TransportError(405, ErrorCode.ServerError, "Method Not Allowed");
  checkAccept(c.req.raw, ["text/event-stream"]);
  checkProtocolVersion(c.req.raw);
  const s = await session(c);
  await s.assertLive();
  return outcomeResponse({ kind: "sse", stream: listen(mcpContext(c, s), s) });
}

/** DELETE: ends the session everywhere. */
async function remove(c: Context<McpEnv>): Promise<Response> {
  checkProtocolVersion(c.req.raw);
  const s = await session(c);
  await s.assertLive();
  await s.end(c.get("config").backends, (work) => c.executionCtx.waitUntil(work));
  return new Response(null, { status: 200 });
}

/** Mounts both endpoints. */
export function mcpRoutes() {
  const mcp = new Hono<McpEnv>();
  mcp.onError(mcpOnError);
  for (const path of ["/mcp", "/servers/:name/mcp"]) {
    // Only the MCP paths load config: a stray 404 must not cost a D1 query, nor /api a second load.
    const preamble = [mcpSpan(), loadConfig(), callerChecks(), mcpAuth()] as const;
    mcp.post(path, ...preamble, post);
    mcp.get(path, ...preamble, get);
    mcp.delete(path, ...preamble, remove);
    mcp.all(path, () => {
      throw new TransportError(405, ErrorCode.ServerError, "Method Not Allowed");
    });
  }
  return mcp;
}
