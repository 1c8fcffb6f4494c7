/**
 * Legacy HTTP+SSE backends (MCP 2024-11-05 transport): the long-lived GET
 * stream, the `endpoint` the backend names for POSTs, and the correlation of
 * replies that arrive on the stream. This state has to live somewhere that
 * outlives one request and is the same for every isolate, so it lives in the
 * backend's Durable Object (one per backend, never one for all traffic).
 *
 * One connection per upstream session (per client session), so one client's
 * state never reaches another's calls. Each exchange is answered the way a
 * Streamable HTTP backend would answer: an SSE byte stream carrying the
 * call's notifications and server-to-client requests, ending with the reply.
 *
 * Request ids are rewritten to connection-local numbers (a client may reuse
 * an id the gateway itself used), and restored on the reply. Messages that
 * belong to no call are given to the oldest call in flight (the 2024-11-05
 * transport has no way to say which call they belong to), with progress
 * notifications routed by their progress token.
 */
import type { BackendConfig } from "../src/config/snapshot";
import type { JsonRpcId } from "../src/protocol/jsonrpc";
import { encodeSseMessage, parseSse } from "../src/protocol/sse";
import type { FailureKind } from "../src/upstream/failure";

/** What one exchange over a legacy connection produced. */
export type LegacyAnswer =
  | { ok: true; stream: ReadableStream<Uint8Array> | null }
  | { ok: false; kind: FailureKind; message: string };

/** Connections per backend object; the least recently used is closed beyond this. */
const MAX_CONNECTIONS = 256;
/** Calls in flight per connection. */
const MAX_PENDING = 128;
/** A connection unused this long is closed (clients that vanish never say goodbye). */
const IDLE_CLOSE_MS = 10 * 60_000;

