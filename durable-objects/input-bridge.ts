/**
 * The bridge from 2025 server-to-client requests to 2026 `InputRequiredResult`
 * (MCP 2026-07-28 basic/patterns/mrtr), held by a 2026 caller's SessionDO.
 *
 * A 2025 backend that needs sampling, elicitation or roots during a call sends
 * a JSON-RPC request on the call's stream and waits for the answer; a 2026
 * client cannot receive requests and answers by retrying its call with
 * `inputResponses`, on any isolate. So such calls run here, in the object
 * every isolate of the caller reaches:
 *
 * - `start` posts the call upstream and streams back what the backend sends
 *   (progress, logs). When the backend asks something, the requests that
 *   arrive within `GATHER_MS` are collected, the call is parked (its upstream
 *   stream stays open, unread past the questions) and the stream ends with an
 *   `InputRequiredResult` whose `requestState` is sealed for this caller.
 * - `resume` posts each answer to the backend as the JSON-RPC response to its
 *   request and streams on from where the call was, to its result or the
 *   next round. Answers that are missing are asked for again; extra keys are
 *   ignored (basic/patterns/mrtr, server requirements).
 *
 * Keys: a backend may name a request's key with
 * `_meta["mcp-edge-gateway/inputKey"]` (a gateway extension: 2025 has no
 * keys); otherwise the key is the JSON text of the backend's request id.
 * Answers a client sends with its first request (no `requestState` yet) are
 * used for the keys they name, without a round trip.
 *
 * Bounds (design rule 5): `MAX_PARKED` parked calls per object, each kept at
 * most `PARK_TTL_MS` (then its upstream call is cancelled), and at most
 * `MAX_BUFFERED` messages kept while parked. A parked call lives in this
 * object's memory: if the object is evicted, the retry's state is unknown and
 * the client re-issues the request (documented in the README).
 */
import type { BackendConfig } from "../src/config/snapshot";
import type { JsonRpcId, JsonRpcResponse } from "../src/protocol/jsonrpc";
import { encodeSseMessage } from "../src/protocol/sse";
import { BackendFailure } from "../src/upstream/failure";
import { postMessage, readReply } from "../src/upstream/http";
import type { UpstreamSession } from "../src/upstream/types";
import { randomHex } from "../src/util/bytes";

const GATHER_MS = 50;
const MAX_PARKED = 32;
const PARK_TTL_MS = 10 * 60 * 1000;
const MAX_BUFFERED = 64;

/** The `_meta` key a 2025 backend may name its request's input key with. */
export const INPUT_KEY_META = "mcp-edge-gateway/inputKey";

/** The key of a backend's request in `inputRequests`. */
function inputKey(message: Record<string, unknown>): string {
  const meta = (message.params as { _meta?: Record<string, unknown> } | undefined)?._meta;
  const named = meta?.[INPUT_KEY_META];
  return typeof named === "string" && named.length > 0 && named.length <= 128 ? named : JSON.stringify(message.id);
}

/** An answer in `inputResponses` that can be posted (an object; anything else is asked for again). */
function usable(answer: unknown): answer is Record<string, unknown> {
  return typeof answer === "object" && answer !== null && !Array.isArray(answer);
}

/** What `start` and `resume` need to know about the call. */
export interface BridgedCall {
  backend: BackendConfig;
  session: UpstreamSession;
  /** The request as the backend gets it (its id is the one the backend answers). */
  request: { jsonrpc: "2.0"; id: JsonRpcId; method: string; params?: Record<string, unknown> };
  traceparent?: string;
}

/** Seals what a parked call's retry must present. */
export type StateSealer = (park: string) => Promise<string>;

interface Pending {
  /** The backend's request id, to answer it. */
  backendId: JsonRpcId;
  request: { method: string; params?: unknown };
}

/** One call in flight or parked. */
class Call {
  readonly abort = new AbortController();
  readonly pending = new Map<string, Pending>();
  private writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private buffered: Record<string, unknown>[] = [];
  private gather: ReturnType<typeof setTimeout> | undefined;
  private expiry: ReturnType<typeof setTimeout> | undefined;
  /** The id the client's current request has (a retry has a new one). */
  private clientId: JsonRpcId;

  constructor(
    readonly park: string,
    readonly call: BridgedCall,
    private readonly seal: StateSealer,
    private readonly onDone: () => void,
    /** Answers the client sent up front, by key. */
    private readonly supplied: Record<string, unknown> = {},
  ) {
    this.clientId = call.request.id;
  }

  /** A new output stream for the client's current request. */
  attach(clientId: JsonRpcId): ReadableStream<Uint8Array> {
    this.clientId = clientId;
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.writer = writable.getWriter();
    this.writer.closed.catch(() => this.cancel());
    for (const message of this.buffered.splice(0)) this.write(message);
    return readable;
  }

  private write(message: Record<string, unknown>): void {
    if (!this.writer) {
      if (this.buffered.length < MAX_BUFFERED) this.buffered.push(message);
      return;
    }
    this.writer.write(encodeSseMessage(message)).catch(() => this.cancel());
  }

