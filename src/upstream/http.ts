/**
 * The gateway as an MCP client of its backends (Streamable HTTP).
 *
 * Security: only the backend's configured headers are sent, never the
 * client's Authorization or cookies. Every call has a deadline (design rule 5):
 * plain requests a total timeout, relayed calls an idle timeout that any
 * upstream event resets (a sampling answer may take a human's time).
 */

import type { BackendConfig } from "../config/snapshot";
import { isVersionError, supportedVersions } from "../protocol/eras";
import { type JsonRpcId, type JsonRpcResponse, plainResultReply, ResponseSchema } from "../protocol/jsonrpc";
import { parseSse } from "../protocol/sse";
import { LATEST_PROTOCOL_VERSION, SERVER_INFO } from "../protocol/versions";
import { randomHex } from "../util/bytes";
import { sleep } from "../util/time";
import { BackendFailure } from "./failure";
import { viaBackendObject } from "./legacy-sse";
import { inBandError, isModernSession, modernRequest, readErrorBody } from "./modern";
import { postToOpenApi } from "./openapi/server";
import {
  boundedEvents,
  MAX_REPLY_BYTES,
  MAX_REPLY_STREAM_BYTES,
  parseReplyText,
  readBoundedJson,
  readBoundedText,
} from "./reply-bounds";
import type {
  CallOptions,
  ClientInit,
  ExchangeOptions,
  InitializedSession,
  LegacyPoster,
  UpstreamSession,
} from "./types";

/** The message a legacy poster treats as "close this connection" (never sent upstream). */
export const CLOSE_CONNECTION = { gateway: "close-connection" } as const;

/**
 * Refuses to call a backend whose stored headers no configured key opens: it
 * would be called without its credentials. Only this backend fails; the
 * operator re-enters the headers (hardening issue, defect 1).
 */
export function assertCredentialsReadable(backend: BackendConfig): void {
  if (!backend.headersUnreadable) return;
  throw new BackendFailure(
    backend.name,
    "credentials",
    `Backend '${backend.name}' cannot be called: its stored headers cannot be decrypted with the configured keys; re-enter them (PATCH /api/backends/${backend.name})`,
  );
}

/** Headers for an upstream request: the backend's own, plus protocol headers. */
export function upstreamHeaders(backend: BackendConfig, options: CallOptions, accept: string): Headers {
  assertCredentialsReadable(backend);
  const headers = new Headers(backend.headers);
  headers.set("content-type", "application/json");
  headers.set("accept", accept);
  if (options.session?.sessionId) headers.set("mcp-session-id", options.session.sessionId);
  if (options.session) headers.set("mcp-protocol-version", options.session.protocolVersion);
  if (options.traceparent) headers.set("traceparent", options.traceparent);
  return headers;
}

function describeFetchError(backend: string, err: unknown, signal: AbortSignal | undefined): BackendFailure {
  if (err instanceof BackendFailure) return err;
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof BackendFailure) return reason;
    return new BackendFailure(backend, "timeout", `Backend '${backend}' did not answer in time`);
  }
  return new BackendFailure(backend, "network", `Backend '${backend}' is unreachable`);
}

/**
 * POSTs one JSON-RPC message to a backend; maps transport failures to
 * BackendFailure. A modern session's request gets the 2026 envelope and
 * mirrored headers (`modern.ts`), and its 4xx JSON-RPC errors are answered
 * in-band like any other error reply. In either era a 4xx that says the
 * request was sent in the wrong era (-32022, or -32020 on the version
 * header) is a `version` failure: the caller re-detects the backend's era.
 */
export async function postMessage(backend: BackendConfig, message: unknown, options: CallOptions): Promise<Response> {
  assertCredentialsReadable(backend);
  // A REST API with an OpenAPI document answers as a stateless MCP server would (openapi/server.ts).
  if (backend.transport === "openapi") return postToOpenApi(backend, message, options);
  const modern = isModernSession(options.session)
    ? modernRequest(backend.name, message, options.session, options)
    : null;
  let res: Response;
  try {
    const legacy = backend.transport === "sse" ? (options.via ?? viaBackendObject) : undefined;
    if (legacy) res = await legacy(backend, message, options);
    else {
      const headers = upstreamHeaders(backend, options, "application/json, text/event-stream");
      for (const [name, value] of Object.entries(modern?.headers ?? {})) headers.set(name, value);
      res = await fetch(backend.url, {
        method: "POST",
        headers,
        body: JSON.stringify(modern?.message ?? message),
        signal: options.signal,
        redirect: "manual",
      });
    }
  } catch (err) {
    throw describeFetchError(backend.name, err, options.signal);
  }
  if (res.status === 404 && options.session?.sessionId) {
    await res.body?.cancel();
    throw new BackendFailure(backend.name, "session-expired", `Backend '${backend.name}' ended the session`, 404);
  }
  if (!res.ok) {
    const error =
      res.status >= 400 && res.status < 500 && res.status !== 401 && res.status !== 403
        ? await readErrorBody(res)
        : null;
    if (error === null) await res.body?.cancel().catch(() => undefined);
    if (error && isVersionError(error)) {
      const supported = supportedVersions(error);
      throw new BackendFailure(
        backend.name,
        "version",
        `Backend '${backend.name}' refused the protocol version: ${error.message.slice(0, 200)}`,
        res.status,
        { rpcCode: error.code, ...(supported && { supported }) },
      );
    }
    if (error && modern) return inBandError(modern.message.id, error);
    throw new BackendFailure(backend.name, "http", `Backend '${backend.name}' answered HTTP ${res.status}`, res.status);
  }
  return res;
}

