/**
 * Finding a backend's protocol era (MCP 2026-07-28 basic/versioning,
 * "Backward compatibility"): a `server/discover` with the 2026 envelope
 * (protocol version 2026-07-28, no client capabilities, the gateway as
 * client) first; a DiscoverResult sharing 2026-07-28 means modern, anything
 * else the spec and the SDK read as "not modern" means legacy, and the caller
 * falls back to `initialize`. Auth refusals, 5xx, timeouts and network
 * errors are failures, never a verdict: a backend that is down is not
 * thereby a 2025 backend.
 */
import type { BackendConfig } from "../config/snapshot";
import { classifyProbe, type ProbeVerdict, type WireError } from "../protocol/eras";
import { MODERN_PROTOCOL_VERSION } from "../protocol/versions";
import { BackendFailure } from "./failure";
import { request } from "./http";
import type { ExchangeOptions, ModernCapabilities, UpstreamSession } from "./types";

/** The capabilities whose value is an object (every capability is one; anything else is dropped). */
export function objects(capabilities: Record<string, unknown>): ModernCapabilities {
  const out: ModernCapabilities = {};
  for (const [key, value] of Object.entries(capabilities)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) out[key] = value;
  }
  return out;
}

/** A modern backend's pseudo-session for the gateway's own requests (probes, catalog fetches). */
export function modernSession(capabilities: Record<string, unknown> = {}): UpstreamSession {
  return { sessionId: null, protocolVersion: MODERN_PROTOCOL_VERSION, client: { capabilities: objects(capabilities) } };
}

/** What a probe answered, as `classifyProbe` reads it; throws when the answer says nothing about the era. */
async function discoverOnce(
  backend: BackendConfig,
  options: ExchangeOptions,
): Promise<Parameters<typeof classifyProbe>[0]> {
  try {
    const reply = await request(backend, "server/discover", {}, modernSession(), options);
    return "error" in reply ? { error: reply.error } : { result: reply.result };
  } catch (err) {
    if (!(err instanceof BackendFailure)) throw err;
    if (err.kind === "version") {
      const error: WireError = {
        code: Number(err.details?.rpcCode),
        message: err.message,
        data: { supported: err.details?.supported },
      };
      return { error };
    }
    // A 4xx without a JSON-RPC body (400/404/405/406/415…): a 2025 server refusing the probe.
    const status = err.status ?? 0;
    if (err.kind === "http" && status >= 400 && status < 500 && status !== 401 && status !== 403) return null;
    throw err;
  }
}

/**
 * Probes `backend` and says its era (`discover` is the DiscoverResult of a
 * modern one). Legacy-SSE backends are legacy without a probe (that
 * transport predates 2026). A -32022 that lists 2026-07-28 although it was
 * asked for is probed once more, then is a failure.
 */
export async function detectEra(
  backend: BackendConfig,
  options: ExchangeOptions = {},
): Promise<Exclude<ProbeVerdict, { era: "retry" }>> {
  // An OpenAPI backend is the gateway's own emulation of a 2025 server (openapi/server.ts).
  if (backend.transport === "sse" || backend.transport === "openapi") return { era: "legacy" };
  for (let attempt = 0; attempt < 2; attempt++) {
    const verdict = classifyProbe(await discoverOnce(backend, options));
    if (verdict.era !== "retry") return verdict;
  }
  throw new BackendFailure(
    backend.name,
    "unsupported",
    `Backend '${backend.name}' refuses MCP ${MODERN_PROTOCOL_VERSION} although it says it supports it`,
  );
}
