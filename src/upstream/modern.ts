/**
 * The wire toward 2026-07-28 backends (MCP 2026-07-28
 * basic/transports/streamable-http): every request carries the `_meta`
 * envelope and mirrors `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*`; there is
 * no session (never an `Mcp-Session-Id`) and there are no client-to-server
 * notifications or responses over HTTP (cancelling is closing the stream).
 * Errors come with HTTP 400/404 and a JSON-RPC body, read here with a small
 * bound so a version error can be told from any other 4xx.
 */
import { type WireError, withEnvelope } from "../protocol/eras";
import { mirroredHeaders } from "../protocol/mcp-headers";
import { isModernVersion } from "../protocol/versions";
import { BackendFailure } from "./failure";
import type { CallOptions, UpstreamSession } from "./types";

/** An error body larger than this is not read (an error message is small). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** True when `session` is a 2026-07-28 backend's stateless pseudo-session. */
export function isModernSession(session: UpstreamSession | null | undefined): session is UpstreamSession {
  return isModernVersion(session?.protocolVersion);
}

/** The JSON-RPC request as a modern backend gets it, and the headers it mirrors. */
export function modernRequest(
  backend: string,
  message: unknown,
  session: UpstreamSession,
  options: CallOptions,
): { message: Record<string, unknown>; headers: Record<string, string> } {
  const m = message as { id?: unknown; method?: unknown; params?: Record<string, unknown> };
  if (typeof m !== "object" || m === null || typeof m.method !== "string" || m.id === undefined) {
    throw new BackendFailure(
      backend,
      "unsupported",
      `Backend '${backend}' speaks MCP 2026-07-28, which has no notifications or responses from clients over HTTP`,
    );
  }
  const params = withEnvelope(m.params, session.client?.capabilities ?? {});
  return {
    message: { ...m, params },
    headers: mirroredHeaders(m.method, m.params, options.paramHeaders),
  };
}

/**
 * The JSON-RPC error in a 4xx reply, or null when the body is not one (the
 * body is always consumed). Bounded: a larger body is abandoned unread.
 */
export async function readErrorBody(res: Response): Promise<WireError | null> {
  if (!(res.headers.get("content-type") ?? "").includes("application/json") || !res.body) {
    await res.body?.cancel();
    return null;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    bytes += next.value.byteLength;
    if (bytes > MAX_ERROR_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    text += decoder.decode(next.value, { stream: true });
  }
  try {
    const value = JSON.parse(text + decoder.decode()) as { error?: Partial<WireError> };
    const error = value?.error;
    if (typeof error?.code !== "number" || !Number.isInteger(error.code)) return null;
    const message = typeof error.message === "string" ? error.message.slice(0, 500) : "";
    return { code: error.code, message, ...(error.data !== undefined && { data: error.data }) };
  } catch {
    return null;
  }
}

/** A JSON-RPC error reply as a 200 JSON response: how a modern backend's 4xx error is read in-band. */
export function inBandError(id: unknown, error: WireError): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id, error }), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
}