function asResponse(backend: string, value: unknown, id: JsonRpcId): JsonRpcResponse {
  const plain = plainResultReply(value, id);
  if (plain) return plain;
  const parsed = ResponseSchema.safeParse(value);
  if (!parsed.success || parsed.data.id !== id) {
    throw new BackendFailure(backend, "malformed", `Backend '${backend}' sent a malformed JSON-RPC reply`);
  }
  return parsed.data;
}

/** A JSON reply's text as the reply to request `id` (what `readReply` does with a JSON body). */
export function replyFromText(backend: string, text: string, id: JsonRpcId): JsonRpcResponse {
  return asResponse(backend, parseReplyText(backend, text), id);
}

/** The text of a JSON reply, bounded as `readReply` bounds it. */
export function readReplyText(backend: string, res: Response): Promise<string> {
  return readBoundedText(backend, res);
}

/** What `readReply` does with a stream besides finding the reply. */
export interface ReadOptions {
  /** Other messages on the stream (notifications, server-to-client requests), in order. */
  onMessage?: (message: Record<string, unknown>) => void | Promise<void>;
  /** Fires for every event (for idle timers). */
  onEvent?: () => void;
  /**
   * Reopens a stream that ended before the reply (MCP 2025-11-25
   * basic/transports, "Resumability and Redelivery"; SEP-1699 polling): a GET
   * with `Last-Event-ID`. Without it, an early end is a failure.
   */
  resume?: (lastEventId: string) => Promise<Response>;
}

/** Resumptions of one reply stream; a backend that keeps closing early is failing. */
const MAX_RESUMES = 10;
/** Upper bound on the `retry` delay a backend may ask for between resumptions. */
const MAX_RETRY_DELAY_MS = 5_000;

/**
 * Reads the reply to request `id` from a backend response, JSON or SSE,
 * resuming an SSE stream the backend closes early when `options.resume` allows.
 */
export async function readReply(
  backend: string,
  res: Response,
  id: JsonRpcId,
  options: ReadOptions = {},
): Promise<JsonRpcResponse> {
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream") && res.body) {
    let body: ReadableStream<Uint8Array> | null = res.body;
    let lastEventId: string | undefined;
    let retryMs = 0;
    const limits = { maxEventChars: MAX_REPLY_BYTES, maxStreamChars: MAX_REPLY_STREAM_BYTES };
    for (let resumes = 0; body; ) {
      for await (const event of boundedEvents(backend, parseSse(body, limits))) {
        options.onEvent?.();
        if (event.id) lastEventId = event.id;
        if (event.retry !== undefined) retryMs = event.retry;
        if (event.event !== "message" || !event.data) continue;
        let value: unknown;
        try {
          value = JSON.parse(event.data);
        } catch {
          throw new BackendFailure(backend, "malformed", `Backend '${backend}' sent an event that is not JSON`);
        }
        if (typeof value !== "object" || value === null) continue;
        const record = value as Record<string, unknown>;
        if (!("method" in record) && record.id === id) return asResponse(backend, value, id);
        await options.onMessage?.(record);
      }
      body = null;
      if (options.resume && lastEventId !== undefined && resumes++ < MAX_RESUMES) {
        await sleep(Math.min(retryMs, MAX_RETRY_DELAY_MS));
        const next = await options.resume(lastEventId);
        if (!(next.headers.get("content-type") ?? "").includes("text/event-stream")) {
          await next.body?.cancel();
          throw new BackendFailure(backend, "malformed", `Backend '${backend}' did not resume the stream`);
        }
        body = next.body;
      }
    }
    throw new BackendFailure(backend, "malformed", `Backend '${backend}' closed the stream without a reply`);
  }
  if (type.includes("application/json")) return asResponse(backend, await readBoundedJson(backend, res), id);
  await res.body?.cancel();
  throw new BackendFailure(
    backend,
    "malformed",
    `Backend '${backend}' answered with content type '${type.slice(0, 64)}'`,
  );
}

/**
 * Opens a GET stream on a backend: the server-to-client stream, or the
 * resumption of an interrupted one when `lastEventId` is given.
 */
export async function openStream(
  backend: BackendConfig,
  options: CallOptions & { lastEventId?: string },
): Promise<Response> {
  const headers = upstreamHeaders(backend, options, "text/event-stream");
  headers.delete("content-type");
  if (options.lastEventId !== undefined) headers.set("last-event-id", options.lastEventId);
  let res: Response;
  try {
    res = await fetch(backend.url, { method: "GET", headers, signal: options.signal, redirect: "manual" });
  } catch (err) {
    throw describeFetchError(backend.name, err, options.signal);
  }
  if (res.status === 404 && options.session?.sessionId) {
    await res.body?.cancel();
    throw new BackendFailure(backend.name, "session-expired", `Backend '${backend.name}' ended the session`, 404);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new BackendFailure(backend.name, "http", `Backend '${backend.name}' answered HTTP ${res.status}`, res.status);
  }
  return res;
}

