/**
 * The server-to-client stream (MCP 2025-11-25 basic/transports, "Listening
 * for Messages from the Server"): a client's GET merges the GET streams of
 * its upstream sessions into one SSE stream, so notifications that belong to
 * no call (resources/updated after a subscribe, list_changed, logging) and
 * server-to-client requests reach the client. Ids and URIs are rewritten
 * exactly as on a call's stream (`toClient`), so answers can come back
 * through any isolate.
 *
 * The stream never opens upstream sessions itself (a client connected to an
 * endpoint with a hundred backends must not cost a hundred initializes): it
 * follows the stateful Streamable HTTP sessions the client's calls opened,
 * polling the SessionDO with backoff (1 s, growing to 15 s; back to 1 s
 * when a new one appears). The same poll ends the stream when the session
 * ends. Stateless and legacy-SSE backends have no per-session GET stream.
 * A backend stream that ends is reopened with backoff; one the backend
 * refuses (405, 409) or forgot (404) is left alone. The client leaving (a
 * failed write) aborts everything, so nothing outlives it.
 */
import type { BackendConfig } from "../config/snapshot";
import type { McpContext } from "../core/context";
import { publicTaskRefs } from "../core/task-ids";
import { toClient } from "../core/to-client";
import { encodeSseComment, encodeSseMessage, encodeSsePriming, parseSse } from "../protocol/sse";
import { BackendFailure } from "../upstream/failure";
import { openStream } from "../upstream/http";
import type { UpstreamSession } from "../upstream/types";
import { sleep } from "../util/time";
import type { Session } from "./sessions";

/**
 * Keep-alive comment interval: below common proxy idle timeouts (60 s), and
 * short because the runtime learns that a client left only when a write to
 * it fails: until then a left stream keeps polling its SessionDO and holds
 * its upstream GET streams open (the soak opened and dropped 200 a second).
 */
const KEEPALIVE_MS = 5_000;
/** Poll interval for newly opened upstream sessions: grows from min to max while nothing changes. */
const POLL_MIN_MS = 1_000;
const POLL_MAX_MS = 15_000;
/** Reconnect backoff for an upstream stream that ended: doubles up to the cap. */
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

/** Relays one backend's GET stream until the client leaves or the backend cannot serve one. */
async function follow(
  ctx: McpContext,
  backend: BackendConfig,
  session: UpstreamSession,
  write: (message: Record<string, unknown>) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let delay = RECONNECT_MIN_MS;
  while (!signal.aborted) {
    try {
      const res = await openStream(backend, { session, signal, traceparent: ctx.traceparent });
      if (!(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
        await res.body?.cancel();
        return;
      }
      for await (const event of parseSse(res.body)) {
        if (event.event !== "message" || !event.data) continue;
        const value: unknown = JSON.parse(event.data);
        if (typeof value !== "object" || value === null || !("method" in value)) continue;
        const message = toClient(backend.name, ctx.endpoint.prefix, value as Record<string, unknown>);
        // Task ids in status notifications become the public ones (core/task-ids.ts).
        const mapped = await publicTaskRefs(ctx, backend.name, message);
        if (mapped) await write(mapped);
        delay = RECONNECT_MIN_MS;
      }
    } catch (err) {
      if (signal.aborted) return;
      // 404: the backend forgot the session; 405: no GET stream; 409: another stream holds it.
      if (err instanceof BackendFailure && (err.kind === "session-expired" || err.status === 405 || err.status === 409))
        return;
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

/** Opens the merged server-to-client stream for a client's GET. */
export function listen(ctx: McpContext, session: Session): ReadableStream<Uint8Array> {
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

  const followed = new Set<string>();
  const following: Promise<void>[] = [];
  const work = (async () => {
    await send(encodeSsePriming());
    let delay = POLL_MIN_MS;
    while (!stop.signal.aborted) {
      let opened: Map<string, UpstreamSession> | null;
      try {
        opened = await session.openedUpstreams();
      } catch {
        opened = new Map();
      }
      if (!opened) break;
      let found = false;
      for (const backend of ctx.endpoint.backends) {
        const session = opened.get(backend.name);
        if (!session?.sessionId || backend.transport !== "streamable-http") continue;
        const key = `${backend.name}|${session.sessionId}`;
        if (followed.has(key)) continue;
        followed.add(key);
        found = true;
        following.push(follow(ctx, backend, session, (m) => send(encodeSseMessage(m)), stop.signal));
      }
      delay = found ? POLL_MIN_MS : Math.min(delay * 1.5, POLL_MAX_MS);
      await sleep(delay, stop.signal);
    }
    stop.abort();
    await Promise.all(following);
    await writer.close().catch(() => undefined);
  })();
  ctx.defer(work);
  return readable;
}
