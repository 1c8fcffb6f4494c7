/**
 * LegacyClientDO: one SQLite-backed Durable Object per legacy HTTP+SSE client
 * session (MCP 2024-11-05 basic/transports, "HTTP with SSE"), addressed by the
 * session's random key. It holds the one thing of that transport that cannot
 * be stateless: the client's open SSE stream. The isolate that got the GET
 * pipes the stream this object returns over RPC; any isolate that gets a POST
 * runs the message through the core and hands the answers here, and this
 * object writes them on the stream in the order each call produced them.
 *
 * The stream lives in this object's memory (an `Outbox`): if the object is
 * evicted or restarted the stream is gone, and so is the session. Storage
 * keeps only what outlives a request (who the session belongs to, its expiry,
 * the client's capability profile once it initialized), so an admission after
 * an eviction is answered "ended", and the alarm.
 *
 * Bounds (design rule 5): the backlog the client has not read (messages and
 * bytes; past it the client is disconnected), requests in flight per session,
 * an idle timeout (no message from the client), the session's expiry, and a
 * keep-alive comment on a quiet stream (proxies close silent connections, and
 * a write is how the runtime notices a client that left). One alarm does all
 * the timing, so tests can fire it (`runDurableObjectAlarm`).
 *
 * Upstream sessions are not here: they are the SessionDO's of the same key
 * (design rule 8), closed by the isolate that pipes the stream once it ends.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../src/env";
import { encodeSseComment, encodeSseMessage } from "../src/protocol/sse";
import { Outbox } from "./outbox";

/** Keep-alive comment interval on a quiet stream: below common proxy idle timeouts (60 s). */
export const LEGACY_KEEPALIVE_MS = 25_000;
/** A session without any message from its client for this long is closed. */
export const LEGACY_IDLE_MS = 30 * 60_000;
/** Backlog bounds: events the client has not read yet. */
export const LEGACY_MAX_QUEUED = 256;
export const LEGACY_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Requests a session may have running at once (each runs on some isolate after its 202). */
export const LEGACY_MAX_IN_FLIGHT = 32;
/** A request slot not released after this long is reclaimed (its isolate died mid-call). */
const IN_FLIGHT_LEASE_MS = 10 * 60_000;

/** What the GET's isolate tells the object when it opens the stream. */
export interface LegacyOpen {
  /** Principal the session is bound to (token id, `admin` or `anonymous`). */
  subject: string;
  /** Endpoint key: `*` for /sse, else the virtual server's name. */
  endpoint: string;
  /** Expiry, epoch ms (the sealed session id says the same). */
  expiresAt: number;
  /** The URI the client POSTs to, sent as the first (`endpoint`) event. */
  endpointUri: string;
}

/** What a POST learns before it answers 202. */
export type LegacyAdmission =
  | {
      ok: true;
      /** Capability profile and protocol version, once the client initialized. */
      profile: string | null;
      protocolVersion: string | null;
      /** The request's slot, released by `deliver(…, ticket)` with its final answer. */
      ticket: string | null;
    }
  | { ok: false; reason: "ended" | "busy" };

interface StoredRecord {
  subject: string;
  endpoint: string;
  expiresAt: number;
  profile?: string;
  protocolVersion?: string;
}