/** A resume function for `readReply` (legacy-SSE backends cannot resume). */
export function resumer(backend: BackendConfig, options: CallOptions): ReadOptions["resume"] {
  if (backend.transport !== "streamable-http" || !options.session?.sessionId) return undefined;
  return (lastEventId) => openStream(backend, { ...options, lastEventId });
}

let internalId = 0;

/** One request and its reply, ignoring in-stream messages, with a total timeout. */
export async function request(
  backend: BackendConfig,
  method: string,
  params: Record<string, unknown> | undefined,
  session: UpstreamSession | null,
  options: ExchangeOptions = {},
): Promise<JsonRpcResponse> {
  internalId = (internalId + 1) % Number.MAX_SAFE_INTEGER;
  const id = `gw-${internalId}`;
  const signal = AbortSignal.timeout(options.timeoutMs ?? backend.timeoutMs);
  const message = params ? { jsonrpc: "2.0", id, method, params } : { jsonrpc: "2.0", id, method };
  const call: CallOptions = { session, signal, ...(options.via && { via: options.via }) };
  try {
    const res = await postMessage(backend, message, call);
    const resume = resumer(backend, call);
    return await readReply(backend.name, res, id, resume ? { resume } : {});
  } catch (err) {
    throw describeFetchError(backend.name, err, signal);
  }
}

/** Sends a notification (202 expected); failures are reported, not retried. */
export async function notify(
  backend: BackendConfig,
  method: string,
  params: Record<string, unknown> | undefined,
  session: UpstreamSession | null,
  options: ExchangeOptions = {},
): Promise<void> {
  // 2026-07-28 has no client-to-server notifications over HTTP: cancelling is closing the stream.
  if (isModernSession(session)) return;
  const signal = AbortSignal.timeout(options.timeoutMs ?? backend.timeoutMs);
  const message = params ? { jsonrpc: "2.0", method, params } : { jsonrpc: "2.0", method };
  const res = await postMessage(backend, message, { session, signal, ...(options.via && { via: options.via }) });
  await res.body?.cancel();
}

/**
 * Opens an upstream session: `initialize` with the client's capabilities, then
 * `notifications/initialized`. Stateless backends return no session id; a
 * legacy-SSE backend gets a gateway-made key naming its connection.
 */
export async function initialize(
  backend: BackendConfig,
  init: ClientInit,
  options: ExchangeOptions = {},
): Promise<InitializedSession> {
  const signal = AbortSignal.timeout(options.timeoutMs ?? backend.timeoutMs);
  const id = "gw-init";
  const via = options.via && { via: options.via };
  const legacy = backend.transport === "sse" ? { sessionId: randomHex(16), protocolVersion: "2024-11-05" } : null;
  try {
    const res = await postMessage(
      backend,
      {
        jsonrpc: "2.0",
        id,
        method: "initialize",
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: init.capabilities,
          clientInfo: init.clientInfo ?? { name: SERVER_INFO.name, version: SERVER_INFO.version },
        },
      },
      { signal, session: legacy, ...via },
    );
    const sessionId = legacy ? legacy.sessionId : res.headers.get("mcp-session-id");
    const reply = await readReply(backend.name, res, id);
    if ("error" in reply) {
      throw new BackendFailure(
        backend.name,
        "http",
        `Backend '${backend.name}' refused initialize: ${reply.error.message.slice(0, 200)}`,
      );
    }
    const { protocolVersion, capabilities, instructions } = reply.result;
    const session: InitializedSession = {
      sessionId,
      protocolVersion: typeof protocolVersion === "string" ? protocolVersion : LATEST_PROTOCOL_VERSION,
      capabilities:
        typeof capabilities === "object" && capabilities !== null ? (capabilities as Record<string, unknown>) : {},
      ...(typeof instructions === "string" && { instructions }),
    };
    await notify(backend, "notifications/initialized", undefined, session, options);
    return session;
  } catch (err) {
    throw describeFetchError(backend.name, err, signal);
  }
}

/** Ends an upstream session (best effort; a backend may answer 405). */
export async function terminate(backend: BackendConfig, session: UpstreamSession, via?: LegacyPoster): Promise<void> {
  if (!session.sessionId) return;
  if (backend.transport === "sse") {
    // A legacy connection ends when its stream closes; the poster closes it on this marker.
    await postMessage(backend, CLOSE_CONNECTION, { session, ...(via && { via }) })
      .then((res) => res.body?.cancel())
      .catch(() => undefined);
    return;
  }
  try {
    const res = await fetch(backend.url, {
      method: "DELETE",
      headers: upstreamHeaders(backend, { session }, "application/json"),
      signal: AbortSignal.timeout(Math.min(backend.timeoutMs, 5000)),
    });
    await res.body?.cancel();
  } catch {
    // Best effort: the backend expires abandoned sessions itself.
  }
}
