/**
 * A backend's upstream OAuth settings at rest (README, "Upstream OAuth"): the
 * client secret is sealed under the key ring like backend headers (purpose
 * `upstream-client-secret`), shown as `********`, and a PATCH that sends
 * `********` keeps the stored secret (a read-modify-write round trip never
 * replaces a secret with its mask).
 */
import type { z } from "@hono/zod-openapi";
import type { KeyRing } from "../../auth/keys";
import { open, seal } from "../../auth/seal";
import { HttpError } from "../../errors";
import type { StoredUpstreamAuth } from "../schema";
import { REDACTED, type UpstreamAuth, type UpstreamAuthView } from "../shapes";
import type { UpstreamOAuth } from "../snapshot";

/** The stored form of `input`; `current` is the row's present value (for a kept secret). */
export async function storedAuth(
  input: z.infer<typeof UpstreamAuth>,
  current: StoredUpstreamAuth | null,
  ring: () => Promise<KeyRing>,
): Promise<StoredUpstreamAuth> {
  if (input.clientId === undefined) return dynamicAuth(input, current);
  let clientSecretSealed: string | null = null;
  if (input.clientSecret === REDACTED) {
    if (!current?.clientSecretSealed)
      throw new HttpError(400, "validation_failed", "Invalid request", [
        { path: "auth.clientSecret", message: "has no stored value to keep" },
      ]);
    clientSecretSealed = current.clientSecretSealed;
  } else if (input.clientSecret !== undefined) {
    clientSecretSealed = await seal(input.clientSecret, await ring(), "upstream-client-secret");
  }
  return {
    type: "oauth",
    grant: input.grant ?? "authorization_code",
    issuer: input.issuer ?? null,
    clientId: input.clientId,
    clientSecretSealed,
    scopes: input.scopes ?? [],
    resource: input.resource ?? null,
  };
}

/**
 * A client the gateway registers itself (RFC 7591) on first use. A PATCH
 * that keeps the server (issuer, resource) and grant keeps the registered
 * client; any change starts over (a registration is bound to its server).
 */
function dynamicAuth(input: z.infer<typeof UpstreamAuth>, current: StoredUpstreamAuth | null): StoredUpstreamAuth {
  const next: StoredUpstreamAuth = {
    type: "oauth",
    grant: input.grant ?? "authorization_code",
    issuer: input.issuer ?? null,
    registration: "dynamic",
    clientId: "",
    clientSecretSealed: null,
    scopes: input.scopes ?? [],
    resource: input.resource ?? null,
  };
  const same =
    current?.registration === "dynamic" &&
    current.issuer === next.issuer &&
    current.resource === next.resource &&
    current.grant === next.grant;
  return same ? { ...next, clientId: current.clientId, clientSecretSealed: current.clientSecretSealed } : next;
}

/** The API view: the secret masked, never shown. */
export function authView(stored: StoredUpstreamAuth | null): z.infer<typeof UpstreamAuthView> | null {
  if (!stored) return null;
  return {
    type: "oauth",
    grant: stored.grant,
    issuer: stored.issuer,
    registration: stored.registration ?? "static",
    clientId: stored.clientId || null,
    clientSecret: stored.clientSecretSealed ? REDACTED : null,
    scopes: stored.scopes,
    resource: stored.resource,
  };
}

/**
 * The request path's form: the secret opened. One secret no configured key
 * opens affects only its backend (`clientSecretUnreadable`), never the
 * whole snapshot (hardening issue, defect 1).
 */
export async function openedAuth(
  stored: StoredUpstreamAuth | null,
  backendUrl: string,
  ring: KeyRing | null,
): Promise<UpstreamOAuth | undefined> {
  if (!stored) return undefined;
  let clientSecret: string | null = null;
  let unreadable = false;
  if (stored.clientSecretSealed) {
    try {
      if (!ring) throw new Error("no key");
      const value = (await open(stored.clientSecretSealed, ring, "upstream-client-secret")).value;
      clientSecret = typeof value === "string" ? value : null;
      unreadable = clientSecret === null;
    } catch {
      unreadable = true;
    }
  }
  return {
    type: "oauth",
    grant: stored.grant,
    issuer: stored.issuer,
    registration: stored.registration ?? "static",
    clientId: stored.clientId,
    clientSecret,
    ...(unreadable && { clientSecretUnreadable: true }),
    scopes: stored.scopes,
    resource: stored.resource ?? backendUrl,
  };
}
