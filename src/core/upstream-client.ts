/**
 * The gateway's OAuth client at a backend's authorization server when the
 * backend was saved without `clientId` (README, "Upstream OAuth"): a client
 * registered dynamically (RFC 7591), once per backend, reused for every user.
 *
 * A warm call costs nothing: the registered client is in the config snapshot
 * (the registration is a config write) or in this isolate's cache. Only an
 * isolate that has neither asks the backend's own UpstreamTokenDO
 * (`client:<backend>`), which registers at most once at a time
 * (`durable-objects/client-registration.ts`).
 */
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { ErrorCode, RpcError } from "../protocol/jsonrpc";
import { upstreamTokenObject } from "../stubs";
import type { RegisteredClient } from "../upstream/oauth-client";
import { LruMap } from "../util/lru";

/** Where the authorization server sends the user back (the redirect URI every registration names). */
export const UPSTREAM_CALLBACK_PATH = "/oauth/upstream/callback";

const clients = new LruMap<string, RegisteredClient>(1_000);

function keyOf(backend: BackendConfig): string {
  const auth = backend.auth;
  return `${backend.name}\0${auth?.issuer ?? ""}\0${auth?.resource}\0${auth?.grant}`;
}

function using(backend: BackendConfig, client: RegisteredClient): BackendConfig {
  if (!backend.auth) return backend;
  const { clientSecretUnreadable: _unreadable, ...auth } = backend.auth;
  return { ...backend, auth: { ...auth, clientId: client.clientId, clientSecret: client.clientSecret } };
}

/**
 * `backend` with the client it uses: unchanged for a pre-registered client;
 * for a dynamic one, the registered client (registering it first when there
 * is none). `forget` is a client id the server just refused
 * (`invalid_client`): a new one is registered unless another caller already
 * did. Throws a JSON-RPC error naming the problem when there is no client.
 * `knownOnly` (listings, which never ask anyone): null instead of registering.
 */
export async function withClient(
  env: Bindings,
  backend: BackendConfig,
  origin: string | undefined,
  forget?: string,
  knownOnly = false,
): Promise<BackendConfig | null> {
  const auth = backend.auth;
  if (auth?.registration !== "dynamic") return backend;
  const key = keyOf(backend);
  // A snapshot secret no key opens goes to the object, which names the problem.
  const snapshot = auth.clientId && !auth.clientSecretUnreadable;
  const known = clients.get(key) ?? (snapshot ? { clientId: auth.clientId, clientSecret: auth.clientSecret } : null);
  if (known && known.clientId !== forget) return using(backend, known);
  if (knownOnly) return null;
  clients.delete(key);
  const base = origin ?? env.PUBLIC_URL;
  if (!base) throw new RpcError(ErrorCode.InternalError, "The gateway's public URL is unknown (set PUBLIC_URL)");
  const redirectUri = `${new URL(base).origin}${UPSTREAM_CALLBACK_PATH}`;
  const answer = await upstreamTokenObject(env, `client:${backend.name}`).client(backend, redirectUri, forget);
  if (!answer.ok)
    throw new RpcError(ErrorCode.BackendError, `Backend '${backend.name}': ${answer.message}`, {
      backend: backend.name,
      reason: "upstream-registration",
    });
  const client = { clientId: answer.clientId, clientSecret: answer.clientSecret };
  clients.set(key, client);
  return using(backend, client);
}

/** True when an upstream OAuth failure says the server no longer knows the gateway's client. */
export function clientForgotten(message: string): boolean {
  return /\binvalid_client\b/.test(message);
}
