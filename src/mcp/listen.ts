/**
 * The server-to-client stream (MCP 2025-11-25 basic/transports, "Listening
 * for Messages from the Server"): a client's GET merges the GET streams of
 * the endpoint's backends into one SSE stream, so notifications that belong
 * to no call (resources/updated after a subscribe, list_changed, logging)
 * and server-to-client requests reach the client. Ids and URIs are rewritten
 * exactly as on a call's stream (`toClient`), so answers can come back
 * through any isolate.
 *
 * Backends without sessions (stateless) or without a GET stream (405) are
 * skipped. A backend stream that ends is reopened with backoff while the
 * client stays; one that forgot the session stops. The client leaving
 * (a failed write) aborts every upstream stream, so nothing outlives it.
 */
import type { BackendConfig } from "../config/snapshot";
import type { McpContext } from "./context";
import { toClient } from "./relay";
import { SessionError } from "./sessions";
import { encodeSseComment, encodeSseMessage, encodeSsePriming, parseSse } from "./sse";
import { BackendFailure, openStream } from "./upstream";

/** Keep-alive comment interval: below common proxy idle timeouts (60 s). */
const KEEPALIVE_MS = 25_000;
/** Reconnect backoff for an upstream stream that ended: doubles up to the cap. */
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Relays one backend's GET stream until the client leaves or the backend cannot serve one. */
async function follow(
  ctx: McpContext,
  backend: BackendConfig,
  write: (message: Record<string, unknown>) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let delay = RECONNECT_MIN_MS;
  while (!signal.aborted) {
    try {
      const session = await ctx.session.upstream(backend);
      // Stateless and legacy-SSE backends have no per-session GET stream to follow.
      if (!session.sessionId || backend.transport !== "streamable-http") return;
      const res = await openStream(backend, { session, signal, traceparent: ctx.traceparent });
      if (!(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
        await res.body?.cancel();
        return;
      }
      for await (const event of parseSse(res.body)) {
        if (event.event !== "message" || !event.data) continue;
        const value: unknown = JSON.parse(event.data);
        if (typeof value !== "object" || value === null || !("method" in value)) continue;
        await write(toClient(backend.name, ctx.endpoint.prefix, value as Record<string, unknown>));
        delay = RECONNECT_MIN_MS;
      }
    } catch (err) {
      if (signal.aborted || err instanceof SessionError) return;
      // 405: the backend offers no GET stream; 409: another stream of this session holds it.
      if (err instanceof BackendFailure && (err.status === 405 || err.status === 409)) return;
      if (err instanceof BackendFailure && err.kind === "session-expired") return;
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

/** Opens the merged server-to-client stream for a client's GET. */
export function listen(ctx: McpContext): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const stop = new AbortController();
  const send = async (chunk: Uint8Array) => {
    try {
      await writer.write(chunk);
    } catch {
      stop.abort();
    }
  };
  const keepalive = setInterval(() => {
    void send(encodeSseComment("keep-alive"));
  }, KEEPALIVE_MS);
  writer.closed.catch(() => stop.abort());
  stop.signal.addEventListener("abort", () => clearInterval(keepalive), { once: true });

  const work = (async () => {
    await send(encodeSsePriming());
    await Promise.all(
      ctx.endpoint.backends.map((backend) =>
        follow(ctx, backend, (message) => send(encodeSseMessage(message)), stop.signal),
      ),
    );
    // Every backend is done (or none offers a stream): keep the stream open while the
    // client stays and the session lives; closing early would only make it reconnect.
    while (!stop.signal.aborted) {
      await sleep(KEEPALIVE_MS, stop.signal);
      try {
        await ctx.session.assertLive();
      } catch {
        break;
      }
    }
    stop.abort();
    await writer.close().catch(() => undefined);
  })();
  ctx.defer(work);
  return readable;
}
