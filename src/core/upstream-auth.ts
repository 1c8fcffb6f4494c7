/**
 * Upstream OAuth on the call path (README, "Upstream OAuth"): the caller's
 * own token for an `auth: {type: "oauth"}` backend goes into the upstream
 * request's Authorization header, and a caller without one is asked to
 * connect instead of failing silently.
 *
 * - Tokens come from the caller's UpstreamTokenDO and are kept opened in a
 *   short per-isolate cache (until shortly before expiry, at most
 *   CACHE_MAX_MS so a revocation reaches every isolate soon): a warm call
 *   runs no D1 query and no object round trip (design rule 1).
 * - Confused deputy (MCP 2025-11-25 basic/security_best_practices): the
 *   client's own Authorization is never forwarded (`upstream/http.ts` sends
 *   only the backend's headers); the token sent is the one issued to this
 *   backend's client for this backend's resource.
 * - Without a token: a 2025 client gets URL-mode elicitation as the
 *   URLElicitationRequiredError (-32042, client/elicitation); a 2026 client
 *   gets an InputRequiredResult with a URL-mode `elicitation/create` (MRTR),
 *   whose retry's answer is read here (decline/cancel: a clear error).
 * - `token_exchange` backends get the caller's gateway token exchanged
 *   (RFC 8693) at their authorization server instead: no consent page.
 */
import { CONSENT_TTL_MS, sealLink } from "../auth/upstream-state";
import { database } from "../config/db";
import { keyRing } from "../config/header-crypto";
import type { BackendConfig } from "../config/snapshot";
import { recordConnection } from "../config/store/connections";
import { ErrorCode, type JsonRpcId, type JsonRpcRequest, type JsonRpcResponse, RpcError } from "../protocol/jsonrpc";
import { upstreamTokenObject } from "../stubs";
import { withBearer } from "../upstream/oauth-client";
import { randomHex } from "../util/bytes";
import { LruMap } from "../util/lru";
import type { McpContext } from "./context";
import { clientForgotten, withClient } from "./upstream-client";

/** MCP 2025-11-25: URLElicitationRequiredError. */
export const URL_ELICITATION_REQUIRED = -32042;
/** The `inputRequests` key of the gateway's own consent request (2026 clients). */
export const CONSENT_INPUT_KEY = "mcpgw_upstream_authorization";
/** Longest an isolate uses an opened token without asking the user's object again. */
const CACHE_MAX_MS = 60_000;
/** A cached token is not used in its last seconds (the object refreshes it). */
const CACHE_SKEW_MS = 5_000;

const cache = new LruMap<string, { token: string; until: number }>(5_000);

/** The caller needs to connect their account: carries the consent link. */
export class UpstreamAuthRequired extends RpcError {
  constructor(
    readonly backend: string,
    readonly url: string,
    readonly elicitationId: string,
  ) {
    const message = `Connect your account for '${backend}': open the link to sign in and consent, then call again`;
    super(URL_ELICITATION_REQUIRED, message, {
      elicitations: [{ mode: "url", elicitationId, url, message }],
    });
    this.name = "UpstreamAuthRequired";
  }
}

/** Whose tokens: the caller's, or the backend's own for client credentials. */
function ownerOf(ctx: McpContext, backend: BackendConfig): string {
  if (backend.auth?.grant === "client_credentials") return `client:${backend.name}`;
  const principal = ctx.caller.principal;
  if (!principal || principal.kind === "anonymous")
    throw new RpcError(ErrorCode.InvalidRequest, `Backend '${backend.name}' acts as each user: sign in to call it`);
  return principal.subject;
}

function cacheKey(owner: string, backend: BackendConfig): string {
  return `${owner}\0${backend.name}\0${backend.auth?.clientId}\0${backend.auth?.resource}`;
}

/** Forgets this isolate's copy of a user's token (after revocation or a refused token). */
export function forgetUpstreamToken(owner: string, backend: BackendConfig): void {
  cache.delete(cacheKey(owner, backend));
}

async function consentLink(ctx: McpContext, backend: BackendConfig, owner: string): Promise<UpstreamAuthRequired> {
  const origin = ctx.origin ?? ctx.env.PUBLIC_URL;
  if (!origin) throw new RpcError(ErrorCode.InternalError, "The gateway's public URL is unknown (set PUBLIC_URL)");
  const nonce = randomHex(16);
  const state = await sealLink(
    { u: owner, b: backend.name, n: nonce, e: Date.now() + CONSENT_TTL_MS, d: ctx.caller.principal?.name ?? owner },
    await keyRing(ctx.env),
  );
  const url = `${new URL(origin).origin}/oauth/upstream/start?state=${encodeURIComponent(state)}`;
  return new UpstreamAuthRequired(backend.name, url, nonce);
}

/**
 * `backend` as this caller sends to it: unchanged without upstream OAuth,
 * else with the caller's token. `rejected` is a token the backend just
 * refused (401): the object refreshes or drops it. Throws
 * UpstreamAuthRequired when the caller has to connect first (with `quiet`,
 * answers the bare backend instead: listings do not ask).
 */
