/**
 * The MCP-level health probe: `ping`, in a session when the backend needs one.
 *
 * A backend that answers `ping` without a session (stateless) is probed that
 * way. One that refuses it (HTTP 4xx, or a JSON-RPC error: "initialize
 * first") is initialized once; the probe session is kept by the caller (the
 * backend's Durable Object persists it) and reused until the backend forgets
 * it, so a probe every 30 s does not open a session every 30 s.
 *
 * Only the ping is retried (idempotent), once, on a network error, after a
 * short jittered backoff.
 */
import type { BackendConfig } from "../config/snapshot";
import type { JsonRpcResponse } from "../protocol/jsonrpc";
import { BackendFailure } from "../upstream/failure";
import { initialize, request } from "../upstream/http";
import type { LegacyPoster, UpstreamSession } from "../upstream/types";
import { withRetry } from "./retry";

/** No probe request waits longer than this, whatever the backend's call timeout. */
export const PROBE_TIMEOUT_CAP_MS = 10_000;

export type ProbeResult =
  | { ok: true; latencyMs: number; session: UpstreamSession | null }
  | { ok: false; error: unknown; session: UpstreamSession | null };

function needsSession(err: unknown): boolean {
  return err instanceof BackendFailure && err.kind === "http" && err.status !== undefined && err.status < 500;
}

/** Probes `backend`; `kept` is the probe session from the last probe, if any. */
export async function probe(
  backend: BackendConfig,
  kept: UpstreamSession | null,
  clock: () => number = Date.now,
  via?: LegacyPoster,
): Promise<ProbeResult> {
  const timeoutMs = Math.min(backend.timeoutMs, PROBE_TIMEOUT_CAP_MS);
  const options = { timeoutMs, ...(via && { via }) };
  let latencyMs = 0;
  const ping = async (session: UpstreamSession | null): Promise<JsonRpcResponse> => {
    const started = clock();
    const reply = await withRetry(() => request(backend, "ping", undefined, session, options), {
      attempts: 2,
      baseMs: 200,
      capMs: 1_000,
      retryable: (err) => err instanceof BackendFailure && err.kind === "network",
    });
    latencyMs = clock() - started;
    return reply;
  };

  let current = kept;
  try {
    if (current) {
      try {
        // Any JSON-RPC reply, even an error, shows the backend is serving.
        await ping(current);
        return { ok: true, latencyMs, session: current };
      } catch (err) {
        if (!(err instanceof BackendFailure && err.kind === "session-expired")) throw err;
        current = null;
      }
    } else if (backend.transport !== "sse") {
      // A legacy-SSE backend has no sessionless requests: its connection is the session.
      try {
        const reply = await ping(null);
        if (!("error" in reply)) return { ok: true, latencyMs, session: null };
      } catch (err) {
        if (!needsSession(err)) throw err;
      }
    }
    const session = await initialize(backend, { capabilities: {} }, options);
    current = session.sessionId ? { sessionId: session.sessionId, protocolVersion: session.protocolVersion } : null;
    await ping(current ?? { sessionId: null, protocolVersion: session.protocolVersion });
    return { ok: true, latencyMs, session: current };
  } catch (err) {
    return { ok: false, error: err, session: current };
  }
}