interface Pending {
  originalId: JsonRpcId;
  progressToken?: unknown;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

function fail(kind: FailureKind, message: string): LegacyAnswer {
  return { ok: false, kind, message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One upstream HTTP+SSE connection. */
class SseConnection {
  private readonly abort = new AbortController();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  closed = false;
  /** Resolves with the POST endpoint once the backend named it. */
  readonly ready: Promise<URL>;

  constructor(
    private readonly backend: BackendConfig,
    private readonly onClose: () => void,
  ) {
    this.ready = this.open();
    // The reader loop reports failures through `ready` and pending calls; never unhandled.
    this.ready.catch(() => undefined);
    this.touch();
  }

  private touch(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(), IDLE_CLOSE_MS);
  }

  private async open(): Promise<URL> {
    const headers = new Headers(this.backend.headers);
    headers.set("accept", "text/event-stream");
    const connectTimeout = AbortSignal.timeout(this.backend.timeoutMs);
    const res = await fetch(this.backend.url, {
      headers,
      signal: AbortSignal.any([this.abort.signal, connectTimeout]),
      redirect: "manual",
    });
    if (!res.ok || !(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
      await res.body?.cancel();
      this.close();
      throw new Error(`HTTP ${res.status}`);
    }
    const events = parseSse(res.body)[Symbol.asyncIterator]();
    const first = await events.next();
    if (first.done || first.value.event !== "endpoint") {
      this.close();
      throw new Error("no endpoint event");
    }
    const endpoint = new URL(first.value.data.trim(), this.backend.url);
    // The backend may only direct our POSTs to itself (no SSRF through the endpoint event).
    if (endpoint.origin !== new URL(this.backend.url).origin) {
      this.close();
      throw new Error("endpoint on another origin");
    }
    void this.read(events);
    return endpoint;
  }

  private async read(events: AsyncIterator<{ event: string; data: string }>): Promise<void> {
    try {
      for (let next = await events.next(); !next.done; next = await events.next()) {
        if (next.value.event !== "message") continue;
        let message: unknown;
        try {
          message = JSON.parse(next.value.data);
        } catch {
          continue;
        }
        if (isRecord(message)) await this.dispatch(message);
      }
    } catch {
      // The stream broke; fall through to close and fail the calls in flight.
    }
    this.close();
  }

  private async dispatch(message: Record<string, unknown>): Promise<void> {
    if (!("method" in message) && typeof message.id === "number") {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      await call.writer.write(encodeSseMessage({ ...message, id: call.originalId })).catch(() => undefined);
      await call.writer.close().catch(() => undefined);
      return;
    }
    const params = isRecord(message.params) ? message.params : {};
    let target: Pending | undefined;
    if (message.method === "notifications/progress") {
      target = [...this.pending.values()].find((p) => p.progressToken === params.progressToken);
    }
    target ??= this.pending.values().next().value;
    if (target) await target.writer.write(encodeSseMessage(message)).catch(() => undefined);
  }

  /** Sends one message; requests answer with a stream that ends with the reply. */
  async send(message: Record<string, unknown>): Promise<LegacyAnswer> {
    this.touch();
    let endpoint: URL;
    try {
      endpoint = await this.ready;
    } catch (err) {
      return fail("network", `Backend '${this.backend.name}' SSE stream failed: ${(err as Error).message}`);
    }
    const isRequest = typeof message.method === "string" && "id" in message;
    let outgoing = message;
    let stream: ReadableStream<Uint8Array> | null = null;
    let localId = 0;
    if (isRequest) {
      if (this.pending.size >= MAX_PENDING) {
        return fail("http", `Backend '${this.backend.name}' has too many calls in flight`);
      }
      localId = this.nextId++;
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const params = isRecord(message.params) ? message.params : {};
      const meta = isRecord(params._meta) ? params._meta : {};
      this.pending.set(localId, {
        originalId: message.id as JsonRpcId,
        progressToken: meta.progressToken,
        writer: writable.getWriter(),
      });
      outgoing = { ...message, id: localId };
      stream = readable;
    } else if (message.method === "notifications/cancelled" && isRecord(message.params)) {
      // The backend knows the call by its connection-local id.
      const requestId = message.params.requestId;
      const local = [...this.pending.entries()].find(([, p]) => p.originalId === requestId)?.[0];
      if (local === undefined) return { ok: true, stream: null };
      outgoing = { ...message, params: { ...message.params, requestId: local } };
    }
    const headers = new Headers(this.backend.headers);
    headers.set("content-type", "application/json");
    try {
      const res = await fetch(endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify(outgoing),
        signal: AbortSignal.timeout(this.backend.timeoutMs),
        redirect: "manual",
      });
      await res.body?.cancel();
      if (!res.ok) {
        this.pending.delete(localId);
        if (res.status === 404) return fail("session-expired", `Backend '${this.backend.name}' ended the session`);
        return fail("http", `Backend '${this.backend.name}' answered HTTP ${res.status}`);
      }
    } catch {
      this.pending.delete(localId);
      return fail("network", `Backend '${this.backend.name}' is unreachable`);
    }
    return { ok: true, stream };
  }

  /** Closes the stream and ends every call in flight (their callers see an early end). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.abort.abort();
    for (const call of this.pending.values()) void call.writer.close().catch(() => undefined);
    this.pending.clear();
    this.onClose();
  }
}

/** Every legacy connection of one backend, by upstream-session key (bounded, LRU). */
export class SseConnections {
  private readonly connections = new Map<string, SseConnection>();

  /** Sends `message` on the connection named `key`, opening it on first use. */
  async post(backend: BackendConfig, key: string, message: unknown): Promise<LegacyAnswer> {
    if (!isRecord(message)) return fail("malformed", "Invalid message");
    let connection = this.connections.get(key);
    if (message.gateway === "close-connection") {
      connection?.close();
      return { ok: true, stream: null };
    }
    if (connection?.closed) connection = undefined;
    if (!connection) {
      // Only `initialize` may open a connection: a later message on a lost one means the session is gone.
      if (message.method !== "initialize") {
        return fail("session-expired", `Backend '${backend.name}' connection was lost`);
      }
      const created = new SseConnection(backend, () => {
        if (this.connections.get(key) === created) this.connections.delete(key);
      });
      connection = created;
      if (this.connections.size >= MAX_CONNECTIONS) {
        const oldest = this.connections.values().next().value;
        oldest?.close();
      }
    }
    this.connections.delete(key);
    this.connections.set(key, connection);
    return connection.send(message);
  }

  /** Closes every connection (the backend was deleted or changed). */
  closeAll(): void {
    for (const connection of [...this.connections.values()]) connection.close();
  }
}
