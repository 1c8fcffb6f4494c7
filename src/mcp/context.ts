/**
 * What one MCP request's handlers need, and what they produce.
 */
import type { ConfigSnapshot } from "../config/snapshot";
import type { Bindings } from "../env";
import type { SpanRecorder } from "../observability/span";
import type { Endpoint } from "./federation";
import type { JsonRpcResponse } from "./jsonrpc";
import type { Session } from "./sessions";

/** Per-request context for method handlers. */
export interface McpContext {
  env: Bindings;
  config: ConfigSnapshot;
  endpoint: Endpoint;
  session: Session;
  /** Hands work to `ctx.waitUntil` (never awaited on the response path). */
  defer: (work: Promise<unknown>) => void;
  /** The W3C `traceparent` sent to backends: the client's trace, with this request's span as parent. */
  traceparent: string;
  /** This request's spans (collected in memory, flushed off the request path). */
  spans: SpanRecorder;
  /** Byte length of the raw request body (the whole batch for a batch), for plugins' size checks. */
  requestBytes: number;
  /** Aborts when the client disconnects (`enable_request_signal`): its backend calls are cancelled. */
  clientSignal?: AbortSignal;
}

/**
 * A handler's answer: one JSON response, or an SSE stream that ends with it.
 * `serialized`, when present, is `body` already as JSON text (cached listings).
 */
export type Outcome =
  | { kind: "json"; body: JsonRpcResponse; serialized?: string }
  | { kind: "sse"; stream: ReadableStream<Uint8Array> };
