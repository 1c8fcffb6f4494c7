/**
 * What one MCP request's handlers need, and what they produce. Era-neutral:
 * the edge builds the context from whatever the client's protocol era
 * provides (a 2025 session, or a 2026 request's `_meta`) and hands the core
 * only what it needs through these interfaces, so the core never imports the
 * edge (docs/design.md, "Layout").
 */
import type { Principal } from "../auth/principal";
import type { BackendConfig, ConfigSnapshot } from "../config/snapshot";
import type { Bindings } from "../env";
import type { SpanRecorder } from "../observability/span";
import type { JsonRpcErrorReply, JsonRpcId, JsonRpcRequest, JsonRpcResponse } from "../protocol/jsonrpc";
import type { UpstreamSession } from "../upstream/types";
import type { Endpoint } from "./federation";

/** Who is calling, as the core needs it. */
export interface Caller {
  /** The principal: an API token id, `admin` or `anonymous`. */
  subject: string;
  /** The client's capability profile (`protocol/profiles.ts`): which catalog it sees. */
  profile: string;
  /** Who it is (teams, roles, user name), for plugin conditions; absent: derived from `subject`. */
  principal?: Principal;
  /**
   * The bearer credential the client presented: only ever sent to a backend's
   * authorization server for an RFC 8693 token exchange the operator
   * configured (`upstream-auth.ts`), never to a backend.
   */
  credential?: string;
}

/**
 * The caller's upstream sessions, one per backend (design rule 8: isolated
 * per client session). The edge decides where they live.
 */
export interface UpstreamSessions {
  /** The upstream session for `backend`, opened on first use. Throws BackendFailure when it cannot be. */
  open(backend: BackendConfig): Promise<UpstreamSession>;
  /**
   * The same caller's upstream sessions for another capability profile (2026
   * callers have one per profile): a task lives in the session that created it.
   */
  forProfile?(profile: string): Promise<UpstreamSessions>;
  /**
   * 2026 callers: the questions a 2025 backend's task waits on (status
   * `input_required`), held where every isolate finds the same ones, keyed
   * for the tasks extension's `inputRequests` (`task-extension.ts`).
   */
  taskQuestions?(
    backend: BackendConfig,
    upstream: UpstreamSession,
    taskId: string,
  ): Promise<Record<string, { method: string; params?: Record<string, unknown> }>>;
  /** Posts the answers to those questions (unknown keys ignored); how many were posted. */
  taskAnswers?(backend: string, taskId: string, responses: Record<string, unknown>): Promise<number>;
  /** Drops an upstream session the backend no longer knows, so the next `open` starts a new one. */
  forget(backend: string, session: UpstreamSession): Promise<void>;
  /**
   * Sends a call another way than a plain POST in `upstream`, or null for the
   * plain POST: a 2026 caller's call to a 2025 backend that may ask it
   * something runs where every isolate can resume it (`edge/caller-sessions.ts`).
   * The response reads like a backend's (JSON or SSE).
   */
  bridge?(
    backend: BackendConfig,
    request: JsonRpcRequest,
    upstream: UpstreamSession,
    options: { signal: AbortSignal; traceparent: string },
  ): Promise<Response> | null;
}

/**
 * What differs between protocol eras in the answers the core produces. The
 * edge implements one per era; the core calls it and never asks which era it
 * serves.
 */
export interface EraAdapter {
  /** Tag for caches whose JSON text differs per era (listing pages). */
  readonly name: string;
  /**
   * True when `result` changes nothing: a backend's JSON reply that no post
   * hook reads may then reach the client as it came, unparsed (`relay.ts`).
   */
  readonly passesResults?: boolean;
  /**
   * The JSON-RPC error for a failure (one mapping per era): used wherever the
   * core turns an error into a reply, including inside a started stream.
   */
  fail(err: unknown, id: JsonRpcId | null): JsonRpcErrorReply;
  /** The final form of a result of `method` (e.g. `resultType`, cache hints). */
  result(method: string, result: Record<string, unknown>): Record<string, unknown>;
  /** What a message a backend sent during a call becomes for this client; null: not relayed. */
  relayed(message: Record<string, unknown>): Record<string, unknown> | null;
}

/**
 * A 2025-era client, as the input-required bridge needs it
 * (`input-shim.ts`): such a client cannot take a 2026 `InputRequiredResult`,
 * so the gateway asks it with server-to-client requests on the call's stream
 * and waits for the answers, which any isolate may receive.
 */
export interface LegacyClient {
  /** The client's answer to gateway request `id`, or null after `timeoutMs` (or when the session ended). */
  awaitAnswer(id: string, timeoutMs: number): Promise<JsonRpcResponse | null>;
  /** Hands over an answer that arrived on this isolate; false when nobody can take it. */
  deliverAnswer(id: string, answer: JsonRpcResponse): Promise<boolean>;
}

/** Per-request context for method handlers. */
export interface McpContext {
  env: Bindings;
  config: ConfigSnapshot;
  endpoint: Endpoint;
  caller: Caller;
  upstreams: UpstreamSessions;
  /** How this request's protocol era shapes what the core sends (implemented in `edge/`). */
  era: EraAdapter;
  /** Hands work to `ctx.waitUntil` (never awaited on the response path). */
  defer: (work: Promise<unknown>) => void;
  /** The W3C `traceparent` sent to backends: the client's trace, with this request's span as parent. */
  traceparent: string;
  /** This request's spans (collected in memory, flushed off the request path). */
  spans: SpanRecorder;
  /** Byte length of the raw request body (the whole batch for a batch), for plugins' size checks. */
  requestBytes: number;
  /** The gateway's public origin (PUBLIC_URL, else the request's): the base of links handed to the client. */
  origin?: string;
  /** Aborts when the client disconnects (`enable_request_signal`): its backend calls are cancelled. */
  clientSignal?: AbortSignal;
  /**
   * 2026 callers: whether this request declared the `io.modelcontextprotocol/tasks`
   * extension (`task-extension.ts`); undefined for 2025 clients, whose tasks
   * are the core protocol's.
   */
  tasksExtension?: boolean;
  /**
   * Present when the client speaks the 2025 era: results of 2026 backends
   * are projected to the 2025 shape, and their input requests are bridged.
   */
  legacyClient?: LegacyClient;
}

/**
 * A handler's answer: one JSON response, or an SSE stream that ends with it.
 * `serialized`, when present, is `body` already as JSON text (cached listings).
 * `raw` is a backend's JSON-RPC result reply passed through as the backend
 * sent it (its text, never parsed: `relay.ts`).
 */
export type Outcome =
  | { kind: "json"; body: JsonRpcResponse; serialized?: string }
  | { kind: "raw"; text: string }
  | { kind: "sse"; stream: ReadableStream<Uint8Array> };
