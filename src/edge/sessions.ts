/**
 * Client sessions: the one module that knows about `Mcp-Session-Id`.
 *
 * Mechanism (no affinity: any isolate, anywhere, serves any request):
 * - The session id is a sealed token (AES-GCM, `auth/seal.ts`) carrying a
 *   random session key, the principal it is bound to, the endpoint, the
 *   negotiated protocol version, the client's capability profile and an
 *   expiry. Validating it needs no I/O, and another token cannot use it.
 * - A SessionDO per session (named by the random key) holds what changes
 *   during the session: the upstream session per backend, and termination.
 *   Isolates cache the upstream sessions it returns in a bounded LRU.
 *   Liveness is not cached: every request asks the DO whether the session
 *   ended, concurrently with the request's own work, and an answer for an
 *   ended session is dropped for a 404, so a DELETE on one isolate is seen by
 *   every isolate from the moment it returns (MCP 2025-11-25
 *   basic/transports, session management; hardening issue, defect 5).
 *
 * The stateless protocol revision (2026-07-28) will add a path that skips
 * this module; nothing else reads session ids. Backends of that revision
 * get no upstream session from here either (`open`), and the SessionDO is
 * the rendezvous for a 2025 client's answers to bridged input requests.
 */
import type { SessionRecord, UpstreamAnswer } from "../../durable-objects/session-do";
import { keyRing } from "../auth/keys";
import { seal, unseal } from "../auth/seal";
import type { BackendConfig } from "../config/snapshot";
import { backendEra } from "../core/catalog";
import type { LegacyClient, UpstreamSessions } from "../core/context";
import type { Bindings } from "../env";
import type { JsonRpcRequest, JsonRpcResponse } from "../protocol/jsonrpc";
import { capabilityProfile } from "../protocol/profiles";
import { isModernVersion } from "../protocol/versions";
import { sessionObject as stub } from "../stubs";
import { BackendFailure } from "../upstream/failure";
import { terminate } from "../upstream/http";
import type { ClientInit, UpstreamSession } from "../upstream/types";
import { base64url, randomBytes } from "../util/bytes";
import { LruMap } from "../util/lru";

/** Sessions expire this long after initialize; clients then re-initialize (basic/transports, 404). */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/** What the sealed session id says. */
export interface SessionClaims {
  /** Random session key; names the SessionDO. */
  sid: string;
  /** Principal the session is bound to: token id, "admin", or "anonymous". */
  sub: string;
  /** Endpoint: "*" for /mcp, else the virtual server's name. */
  ep: string;
  /** Negotiated protocol version. */
  pv: string;
  /** Client capability profile (affects which tools backends offer). */
  prof: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/** Thrown when a session id cannot be used; carries the HTTP status the transport answers. */
export class SessionError extends Error {
  constructor(
    readonly status: 400 | 404 | 503,
    message: string,
  ) {
    super(message);
    this.name = "SessionError";
  }
}

/** A SessionDO call; an object that throws or is overloaded is a 503 the client may retry, never a 500. */
async function reach<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch {
    throw new SessionError(503, "Session state is unavailable right now; retry the request");
  }
}

interface CachedSession {
  upstream: Map<string, UpstreamSession>;
}

/** Per-isolate cache of session state (bounded). */
const cache = new LruMap<string, CachedSession>(10_000);

/**
 * Per-isolate cache of opened session ids (bounded): AES-GCM and base64 of
 * the header were a measurable share of a warm call's CPU. Keyed by the
 * exact header value and checked against the key ring, so a key retired
 * from the ring stops old ids here as it does in `unseal`.
 */
const opened = new LruMap<string, { ring: string; claims: SessionClaims }>(10_000);

/** Starts a session at `initialize` and returns the `Mcp-Session-Id` value. */
export async function createSession(
  env: Bindings,
  subject: string,
  endpoint: string,
  protocolVersion: string,
  init: ClientInit,
): Promise<{ id: string; claims: SessionClaims }> {
  const claims: SessionClaims = {
    sid: base64url(randomBytes(16)),
    sub: subject,
    ep: endpoint,
    pv: protocolVersion,
    prof: capabilityProfile(init.capabilities),
    exp: Date.now() + SESSION_TTL_MS,
  };
  await reach(() => stub(env, claims.sid).start({ init, expiresAt: claims.exp }));
  cache.set(claims.sid, { upstream: new Map() });
  return { id: await seal(claims, await keyRing(env), "session"), claims };
}

/** A usable session for one request. */
export class Session implements UpstreamSessions, LegacyClient {
  constructor(
    private readonly env: Bindings,
    readonly claims: SessionClaims,
    /** For a caller's session (2026 era): what to start the SessionDO with on first use. */
    private readonly ensure?: SessionRecord,
  ) {}

  private entry(): CachedSession {
    let entry = cache.get(this.claims.sid);
    if (!entry) {
      entry = { upstream: new Map() };
      cache.set(this.claims.sid, entry);
    }
    return entry;
  }