  private finish(message: Record<string, unknown>): void {
    const writer = this.writer;
    this.writer = null;
    if (!writer) return;
    writer
      .write(encodeSseMessage(message))
      .then(() => writer.close())
      .catch(() => undefined);
  }

  /** Runs the upstream exchange to its end (across rounds). */
  async run(): Promise<void> {
    const { backend, session, request } = this.call;
    try {
      const res = await postMessage(backend, request, {
        session,
        signal: this.abort.signal,
        ...(this.call.traceparent && { traceparent: this.call.traceparent }),
      });
      const reply = await readReply(backend.name, res, request.id, {
        onMessage: (message) => this.onMessage(message),
      });
      this.finish({ ...reply, id: this.clientId } as JsonRpcResponse);
    } catch (err) {
      const message = err instanceof BackendFailure ? err.message : `Backend '${backend.name}' failed`;
      const data =
        err instanceof BackendFailure ? { backend: backend.name, reason: err.kind } : { backend: backend.name };
      this.finish({ jsonrpc: "2.0", id: this.clientId, error: { code: -32010, message, data } });
    } finally {
      this.stop();
    }
  }

  private onMessage(message: Record<string, unknown>): void {
    if (!("id" in message) || typeof message.method !== "string") {
      this.write(message);
      return;
    }
    // A question for the client: answered at once if the client already did, else gathered, then parked.
    const key = inputKey(message);
    const early = this.supplied[key];
    if (usable(early)) {
      delete this.supplied[key];
      void this.answer(message.id as JsonRpcId, early);
      return;
    }
    this.pending.set(key, {
      backendId: message.id as JsonRpcId,
      request: { method: message.method, ...(message.params !== undefined && { params: message.params }) },
    });
    if (this.gather !== undefined) clearTimeout(this.gather);
    this.gather = setTimeout(() => void this.parkNow(), GATHER_MS);
  }

  private async parkNow(): Promise<void> {
    this.gather = undefined;
    const inputRequests = Object.fromEntries([...this.pending].map(([key, p]) => [key, p.request]));
    const requestState = await this.seal(this.park);
    this.finish({
      jsonrpc: "2.0",
      id: this.clientId,
      result: { resultType: "input_required", inputRequests, requestState },
    });
    this.expiry = setTimeout(() => this.cancel(), PARK_TTL_MS);
  }

  /** Posts an answer to the backend's request `id` in the call's upstream session. */
  private async answer(id: JsonRpcId, result: Record<string, unknown>): Promise<void> {
    const { backend, session } = this.call;
    const res = await postMessage(
      backend,
      { jsonrpc: "2.0", id, result },
      { session, signal: AbortSignal.timeout(backend.timeoutMs) },
    );
    await res.body?.cancel();
  }

  /**
   * The client's retry: posts the answers it brought and streams on. Keys it
   * did not answer (or answered with something that is not an object) are
   * asked for again at once; unknown keys are ignored.
   */
  async resume(clientId: JsonRpcId, responses: Record<string, unknown>): Promise<ReadableStream<Uint8Array>> {
    const stream = this.attach(clientId);
    const answered: string[] = [];
    for (const [key, pending] of this.pending) {
      const answer = responses[key];
      if (!usable(answer)) continue;
      await this.answer(pending.backendId, answer);
      answered.push(key);
    }
    for (const key of answered) this.pending.delete(key);
    if (this.pending.size > 0) await this.parkNow();
    return stream;
  }

  /** The client went away, or the park expired: the upstream call ends. */
  cancel(): void {
    this.abort.abort(new Error("bridged call cancelled"));
    this.stop();
  }

  private stop(): void {
    if (this.gather !== undefined) clearTimeout(this.gather);
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    this.onDone();
  }
}

/** The bridged calls of one SessionDO. */
export class InputBridge {
  private readonly calls = new Map<string, Call>();

  /** Starts a call; returns the SSE stream the caller relays (ending with a result, an error or a question). */
  start(call: BridgedCall, seal: StateSealer, supplied: Record<string, unknown> = {}): ReadableStream<Uint8Array> {
    if (this.calls.size >= MAX_PARKED) {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      const error = { code: -32010, message: "Too many calls are waiting for input; answer or abandon some first" };
      void writer.write(encodeSseMessage({ jsonrpc: "2.0", id: call.request.id, error })).then(() => writer.close());
      return readable;
    }
    const park = randomHex(16);
    const entry = new Call(park, call, seal, () => this.calls.delete(park), { ...supplied });
    this.calls.set(park, entry);
    const stream = entry.attach(call.request.id);
    void entry.run();
    return stream;
  }

  /** Resumes a parked call, or null when it is unknown (expired, finished, or another object's). */
  resume(
    park: string,
    clientId: JsonRpcId,
    responses: Record<string, unknown>,
  ): Promise<ReadableStream<Uint8Array>> | null {
    const entry = this.calls.get(park);
    return entry ? entry.resume(clientId, responses) : null;
  }
}
