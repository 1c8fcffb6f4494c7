/**
 * Legacy HTTP+SSE client sessions (MCP 2024-11-05 basic/transports, "HTTP
 * with SSE"): the one module that knows about the `sessionId` in the URI the
 * client POSTs to.
 *
 * - The session id is sealed (AES-GCM under the key ring, its own purpose, so
 *   neither a Streamable HTTP session id nor a sealed header opens as one),
 *   carrying a random session key, the principal it is bound to, the endpoint
 *   and an expiry. Any isolate verifies it without I/O; a forged, altered,
 *   expired, someone else's or another endpoint's id is a 404.
 * - The key names the session's LegacyClientDO (its stream, admission and
 *   liveness) and its SessionDO (the client's upstream session per backend,
 *   design rule 8), so the Streamable HTTP edge's `Session` serves the core's
 *   `UpstreamSessions` here unchanged.
 * - What the client declares at `initialize` (its capability profile) is not
 *   in the id (the id is issued before initialize): the LegacyClientDO keeps
 *   it and every POST's admission returns it.
 */
import type { LegacyAdmission, LegacyOpen } from "../../durable-objects/legacy-client-do";
import { keyRing } from "../auth/keys";
import { seal, unseal } from "../auth/seal";
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/versions";
import { legacyClientObject, sessionObject } from "../stubs";
import type { ClientInit } from "../upstream/types";
import { base64url, randomBytes } from "../util/bytes";
import { SESSION_TTL_MS, Session, SessionError } from "./sessions";

/** The revision that defined this transport. */
export const LEGACY_PROTOCOL_VERSION = "2024-11-05";
/** Versions a legacy client may negotiate: its own, and the later ones (the SDK's client asks for its latest). */
export const LEGACY_PROTOCOL_VERSIONS: readonly string[] = [LEGACY_PROTOCOL_VERSION, ...SUPPORTED_PROTOCOL_VERSIONS];
/** A sealed id is about 150 characters; anything much longer is not one of ours (read before decrypting). */
const MAX_SESSION_ID_CHARS = 1024;

/** What the sealed session id says. */
export interface LegacyClaims {
  /** Random session key; names the LegacyClientDO and the SessionDO. */
  sid: string;
  /** Principal the session is bound to: token id, "admin", or "anonymous". */
  sub: string;
  /** Endpoint: "*" for /sse, else the virtual server's name. */
  ep: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/** A LegacyClientDO call; an object that throws or is overloaded is a 503 the client may retry, never a 500. */
async function reach<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch {
    throw new SessionError(503, "Session state is unavailable right now; retry the request");
  }
}

/** Issues a new session id for `subject` on `endpoint` (at the GET). */
export async function createLegacySession(
  env: Bindings,
  subject: string,
  endpoint: string,
): Promise<{ id: string; claims: LegacyClaims }> {
  const claims: LegacyClaims = {
    sid: base64url(randomBytes(16)),
    sub: subject,
    ep: endpoint,
    exp: Date.now() + SESSION_TTL_MS,
  };
  return { id: await seal(claims, await keyRing(env), "legacy-session"), claims };
}

/**
 * Verifies the `sessionId` of a POST for `subject` on `endpoint`. Missing →
 * 400; unreadable, expired, someone else's or another endpoint's → 404.
 */
export async function openLegacySession(
  env: Bindings,
  sessionId: string | undefined,
  subject: string,
  endpoint: string,
): Promise<LegacyClaims> {
  if (!sessionId) throw new SessionError(400, "Bad Request: the sessionId query parameter is required");
  if (sessionId.length > MAX_SESSION_ID_CHARS) throw new SessionError(404, "Session not found");
  let claims: LegacyClaims;
  try {
    claims = (await unseal(sessionId, await keyRing(env), "legacy-session")) as LegacyClaims;
  } catch {
    throw new SessionError(404, "Session not found");
  }
  if (claims.exp <= Date.now() || claims.sub !== subject || claims.ep !== endpoint) {
    throw new SessionError(404, "Session not found");
  }
  return claims;
}

/** The session's LegacyClientDO, with failures as retryable 503s. */
export interface LegacyClient {
  open(params: LegacyOpen): Promise<ReadableStream<Uint8Array>>;
  admit(subject: string, endpoint: string, request: boolean): Promise<LegacyAdmission>;
  initialized(profile: string, protocolVersion: string): Promise<boolean>;
  deliver(messages: unknown[], ticket?: string): Promise<"ok" | "ended">;
  end(): Promise<void>;
}

/** The LegacyClientDO of a session. */
export function legacyClient(env: Bindings, sid: string): LegacyClient {
  const stub = legacyClientObject(env, sid);
  return {
    open: (params) =>
      reach(async () => {
        const stream = (await stub.open(params)) as ReadableStream<Uint8Array> | null;
        if (!stream) throw new Error("session key reused");
        return stream;
      }),
    admit: (subject, endpoint, request) =>
      reach(async () => (await stub.admit(subject, endpoint, request)) as LegacyAdmission),
    initialized: (profile, version) => reach(() => stub.initialized(profile, version)),
    deliver: (messages, ticket) => reach(() => stub.deliver(messages, ticket)),
    end: () => reach(() => stub.end()),
  };
}

/** The session's upstream sessions (its SessionDO), for the core. */
export function upstreamSessions(env: Bindings, claims: LegacyClaims, profile: string, version: string): Session {
  return new Session(env, {
    sid: claims.sid,
    sub: claims.sub,
    ep: claims.ep,
    pv: version,
    prof: profile,
    exp: claims.exp,
  });
}

/**
 * Starts (or, at `initialize`, restarts with the client's own capabilities)
 * the SessionDO: upstream sessions open lazily with what it holds. It exists
 * from the GET on, so the backends' own streams can be followed (`listen.ts`)
 * as soon as a call opens an upstream session; none opens before initialize.
 */
export async function startUpstreams(env: Bindings, claims: LegacyClaims, init: ClientInit): Promise<void> {
  await reach(() => sessionObject(env, claims.sid).start({ init, expiresAt: claims.exp }));
}

/**
 * Ends a session whose stream closed (the client left, or the object ended
 * it): no further POST is admitted, and the upstream sessions opened for it
 * are closed. Best effort, never throws: what cannot be closed now expires.
 */
export async function endLegacySession(
  env: Bindings,
  claims: LegacyClaims,
  backends: ReadonlyMap<string, BackendConfig>,
): Promise<void> {
  await legacyClient(env, claims.sid)
    .end()
    .catch(() => undefined);
  const closing: Promise<unknown>[] = [];
  await upstreamSessions(env, claims, "", LEGACY_PROTOCOL_VERSION)
    .end(backends, (work) => closing.push(work))
    .catch(() => undefined);
  await Promise.allSettled(closing);
}
