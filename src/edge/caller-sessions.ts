/**
 * The upstream sessions of a 2026-era caller, and the bridge that turns a
 * 2025 backend's questions into `InputRequiredResult`s for it.
 *
 * That era has no client sessions, so 2025 backends get one upstream session
 * per caller: principal, endpoint and capability profile (design rule 8 with
 * the caller as the unit of isolation: one token's state never reaches
 * another's calls). It lives in a SessionDO named by a digest of the three,
 * started on first use with the profile's capabilities.
 *
 * A caller that declared sampling, elicitation or roots may be asked
 * something by a 2025 backend during `tools/call`, `prompts/get` or
 * `resources/read`; those calls run in that SessionDO
 * (`durable-objects/input-bridge.ts`), so the retry carrying the answers can
 * land on any isolate. The retry's `requestState` is sealed by the object and
 * checked here: it must open with this deployment's keys, belong to this
 * caller, repeat the same method and name or URI, and not have expired
 * (basic/patterns/mrtr: request state is attacker-controlled).
 */
import type { RequestStateClaims } from "../../durable-objects/session-do";
import { keyRing } from "../auth/keys";
import { unseal } from "../auth/seal";
import { sha256Hex } from "../auth/secrets";
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { ErrorCode, type JsonRpcRequest, RpcError } from "../protocol/jsonrpc";
import { profileCapabilities } from "../protocol/profiles";
import { isModernVersion, MODERN_PROTOCOL_VERSION, SERVER_INFO } from "../protocol/versions";
import { sessionObject } from "../stubs";
import type { UpstreamSession } from "../upstream/types";
import { LruMap } from "../util/lru";
import { SESSION_TTL_MS, Session, type SessionClaims } from "./sessions";

/** The calls that may be answered with an `InputRequiredResult` (basic/patterns/mrtr). */
const INPUT_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);

/** What the retry must repeat: the name or URI of the call. */
function subjectOf(request: JsonRpcRequest): string {
  const p = request.params ?? {};
  return String(request.method === "resources/read" ? p.uri : p.name);
}

function invalidState(): RpcError {
  return new RpcError(ErrorCode.InvalidParams, "Invalid or expired requestState", { reason: "invalid_request_state" });
}

/** A 2026 caller's session: a Session whose input-capable calls to 2025 backends are bridged. */
class CallerSession extends Session {
  constructor(
    private readonly bindings: Bindings,
    claims: SessionClaims,
  ) {
    super(bindings, claims, {
      init: { capabilities: profileCapabilities(claims.prof), clientInfo: SERVER_INFO },
      expiresAt: Date.now() + SESSION_TTL_MS,
    });
  }

  /** The same caller's sessions for another profile: a task lives where it was created (core/tasks.ts). */
  forProfile(profile: string): Promise<Session> {
    return callerSession(this.bindings, this.claims.sub, this.claims.ep, profile);
  }

  /** Questions of a task are held by this caller's SessionDO (durable-objects/task-inputs.ts). */
  taskQuestions(backend: BackendConfig, upstream: UpstreamSession, taskId: string) {
    return sessionObject(this.bindings, this.claims.sid).taskQuestions(backend, upstream, taskId);
  }

  taskAnswers(backend: string, taskId: string, responses: Record<string, unknown>): Promise<number> {
    return sessionObject(this.bindings, this.claims.sid).taskAnswers(backend, taskId, responses);
  }

  override bridge(
    backend: BackendConfig,
    request: JsonRpcRequest,
    upstream: UpstreamSession,
    options: { signal: AbortSignal; traceparent: string },
  ): Promise<Response> | null {
    // A 2026 backend asks with its own InputRequiredResult, passed through untouched.
    if (isModernVersion(upstream.protocolVersion) || !INPUT_METHODS.has(request.method)) return null;
    const { inputResponses, requestState, ...params } = request.params ?? {};
    const asksNothing = this.claims.prof === "" && requestState === undefined;
    if (asksNothing) return null;
    const supplied = (typeof inputResponses === "object" && inputResponses !== null ? inputResponses : {}) as Record<
      string,
      unknown
    >;
    const sent = { ...request, params };
    const stub = sessionObject(this.bindings, this.claims.sid);
    const stream =
      requestState === undefined
        ? stub.bridgeCall(
            { backend, session: upstream, request: sent, traceparent: options.traceparent },
            { sid: this.claims.sid, sub: this.claims.sub, m: request.method, n: subjectOf(request) },
            supplied,
          )
        : this.resume(request, requestState, supplied);
    return stream.then((body) => new Response(body, { headers: { "content-type": "text/event-stream" } }));
  }

  private async resume(
    request: JsonRpcRequest,
    requestState: unknown,
    supplied: Record<string, unknown>,
  ): Promise<ReadableStream<Uint8Array>> {
    if (typeof requestState !== "string" || requestState.length > 4096) throw invalidState();
    let claims: RequestStateClaims;
    try {
      claims = (await unseal(requestState, await keyRing(this.bindings), "request-state")) as RequestStateClaims;
    } catch {
      throw invalidState();
    }
    const valid =
      claims.sid === this.claims.sid &&
      claims.sub === this.claims.sub &&
      claims.m === request.method &&
      claims.n === subjectOf(request) &&
      typeof claims.exp === "number" &&
      claims.exp > Date.now();
    if (!valid) throw invalidState();
    const stream = await sessionObject(this.bindings, claims.sid).bridgeResume(claims.park, request.id, supplied);
    // Unknown here: finished, expired, or the object was evicted; the client issues the request again.
    if (!stream) throw invalidState();
    return stream;
  }
}

/**
 * Callers' session keys already digested by this isolate: a SHA-256 on every
 * request was a tenth of a 2026 call's CPU (issue 15). Bounded; a key is a
 * pure function of its three parts, so an entry never goes stale.
 */
const sids = new LruMap<string, string>(10_000);

/** The upstream sessions of a 2026 caller (see the module comment). */
export async function callerSession(
  env: Bindings,
  subject: string,
  endpoint: string,
  profile: string,
): Promise<Session> {
  const name = `${subject}\0${endpoint}\0${profile}`;
  let sid = sids.get(name);
  if (sid === undefined) {
    sid = `caller-${await sha256Hex(name)}`;
    sids.set(name, sid);
  }
  return new CallerSession(env, {
    sid,
    sub: subject,
    ep: endpoint,
    pv: MODERN_PROTOCOL_VERSION,
    prof: profile,
    exp: Number.MAX_SAFE_INTEGER,
  });
}