  /** Throws 404 if the session ended; asks the SessionDO every time (one small RPC, see the module comment). */
  async assertLive(): Promise<void> {
    const status = await reach(() => stub(this.env, this.claims.sid).status());
    if (status !== "live") {
      cache.delete(this.claims.sid);
      throw new SessionError(404, "Session not found");
    }
  }

  /**
   * The upstream session for a backend (cached; opened once via the
   * SessionDO), in the era the backend's catalog names: a 2026-07-28 backend
   * gets no `initialize`, only the stateless pseudo-session.
   */
  async open(backend: BackendConfig): Promise<UpstreamSession> {
    const entry = this.entry();
    const era = await backendEra(this.env, backend, this.claims.prof);
    const known = entry.upstream.get(backend.name);
    if (known && isModernVersion(known.protocolVersion) === (era === "modern")) return known;
    let answer: UpstreamAnswer;
    try {
      answer = await stub(this.env, this.claims.sid).upstream(backend, era, this.ensure);
    } catch {
      throw new BackendFailure(
        backend.name,
        "unavailable",
        `Backend '${backend.name}' is unavailable: this session's state could not be reached; retry the call`,
      );
    }
    if (!answer.ok) {
      if (answer.reason === "failed") {
        throw new BackendFailure(backend.name, answer.kind as BackendFailure["kind"], answer.message, answer.status);
      }
      cache.delete(this.claims.sid);
      throw new SessionError(404, "Session not found");
    }
    entry.upstream.set(backend.name, answer.session);
    return answer.session;
  }

  /**
   * The upstream sessions opened so far in this session (by any isolate), or
   * null once the session ended. Used by the GET stream to follow backends.
   */
  async openedUpstreams(): Promise<Map<string, UpstreamSession> | null> {
    const opened = await stub(this.env, this.claims.sid).opened();
    if (!opened) {
      cache.delete(this.claims.sid);
      return null;
    }
    return new Map(opened.map(({ backend, session }) => [backend, session]));
  }

  /** The client's answer to gateway request `id` (the input-required bridge); null when it could not be had. */
  async awaitAnswer(id: string, timeoutMs: number): Promise<JsonRpcResponse | null> {
    try {
      return await stub(this.env, this.claims.sid).awaitAnswer(id, timeoutMs);
    } catch {
      return null;
    }
  }

  /** Hands an answer that arrived here to the isolate waiting for it. */
  async deliverAnswer(id: string, answer: JsonRpcResponse): Promise<boolean> {
    return reach(() => stub(this.env, this.claims.sid).deliverAnswer(id, answer));
  }

  /** 2025 sessions send every call as a plain POST (see `UpstreamSessions.bridge`). */
  bridge(
    _backend: BackendConfig,
    _request: JsonRpcRequest,
    _upstream: UpstreamSession,
    _options: { signal: AbortSignal; traceparent: string },
  ): Promise<Response> | null {
    return null;
  }

  /** Forgets an upstream session the backend no longer knows. */
  async forget(backend: string, session: UpstreamSession): Promise<void> {
    this.entry().upstream.delete(backend);
    // Best effort: the next call opens a new upstream session either way once the object answers.
    await stub(this.env, this.claims.sid)
      .forget(backend, session.sessionId)
      .catch(() => undefined);
  }

  /** Ends the session and closes its upstream sessions (in `defer`). */
  async end(backends: ReadonlyMap<string, BackendConfig>, defer: (work: Promise<unknown>) => void): Promise<void> {
    const upstreams = await reach(() => stub(this.env, this.claims.sid).end());
    cache.delete(this.claims.sid);
    defer(
      Promise.all(
        upstreams.map(({ backend, session }) => {
          const config = backends.get(backend);
          return config ? terminate(config, session) : undefined;
        }),
      ),
    );
  }
}

/**
 * Opens the session named by an `Mcp-Session-Id` value for `subject` on `endpoint`.
 * Missing → 400; unreadable, expired, someone else's or another endpoint's → 404.
 */
export async function openSession(
  env: Bindings,
  header: string | undefined,
  subject: string,
  endpoint: string,
): Promise<Session> {
  if (!header) throw new SessionError(400, "Bad Request: Mcp-Session-Id header is required");
  const ring = await keyRing(env);
  const known = opened.get(header);
  let claims: SessionClaims;
  if (known?.ring === ring.fingerprint) {
    claims = known.claims;
  } else {
    try {
      claims = (await unseal(header, ring, "session")) as SessionClaims;
    } catch {
      throw new SessionError(404, "Session not found");
    }
    opened.set(header, { ring: ring.fingerprint, claims });
  }
  if (claims.exp <= Date.now() || claims.sub !== subject || claims.ep !== endpoint) {
    throw new SessionError(404, "Session not found");
  }
  return new Session(env, claims);
}
