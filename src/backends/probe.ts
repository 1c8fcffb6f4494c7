/**
 * The MCP-level health probe, in the backend's era.
 *
 * Modern (2026-07-28) backends have no `ping`: the probe is `server/discover`
 * (it needs no session, and every modern server MUST implement it). Legacy
 * backends get `ping`, in a session when they need one: a backend that
 * answers `ping` without a session (stateless) is probed that way; one that
 * refuses it (HTTP 4xx, or a JSON-RPC error: "initialize first") is
 * initialized once, and the probe session is kept by the caller (the
 * backend's Durable Object persists it) and reused until the backend forgets
 * it, so a probe every 30 s does not open a session every 30 s.
 *
 * The probe also keeps the era verdict honest: an unknown era is detected, a
 * modern backend whose discover says legacy (or a legacy one refusing its
 * era, -32022) is re-detected, and the verdict is stored through `eras`.
 *
 * Only the probe request is retried (idempotent), once, on a network error,
 * after a short jittered backoff.
 */
import type { BackendConfig } from "../config/snapshot";
import { classifyProbe, type Era } from "../protocol/eras";
import type { JsonRpcResponse } from "../protocol/jsonrpc";
import { detectEra, modernSession } from "../upstream/era";
import { BackendFailure } from "../upstream/failure";
import { initialize, request } from "../upstream/http";
import type { ExchangeOptions, LegacyPoster, UpstreamSession } from "../upstream/types";
import { withRetry } from "./retry";

/** No probe request waits longer than this, whatever the backend's call timeout. */
export const PROBE_TIMEOUT_CAP_MS = 10_000;

export type ProbeResult =
  | { ok: true; latencyMs: number; session: UpstreamSession | null }
  | { ok: false; error: unknown; session: UpstreamSession | null };

/** Where the backend's era verdict is kept (its Durable Object). */
export interface EraStore {
  get(): Era | null;
  set(era: Era): void;
}

function needsSession(err: unknown): boolean {
  return err instanceof BackendFailure && err.kind === "http" && err.status !== undefined && err.status < 500;
}

function isVersionFailure(err: unknown): boolean {
  return err instanceof BackendFailure && err.kind === "version";
}

/** One timed probe request, retried once on a network error. */
function timed(clock: () => number, send: () => Promise<JsonRpcResponse>): Promise<[JsonRpcResponse, number]> {
  const started = clock();
  return withRetry(send, {
    attempts: 2,
    baseMs: 200,
    capMs: 1_000,
    retryable: (err) => err instanceof BackendFailure && err.kind === "network",
  }).then((reply) => [reply, clock() - started]);
}

/** `server/discover` as a probe: ok while it answers as a modern server; `legacy` when it no longer does. */
async function discoverProbe(
  backend: BackendConfig,
  options: ExchangeOptions,
  clock: () => number,
): Promise<ProbeResult | "legacy"> {
  try {
    const [reply, latencyMs] = await timed(clock, () =>
      request(backend, "server/discover", {}, modernSession(), options),
    );
    const verdict = classifyProbe("error" in reply ? { error: reply.error } : { result: reply.result });
    return verdict.era === "modern" ? { ok: true, latencyMs, session: null } : "legacy";
  } catch (err) {
    return isVersionFailure(err) ? "legacy" : { ok: false, error: err, session: null };
  }
}

/** `ping`, sessionless first, else in the kept (or a new) probe session. */
async function pingProbe(
  backend: BackendConfig,
  kept: UpstreamSession | null,
  options: ExchangeOptions,
  clock: () => number,
): Promise<ProbeResult> {
  let latencyMs = 0;
  const ping = async (session: UpstreamSession | null): Promise<JsonRpcResponse> => {
    const [reply, ms] = await timed(clock, () => request(backend, "ping", undefined, session, options));
    latencyMs = ms;
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

/**
 * Probes `backend` in its era; `kept` is the probe session from the last
 * probe, if any; `eras` holds the era verdict (without it, the backend is
 * probed as legacy).
 */
export async function probe(
  backend: BackendConfig,
  kept: UpstreamSession | null,
  clock: () => number = Date.now,
  via?: LegacyPoster,
  eras?: EraStore,
): Promise<ProbeResult> {
  const result = await probeInEra(backend, kept, clock, via, eras);
  // A backend that acts as each user answers the gateway's own probe with 401: it is up
  // (the probe never carries a user's token; README, "Upstream OAuth").
  if (!result.ok && backend.auth && result.error instanceof BackendFailure && result.error.status === 401)
    return { ok: true, latencyMs: 0, session: null };
  return result;
}

async function probeInEra(
  backend: BackendConfig,
  kept: UpstreamSession | null,
  clock: () => number,
  via?: LegacyPoster,
  eras?: EraStore,
): Promise<ProbeResult> {
  const options = { timeoutMs: Math.min(backend.timeoutMs, PROBE_TIMEOUT_CAP_MS), ...(via && { via }) };
  const detect = async (): Promise<Era> => {
    const { era } = await detectEra(backend, options);
    eras?.set(era);
    return era;
  };
  try {
    let era = eras ? (eras.get() ?? (await detect())) : "legacy";
    if (era === "modern") {
      const result = await discoverProbe(backend, options, clock);
      if (result !== "legacy") return result;
      era = await detect();
      if (era === "modern") {
        const again = await discoverProbe(backend, options, clock);
        return again === "legacy" ? failed(backend) : again;
      }
    }
    const result = await pingProbe(backend, kept, options, clock);
    if (!eras || result.ok || !isVersionFailure(result.error)) return result;
    // A legacy backend refusing its era (-32022): it moved to 2026-07-28.
    if ((await detect()) !== "modern") return result;
    const modern = await discoverProbe(backend, options, clock);
    return modern === "legacy" ? failed(backend) : modern;
  } catch (err) {
    return { ok: false, error: err, session: kept };
  }
}

function failed(backend: BackendConfig): ProbeResult {
  const error = new BackendFailure(backend.name, "malformed", `Backend '${backend.name}' answers neither era's probe`);
  return { ok: false, error, session: null };
}