/** Per-legacy-client-session stream holder (RPC methods, no `fetch`). */
export class LegacyClientDO extends DurableObject<Bindings> {
  private outbox: Outbox | null = null;
  private record: StoredRecord | null = null;
  private ended = false;
  private cleared = false;
  private lastActive = Date.now();
  private readonly inFlight = new Map<string, number>();
  private nextTicket = 1;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const row = ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'record'").toArray()[0];
    // A stored record without a stream in memory: the object restarted and the stream is gone.
    if (row) this.ended = true;
  }

  private save(record: StoredRecord): void {
    this.record = record;
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('record', ?)", JSON.stringify(record));
  }

  private get live(): boolean {
    return !this.ended && this.outbox?.open === true;
  }

  /**
   * Starts the session's stream: its first event is `endpoint` (the URI the
   * client POSTs to). Returns the stream, which the caller pipes to the
   * client; null if this key was opened before (keys are random per GET, so
   * that is never a client's doing).
   */
  async open(params: LegacyOpen): Promise<ReadableStream<Uint8Array> | null> {
    if (this.outbox || this.ended) return null;
    this.outbox = new Outbox({ messages: LEGACY_MAX_QUEUED, bytes: LEGACY_MAX_QUEUED_BYTES }, () => {
      void this.finish();
    });
    this.save({ subject: params.subject, endpoint: params.endpoint, expiresAt: params.expiresAt });
    this.lastActive = Date.now();
    this.outbox.push(new TextEncoder().encode(`event: endpoint\ndata: ${params.endpointUri}\n\n`));
    await this.schedule();
    return this.outbox.stream;
  }

  /**
   * Admits one POSTed message of `subject` on `endpoint`: the session must be
   * live and theirs (the sealed id says so too; this is the second check).
   * A request also takes one of the session's in-flight slots.
   */
  async admit(subject: string, endpoint: string, request: boolean): Promise<LegacyAdmission> {
    const record = this.record;
    if (!this.live || !record || record.subject !== subject || record.endpoint !== endpoint) {
      return { ok: false, reason: "ended" };
    }
    this.lastActive = Date.now();
    let ticket: string | null = null;
    if (request) {
      const now = Date.now();
      for (const [key, started] of this.inFlight) if (now - started > IN_FLIGHT_LEASE_MS) this.inFlight.delete(key);
      if (this.inFlight.size >= LEGACY_MAX_IN_FLIGHT) return { ok: false, reason: "busy" };
      ticket = String(this.nextTicket++);
      this.inFlight.set(ticket, now);
    }
    return { ok: true, profile: record.profile ?? null, protocolVersion: record.protocolVersion ?? null, ticket };
  }

  /**
   * Records the client's `initialize` (its capability profile and the
   * negotiated version). False if the session already initialized or ended.
   */
  async initialized(profile: string, protocolVersion: string): Promise<boolean> {
    const record = this.record;
    if (!this.live || !record || record.protocolVersion !== undefined) return false;
    this.save({ ...record, profile, protocolVersion });
    return true;
  }

  /**
   * Writes JSON-RPC messages on the stream, in order, as `message` events;
   * `ticket` releases a request's slot (its final answer is among them).
   * `ended` when there is no stream any more; a backlog past its bounds
   * disconnects the client (it is not reading) and ends the session.
   */
  async deliver(messages: unknown[], ticket?: string): Promise<"ok" | "ended"> {
    if (ticket !== undefined) this.inFlight.delete(ticket);
    const outbox = this.outbox;
    if (!this.live || !outbox) return "ended";
    for (const message of messages) {
      const pushed = outbox.push(encodeSseMessage(message));
      if (pushed === "full") {
        outbox.drop();
        await this.finish();
        return "ended";
      }
      if (pushed === "closed") return "ended";
    }
    return "ok";
  }

  /** Ends the session: the stream closes once the client has read what is queued. */
  async end(): Promise<void> {
    this.outbox?.close();
    await this.finish();
  }

  /** Keep-alive, idle timeout and expiry. */
  override async alarm(): Promise<void> {
    const outbox = this.outbox;
    const record = this.record;
    if (!this.live || !outbox || !record) {
      await this.finish();
      return;
    }
    const now = Date.now();
    if (now >= record.expiresAt || now - this.lastActive >= LEGACY_IDLE_MS) {
      outbox.close();
      await this.finish();
      return;
    }
    // A comment only on a quiet stream: a backlog already tells whether the client reads.
    if (outbox.size === 0) outbox.push(encodeSseComment("keep-alive"));
    await this.schedule();
  }

  private async schedule(): Promise<void> {
    const record = this.record;
    if (!record) return;
    const at = Math.min(Date.now() + LEGACY_KEEPALIVE_MS, this.lastActive + LEGACY_IDLE_MS, record.expiresAt);
    await this.ctx.storage.setAlarm(at);
  }

  /** Marks the session ended and forgets it (the in-memory flag answers later admissions). */
  private async finish(): Promise<void> {
    this.ended = true;
    this.record = null;
    this.inFlight.clear();
    if (this.cleared) return;
    this.cleared = true;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