export async function authorizedBackend(
  ctx: McpContext,
  backend: BackendConfig,
  options: { rejected?: string; quiet?: boolean } = {},
): Promise<BackendConfig> {
  if (!backend.auth) return backend;
  const bare = backend;
  const { grant, registration } = backend.auth;
  let owner: string;
  try {
    owner = ownerOf(ctx, backend);
    // A listing never registers a client (nobody can be connected through one that does not exist yet).
    const resolved = await withClient(ctx.env, backend, ctx.origin, undefined, options.quiet);
    if (!resolved) return bare;
    backend = resolved;
  } catch (err) {
    if (options.quiet) return bare;
    throw err;
  }
  let key = cacheKey(owner, backend);
  const cached = cache.get(key);
  if (cached && cached.until > Date.now() && cached.token !== options.rejected)
    return withBearer(backend, cached.token);
  if (cached) cache.delete(key);
  // RFC 8693: the caller's own OAuth token goes to the backend's authorization server only (never
  // upstream); API tokens and ADMIN_TOKEN are the gateway's own secrets and are never exchanged.
  const exchanging = grant === "token_exchange";
  if (exchanging && ctx.caller.principal?.kind !== "oauth")
    throw new RpcError(ErrorCode.InvalidRequest, `Backend '${backend.name}' needs an OAuth sign-in (token exchange)`, {
      backend: backend.name,
      reason: "upstream-auth",
    });
  const subject = exchanging ? ctx.caller.credential : undefined;
  let answer = await upstreamTokenObject(ctx.env, owner).token(backend, options.rejected, subject);
  // RFC 7591: a server that forgot a registered client gets a new registration, once per attempt.
  if (!answer.ok && registration === "dynamic" && clientForgotten(answer.message)) {
    try {
      backend = (await withClient(ctx.env, backend, ctx.origin, backend.auth?.clientId)) ?? bare;
    } catch (err) {
      if (options.quiet) return bare;
      throw err;
    }
    key = cacheKey(owner, backend);
    answer = await upstreamTokenObject(ctx.env, owner).token(backend, options.rejected, subject);
  }
  if (answer.ok) {
    // Indexed for admins and key rotation; a D1 write only when an exchange made a new connection.
    if (answer.exchanged) ctx.defer(recordConnection(database(ctx.env.DB), owner, backend.name).catch(() => undefined));
    const now = Date.now();
    const until = Math.min(now + CACHE_MAX_MS, (answer.expiresAt ?? Number.MAX_SAFE_INTEGER) - CACHE_SKEW_MS);
    if (until > now) cache.set(key, { token: answer.accessToken, until });
    return withBearer(backend, answer.accessToken);
  }
  if (options.quiet) return bare;
  if (answer.reason === "none" && grant === "authorization_code") throw await consentLink(ctx, backend, owner);
  throw new RpcError(ErrorCode.BackendError, `Backend '${backend.name}': ${answer.message}`, {
    backend: backend.name,
    reason: "upstream-auth",
  });
}

/**
 * A 2026 client's retry answering the gateway's consent request: a decline
 * or cancel is a clear error; an accept goes on (the key is removed, it is
 * not the backend's). Other requests pass unchanged.
 */
export function consentAnswered(request: JsonRpcRequest): JsonRpcRequest {
  const responses = request.params?.inputResponses;
  if (typeof responses !== "object" || responses === null || !(CONSENT_INPUT_KEY in responses)) return request;
  const { [CONSENT_INPUT_KEY]: answer, ...rest } = responses as Record<string, unknown>;
  const action = typeof answer === "object" && answer !== null ? (answer as { action?: unknown }).action : undefined;
  if (action !== "accept")
    throw new RpcError(ErrorCode.InvalidRequest, "The user declined to connect their account; nothing was stored", {
      reason: "consent-declined",
    });
  const params: Record<string, unknown> = { ...request.params };
  if (Object.keys(rest).length > 0) params.inputResponses = rest;
  else delete params.inputResponses;
  return { ...request, params };
}

/**
 * The reply to a call that failed with `err` (`fail` does the call's
 * bookkeeping and maps the error). A 2026 client that has to connect gets an
 * InputRequiredResult asking for the URL-mode elicitation instead of -32042
 * (no `elicitationId` in 2026; the retry is the completion); a 2025 client
 * gets the error itself.
 */
export function consentOrFailure(
  ctx: McpContext,
  err: unknown,
  id: JsonRpcId,
  fail: (err: unknown) => JsonRpcResponse,
): JsonRpcResponse {
  const failed = fail(err);
  if (!(err instanceof UpstreamAuthRequired) || ctx.legacyClient) return failed;
  const data = err.data as { elicitations: Array<{ message: string }> };
  return {
    jsonrpc: "2.0",
    id,
    result: ctx.era.result("tools/call", {
      resultType: "input_required",
      inputRequests: {
        [CONSENT_INPUT_KEY]: {
          method: "elicitation/create",
          params: { mode: "url", message: data.elicitations[0]?.message ?? err.message, url: err.url },
        },
      },
    }),
  };
}
