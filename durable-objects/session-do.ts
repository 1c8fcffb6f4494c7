/**
 * SessionDO: one SQLite-backed Durable Object per client MCP session
 * (addressed by the session's random id). It holds what must be shared by
 * every isolate that serves the session: the client's initialize data, the
 * upstream session opened on each backend, and whether the session ended.
 *
 * It is not on the per-call path: isolates cache what it returns (see
 * `src/edge/sessions.ts`) and ask again only on a miss. Upstream initializes
 * are single-flight per backend, so two isolates never open two upstream
 * sessions for one client session. No storage transaction is held across
 * the upstream call (design rule 4): the fetch runs, then one write. A
 * 2026-07-28 backend gets no upstream session: `upstream` answers with the
 * stateless pseudo-session carrying the client's capabilities for its
 * requests' envelopes, and stores nothing.
 *
 * It is also the rendezvous of the input-required bridge
 * (`src/core/input-shim.ts`): the isolate running a call waits in
 * `awaitAnswer` for the client's answer to a request it sent on the call's
 * stream; whichever isolate receives that answer hands it over with
 * `deliverAnswer`. Waiters live in memory (the object stays alive while one
 * waits) and are bounded, as are answers that arrive before their waiter.
 */
import { DurableObject } from "cloudflare:workers";
import { keyRing } from "../src/auth/keys";
import { seal } from "../src/auth/seal";
import type { BackendConfig } from "../src/config/snapshot";
import type { Bindings } from "../src/env";
import { type Era, modernClientCapabilities } from "../src/protocol/eras";
import type { JsonRpcId, JsonRpcResponse } from "../src/protocol/jsonrpc";
import { MODERN_PROTOCOL_VERSION } from "../src/protocol/versions";
import { objects } from "../src/upstream/era";
import { initialize, terminate } from "../src/upstream/http";
import type { ClientInit, UpstreamSession } from "../src/upstream/types";
import { type BridgedCall, InputBridge } from "./input-bridge";
import { TaskInputs } from "./task-inputs";

/** What is stored when the client initializes. */
export interface SessionRecord {
  init: ClientInit;
  expiresAt: number;
}

/** Answer of `upstream`: the session, or why there is none. */
export type UpstreamAnswer =
  | { ok: true; session: UpstreamSession }
  | { ok: false; reason: "ended" | "unknown" }
  | { ok: false; reason: "failed"; kind: string; message: string; status?: number };

/** Upper bound on backends one client session can have upstream sessions with. */
const MAX_UPSTREAMS = 1000;
/** Upper bounds of the input rendezvous: concurrent waiters, early answers, and how long either is kept. */
const MAX_WAITERS = 256;
const MAX_EARLY_ANSWERS = 64;
const EARLY_ANSWER_TTL_MS = 60_000;
const MAX_WAIT_MS = 15 * 60_000;

