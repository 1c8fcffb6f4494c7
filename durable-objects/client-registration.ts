/**
 * Dynamic client registration (RFC 7591) of the gateway's client at a
 * backend's authorization server (README, "Upstream OAuth"), run inside the
 * backend's own UpstreamTokenDO (`client:<backend>`), which makes it
 * single-flight: concurrent first users of a backend wait for one
 * registration instead of each registering a client.
 *
 * The registered client lives in the backend's D1 row (a config write, off
 * the warm path: a warm call reads it from the isolate's snapshot or cache),
 * its secret sealed like an entered one. `forget` names a client id the
 * server refused (`invalid_client`): a stored client equal to it is replaced
 * by a new registration, any other stored client is answered as is (another
 * caller already re-registered).
 */
import { keyRing } from "../src/auth/keys";
import { seal } from "../src/auth/seal";
import { database } from "../src/config/db";
import type { BackendConfig } from "../src/config/snapshot";
import { loadStoredAuth, saveRegisteredClient } from "../src/config/store/registered-clients";
import { openedAuth } from "../src/config/store/upstream-auth";
import type { Bindings } from "../src/env";
import { type RegisteredClient, registerClient, UpstreamOAuthError } from "../src/upstream/oauth-client";

/** What `UpstreamTokenDO.client` answers: the client to use, or why there is none (safe to show). */
export type ClientAnswer = ({ ok: true } & RegisteredClient) | { ok: false; message: string };

/** The backend's registered client, registering one first when it has none (or only the refused `forget`). */
export async function registeredClient(
  env: Bindings,
  backend: BackendConfig,
  redirectUri: string,
  forget: string | undefined,
): Promise<ClientAnswer> {
  const db = database(env.DB);
  const stored = await loadStoredAuth(db, backend.name);
  if (stored?.registration !== "dynamic")
    return { ok: false, message: "The backend no longer uses dynamic client registration" };
  const ring = await keyRing(env);
  const opened = await openedAuth(stored, backend.url, ring);
  if (!opened) return { ok: false, message: "The backend has no OAuth settings" };
  if (stored.clientId && stored.clientId !== forget) {
    if (opened.clientSecretUnreadable)
      return { ok: false, message: "The registered client's secret cannot be decrypted with the configured keys" };
    return { ok: true, clientId: stored.clientId, clientSecret: opened.clientSecret };
  }
  try {
    const client = await registerClient(opened, env, redirectUri, `MCP gateway: ${backend.name}`);
    const sealed = client.clientSecret ? await seal(client.clientSecret, ring, "upstream-client-secret") : null;
    await saveRegisteredClient(db, backend.name, stored, client.clientId, sealed);
    return { ok: true, ...client };
  } catch (err) {
    if (err instanceof UpstreamOAuthError) return { ok: false, message: err.message };
    throw err;
  }
}
