/**
 * One forwarded request on its way to the backend, in the backend's era
 * (docs/design.md, "Protocol eras"): the caller's upstream session (a 2025
 * session, or a 2026 backend's stateless pseudo-session), the tool's
 * `x-mcp-header` arguments from the cached catalog, one retry when the
 * backend forgot the session, and one when it refused the request's era
 * (the backend's DO re-detects it, then the call goes out in the new era:
 * such a refusal comes before the backend ran anything). Also the wiring of
 * the input-required bridge (`input-shim.ts`). A backend with upstream
 * OAuth gets the caller's own token (`upstream-auth.ts`); one it refuses
 * (401) is refreshed or dropped in the caller's object and the call tried
 * once more.
 */
import type { BackendConfig } from "../config/snapshot";
import { ErrorCode, type JsonRpcRequest, RpcError } from "../protocol/jsonrpc";
import { isModernVersion } from "../protocol/versions";
import { BackendFailure } from "../upstream/failure";
import { postMessage, readReply } from "../upstream/http";
import { bearerOf } from "../upstream/oauth-client";
import type { UpstreamSession } from "../upstream/types";
import { cachedCatalog, recheckEra } from "./catalog";
import type { McpContext } from "./context";
import type { InputRound } from "./input-shim";
import { mapMessage, outbound } from "./references";
import { authorizedBackend, consentAnswered } from "./upstream-auth";

/** The `Mcp-Param-*` declarations of the tool a modern tools/call names (from this isolate's catalog). */
function paramHeadersOf(ctx: McpContext, backend: BackendConfig, request: JsonRpcRequest, session: UpstreamSession) {
  const name = request.params?.name;
  if (request.method !== "tools/call" || typeof name !== "string" || !isModernVersion(session.protocolVersion)) return;
  return cachedCatalog(backend, ctx.caller.profile)?.paramHeaders?.[name];
}

function refusedToken(err: unknown, backend: BackendConfig): boolean {
  return backend.auth !== undefined && err instanceof BackendFailure && err.kind === "http" && err.status === 401;
}

/**
 * Opens the caller's upstream session with `backend` and POSTs `request` in
 * it; answers with the session used, the backend's response, and the backend
 * as it was sent to (with the caller's upstream token, if any).
 */
export async function sendUpstream(
  ctx: McpContext,
  configured: BackendConfig,
  original: JsonRpcRequest,
  signal: AbortSignal,
  traceparent: string,
): Promise<{ upstream: UpstreamSession; res: Response; backend: BackendConfig }> {
  const request = configured.auth ? consentAnswered(original) : original;
  let backend = await authorizedBackend(ctx, configured);
  let upstream: UpstreamSession | undefined;
  const attempt = async () => {
    upstream = await ctx.upstreams.open(backend);
    const bridged = ctx.upstreams.bridge?.(backend, request, upstream, { signal, traceparent });
    if (bridged !== null && bridged !== undefined) return { upstream, res: await bridged, backend };
    const paramHeaders = paramHeadersOf(ctx, backend, request, upstream);
    const res = await postMessage(backend, request, {
      session: upstream,
      signal,
      traceparent,
      ...(paramHeaders && { paramHeaders }),
    });
    return { upstream, res, backend };
  };
  try {
    return await attempt();
  } catch (err) {
    if (refusedToken(err, backend)) {
      // Expired early or revoked at the server: refresh (or ask to connect again), then once more.
      backend = await authorizedBackend(ctx, configured, { rejected: bearerOf(backend) });
      if (upstream) await ctx.upstreams.forget(backend.name, upstream);
      return await attempt();
    }
    if (!(err instanceof BackendFailure) || (err.kind !== "session-expired" && err.kind !== "version")) throw err;
    // The backend forgot the session (restart, expiry): open a new one once.
    // It refused the era: its DO probes it again and the isolate's catalog follows.
    if (err.kind === "version") await recheckEra(ctx.env, backend, ctx.caller.profile);
    if (upstream) await ctx.upstreams.forget(backend.name, upstream);
    return await attempt();
  }
}

/** How the relay's pieces become one bridged call. */
export interface InputWiring {
  ctx: McpContext;
  backend: BackendConfig;
  request: JsonRpcRequest;
  upstream: UpstreamSession;
  signal: AbortSignal;
  traceparent: string;
  /** Relays a message the backend sent during a retry. */
  relay(message: Record<string, unknown>): Promise<void>;
  /** Writes a gateway message on the client's stream. */
  write(message: Record<string, unknown>): Promise<void>;
  hold(): void;
  touch(): void;
}

/** The input-required bridge's view of a relayed call (only for a 2025 client: `ctx.legacyClient`). */
export function inputRound(w: InputWiring): InputRound {
  const client = w.ctx.legacyClient;
  if (!client) throw new RpcError(ErrorCode.InternalError, "Input requests need a 2025 client");
  return {
    backend: w.backend.name,
    client,
    capabilities: w.upstream.client?.capabilities ?? {},
    request: w.request,
    async send(retry) {
      const paramHeaders = paramHeadersOf(w.ctx, w.backend, retry, w.upstream);
      const res = await postMessage(w.backend, retry, {
        session: w.upstream,
        signal: w.signal,
        traceparent: w.traceparent,
        ...(paramHeaders && { paramHeaders }),
      });
      return readReply(w.backend.name, res, retry.id, { onMessage: w.relay, onEvent: w.touch });
    },
    // The questions go to the client as requests of this backend: their references in public form (references.ts).
    ask: w.ctx.endpoint.prefix ? (message) => w.write(mapMessage(message, outbound(w.backend.name))) : w.write,
    hold: w.hold,
    touch: w.touch,
    signal: w.signal,
  };
}
