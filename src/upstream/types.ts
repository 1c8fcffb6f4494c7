/**
 * The shapes the client toward backends works with: upstream sessions, what
 * the client's initialize carries, and the options of one exchange.
 */
import type { BackendConfig } from "../config/snapshot";
import type { ParamHeader } from "../protocol/mcp-headers";

/**
 * Client capabilities as the 2026 envelope declares them: each one an object
 * (typed `object`, not `unknown`, so a session can cross Durable Object RPC).
 */
export type ModernCapabilities = Record<string, object>;

/**
 * Upstream session state for one backend. `sessionId` is null for stateless
 * backends. A 2026-07-28 backend has no session at all: `protocolVersion` is
 * the modern revision and `client` what every request's `_meta` declares.
 */
export interface UpstreamSession {
  sessionId: string | null;
  protocolVersion: string;
  /** Modern backends: the client capabilities sent in each request's envelope. */
  client?: { capabilities: ModernCapabilities };
}

/** An upstream session plus what the backend said about itself at initialize. */
export interface InitializedSession extends UpstreamSession {
  capabilities: Record<string, unknown>;
  instructions?: string;
}

/** What the upstream initialize carries from the client. */
export interface ClientInit {
  capabilities: Record<string, unknown>;
  clientInfo?: { name: string; version: string };
}

/**
 * Sends one message over a backend's legacy HTTP+SSE connection and answers
 * like a Streamable HTTP backend would (an SSE body ending with the reply, or
 * 202 for notifications). The connection lives in the backend's Durable
 * Object (`durable-objects/sse-connections.ts`).
 */
export type LegacyPoster = (backend: BackendConfig, message: unknown, options: CallOptions) => Promise<Response>;

/** Options for one upstream HTTP exchange. */
export interface CallOptions {
  session?: UpstreamSession | null;
  traceparent?: string;
  signal?: AbortSignal;
  /** Route for legacy-SSE backends; defaults to the backend's Durable Object. */
  via?: LegacyPoster;
  /** Modern backends, tools/call: the tool's `x-mcp-header` arguments, mirrored as `Mcp-Param-*`. */
  paramHeaders?: readonly ParamHeader[];
}

/** Options for the helpers that run a whole exchange. */
export interface ExchangeOptions {
  timeoutMs?: number;
  via?: LegacyPoster;
}