/** What a bridged call's `requestState` binds (sealed by the object, checked by the retry's isolate). */
export interface RequestStateClaims {
  /** This object's name: the caller's session key. */
  sid: string;
  /** The parked call. */
  park: string;
  /** The principal, method and name or URI the retry must repeat. */
  sub: string;
  m: string;
  n: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/** How long a `requestState` is good for (the parked call lives at most as long). */
const REQUEST_STATE_TTL_MS = 10 * 60 * 1000;

/** Per-client-session coordination object (RPC methods). */
export class SessionDO extends DurableObject<Bindings> {
  private readonly inflight = new Map<string, Promise<UpstreamAnswer>>();
  private readonly bridge = new InputBridge();
  private readonly taskInputs = new TaskInputs();
  private readonly waiters = new Map<string, (answer: JsonRpcResponse | null) => void>();
  private readonly early = new Map<string, { answer: JsonRpcResponse; at: number }>();
  /**
   * The meta rows as last read or written. Every request of a session asks
   * `status` (the liveness check, `src/edge/sessions.ts`), so it answers from
   * memory: this object is the only writer of its storage, and every write
   * below goes through `setMeta` or clears this map.
   */
  private readonly metaMemo = new Map<string, string | null>();

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS upstream (backend TEXT PRIMARY KEY, session_id TEXT, protocol_version TEXT NOT NULL);
    `);
  }

  private meta(key: string): string | null {
    const known = this.metaMemo.get(key);
    if (known !== undefined) return known;
    const row = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    const value = row?.value ?? null;
    this.metaMemo.set(key, value);
    return value;
  }

  private setMeta(key: string, value: string): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
    this.metaMemo.set(key, value);
  }

  /** Records a new session; the alarm deletes everything when it expires. */
  async start(record: SessionRecord): Promise<void> {
    this.setMeta("record", JSON.stringify(record));
    await this.ctx.storage.setAlarm(record.expiresAt);
  }

  /** `live`, `ended` or `unknown` (never started, or expired and deleted). */
  async status(): Promise<"live" | "ended" | "unknown"> {
    if (this.meta("ended")) return "ended";
    return this.meta("record") ? "live" : "unknown";
  }

  /**
   * The upstream session for a backend, opening it (once) if needed; for a
   * backend the caller knows to be modern (`era`), the stateless
   * pseudo-session with this client's capabilities. With `ensure`, an object
   * that holds no session yet starts one first (the upstream sessions of a
   * 2026 caller, which has no `initialize`).
   */
  async upstream(backend: BackendConfig, era: Era = "legacy", ensure?: SessionRecord): Promise<UpstreamAnswer> {
    if (this.meta("ended")) return { ok: false, reason: "ended" };
    if (ensure && !this.meta("record")) await this.start(ensure);
    const record = this.meta("record");
    if (!record) return { ok: false, reason: "unknown" };
    if (era === "modern") {
      const { init } = JSON.parse(record) as SessionRecord;
      const capabilities = objects(modernClientCapabilities(init.capabilities));
      return {
        ok: true,
        session: { sessionId: null, protocolVersion: MODERN_PROTOCOL_VERSION, client: { capabilities } },
      };
    }
    const row = this.ctx.storage.sql
      .exec<{ session_id: string | null; protocol_version: string }>(
        "SELECT session_id, protocol_version FROM upstream WHERE backend = ?",
        backend.name,
      )
      .toArray()[0];
    if (row) return { ok: true, session: { sessionId: row.session_id, protocolVersion: row.protocol_version } };

    const pending = this.inflight.get(backend.name);
    if (pending !== undefined) return pending;
    const { init } = JSON.parse(record) as SessionRecord;
    const attempt = (async (): Promise<UpstreamAnswer> => {
      try {
        const session = await initialize(backend, init);
        if (this.meta("ended")) {
          await terminate(backend, session);
          return { ok: false, reason: "ended" };
        }
        const count = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM upstream").one().n;
        if (count < MAX_UPSTREAMS) {
          this.ctx.storage.sql.exec(
            "INSERT OR REPLACE INTO upstream (backend, session_id, protocol_version) VALUES (?, ?, ?)",
            backend.name,
            session.sessionId,
            session.protocolVersion,
          );
        }
        return { ok: true, session };
      } catch (err) {
        const e = err as { kind?: string; message?: string; status?: number };
        return {
          ok: false,
          reason: "failed",
          kind: e.kind ?? "network",
          message: e.message ?? "Backend failed",
          status: e.status,
        };
      } finally {
        this.inflight.delete(backend.name);
      }
    })();
    this.inflight.set(backend.name, attempt);
    return attempt;
  }

  /** Drops a backend's upstream session (it answered 404), so the next call opens a new one. */
  async forget(backend: string, sessionId: string | null): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM upstream WHERE backend = ? AND session_id IS ?", backend, sessionId);
  }

  /** The upstream sessions opened so far, or null once the session ended (for the GET stream). */
  async opened(): Promise<Array<{ backend: string; session: UpstreamSession }> | null> {
    if (this.meta("ended") !== null || this.meta("record") === null) return null;
    return this.ctx.storage.sql
      .exec<{ backend: string; session_id: string | null; protocol_version: string }>(
        "SELECT backend, session_id, protocol_version FROM upstream",
      )
      .toArray()
      .map((r) => ({ backend: r.backend, session: { sessionId: r.session_id, protocolVersion: r.protocol_version } }));
  }

  /**
   * Waits for the client's answer to the gateway request `id` (at most
   * `timeoutMs`); null on timeout, when the session ends, or when too many
   * are waiting.
   */
  async awaitAnswer(id: string, timeoutMs: number): Promise<JsonRpcResponse | null> {
    if (this.meta("ended") || this.waiters.has(id)) return null;
    const early = this.early.get(id);
    if (early) {
      this.early.delete(id);
      return early.answer;
    }
    if (this.waiters.size >= MAX_WAITERS) return null;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(null), Math.min(Math.max(timeoutMs, 0), MAX_WAIT_MS));
      const settle = (answer: JsonRpcResponse | null) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        resolve(answer);
      };
      this.waiters.set(id, settle);
    });
  }

  /**
   * Hands the client's answer to whoever waits for `id`. An answer that
   * arrives before its waiter is kept briefly (bounded); false once the
   * session ended.
   */
  async deliverAnswer(id: string, answer: JsonRpcResponse): Promise<boolean> {
    if (this.meta("ended")) return false;
    const waiter = this.waiters.get(id);
    if (waiter) {
      waiter(answer);
      return true;
    }
    const now = Date.now();
    for (const [key, kept] of this.early) if (now - kept.at > EARLY_ANSWER_TTL_MS) this.early.delete(key);
    if (this.early.size >= MAX_EARLY_ANSWERS) {
      const oldest = this.early.keys().next();
      if (!oldest.done) this.early.delete(oldest.value);
    }
    this.early.set(id, { answer, at: now });
    return true;
  }

  /** Ends the session; returns the upstream sessions so the caller can close them. */
  async end(): Promise<Array<{ backend: string; session: UpstreamSession }>> {
    this.setMeta("ended", "1");
    for (const settle of [...this.waiters.values()]) settle(null);
    this.early.clear();
    const rows = this.ctx.storage.sql
      .exec<{ backend: string; session_id: string | null; protocol_version: string }>(
        "SELECT backend, session_id, protocol_version FROM upstream",
      )
      .toArray();
    this.ctx.storage.sql.exec("DELETE FROM upstream");
    return rows.map((r) => ({
      backend: r.backend,
      session: { sessionId: r.session_id, protocolVersion: r.protocol_version },
    }));
  }

  /**
   * Runs a 2026 caller's call to a 2025 backend here, so the backend's
   * questions can wait for the client's retry on any isolate
   * (`input-bridge.ts`). Returns the SSE stream to relay.
   */
  async bridgeCall(
    call: BridgedCall,
    binding: Omit<RequestStateClaims, "park" | "exp">,
    supplied: Record<string, unknown> = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const ring = await keyRing(this.env);
    const sealer = (park: string) =>
      seal(
        { ...binding, park, exp: Date.now() + REQUEST_STATE_TTL_MS } satisfies RequestStateClaims,
        ring,
        "request-state",
      );
    return this.bridge.start(call, sealer, supplied);
  }

  /** Resumes a parked call with the client's answers; null when it is not (or no longer) here. */
  async bridgeResume(
    park: string,
    clientId: JsonRpcId,
    responses: Record<string, unknown>,
  ): Promise<ReadableStream<Uint8Array> | null> {
    return this.bridge.resume(park, clientId, responses);
  }

  /** The open questions of a 2025 backend's task for a 2026 caller (`task-inputs.ts`). */
  async taskQuestions(
    backend: BackendConfig,
    session: UpstreamSession,
    taskId: string,
  ): Promise<Record<string, { method: string; params?: Record<string, unknown> }>> {
    return this.taskInputs.questions(backend, session, taskId);
  }

  /** Posts a 2026 caller's `tasks/update` answers to the task's backend; unknown keys are ignored. */
  async taskAnswers(backend: string, taskId: string, responses: Record<string, unknown>): Promise<number> {
    return this.taskInputs.answer(backend, taskId, responses);
  }

  /** Expiry: forget everything. */
  override async alarm(): Promise<void> {
    this.metaMemo.clear();
    await this.ctx.storage.deleteAll();
    this.metaMemo.clear();
  }
}
