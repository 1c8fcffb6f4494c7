/**
 * UpstreamTokenDO: one SQLite-backed Durable Object per gateway user (named
 * by the principal's subject), holding that user's upstream OAuth tokens, one
 * row per backend, sealed under the key ring (`auth/seal.ts`, purpose
 * `upstream-token`). A backend with `grant: "client_credentials"` has one
 * object of its own (`client:<backend>`): one token shared by design.
 *
 * Why an object and not D1: a warm tools/call runs no D1 query (design rule
 * 1); the isolate caches the opened access token briefly and asks this object
 * only when it has none. One object per user is also the natural single-flight
 * for refresh: concurrent calls of one user to one backend wait for the same
 * refresh (`inflight`), and no object sees more than one user's traffic
 * (design rule 3).
 *
 * Confused-deputy rules (MCP 2025-11-25 basic/security_best_practices): every
 * token is bound to the client id and resource it was issued for; when the
 * backend's settings no longer match, the token is dropped, never sent.
 * Tokens leave this object only as the return value of `token`, to the
 * gateway's own code that puts them in the upstream request.
 */
import { DurableObject } from "cloudflare:workers";
import { keyRing } from "../src/auth/keys";
import { open, seal } from "../src/auth/seal";
import type { BackendConfig, UpstreamOAuth } from "../src/config/snapshot";
import type { Bindings } from "../src/env";
import {
  clientCredentials,
  exchangeToken,
  refreshTokens,
  revokeToken,
  serverFor,
  type TokenSet,
  UpstreamOAuthError,
} from "../src/upstream/oauth-client";
import { type ClientAnswer, registeredClient } from "./client-registration";

/** The most a refresh starts before expiry; short-lived tokens refresh in their last quarter. */
const REFRESH_SKEW_MS = 60_000;
/** Bounds: connections per user, pending consent states per user. */
const MAX_TOKENS = 200;
const MAX_STATES = 50;

/** What `token` answers: a usable access token, or why there is none (never a thrown token error). */
export type TokenAnswer =
  | {
      ok: true;
      accessToken: string;
      expiresAt: number | null;
      /** A token exchange just made a new connection (the caller indexes it, off the call path). */
      exchanged?: true;
    }
  | { ok: false; reason: "none" | "failed"; message: string };

/** A connection as its owner and admins see it: never a token. */
export interface ConnectionInfo {
  backend: string;
  scope: string | null;
  expiresAt: number | null;
  connectedAt: number;
  refreshedAt: number | null;
}

/** What a rotation did to this object's tokens. */
export interface TokenReseal {
  resealed: string[];
  current: number;
  unreadable: string[];
}

interface Row {
  backend: string;
  sealed: string;
  client_id: string;
  resource: string;
  expires_at: number | null;
  obtained_at: number;
  scope: string | null;
  created_at: number;
  refreshed_at: number | null;
  [key: string]: SqlStorageValue;
}

interface Secrets {
  access: string;
  refresh?: string;
}

export class UpstreamTokenDO extends DurableObject<Bindings> {
  private ready = false;
  /** One refresh (or client-credentials grant) per backend at a time. */
  private readonly inflight = new Map<string, Promise<TokenAnswer>>();
  /** The running client registration (`client:<backend>` objects only): one at a time. */
  private registering: Promise<ClientAnswer> | null = null;

  private schema(): void {
    if (this.ready) return;
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS tokens (
        backend TEXT PRIMARY KEY, sealed TEXT NOT NULL, client_id TEXT NOT NULL, resource TEXT NOT NULL,
        expires_at INTEGER, obtained_at INTEGER NOT NULL, scope TEXT, created_at INTEGER NOT NULL, refreshed_at INTEGER
      );
      CREATE TABLE IF NOT EXISTS states (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    `);
    this.ready = true;
  }

  private row(backend: string): Row | undefined {
    this.schema();
    return this.ctx.storage.sql.exec<Row>("SELECT * FROM tokens WHERE backend = ?", backend).toArray()[0];
  }

  private async secrets(row: Row): Promise<Secrets | null> {
    try {
      const value = (await open(row.sealed, await keyRing(this.env), "upstream-token")).value as Secrets;
      return typeof value?.access === "string" ? value : null;
    } catch {
      return null;
    }
  }

  private drop(backend: string): void {
    this.schema();
    this.ctx.storage.sql.exec("DELETE FROM tokens WHERE backend = ?", backend);
  }

  private async write(backend: string, auth: UpstreamOAuth, set: TokenSet, refreshed: boolean): Promise<void> {
    this.schema();
    const sql = this.ctx.storage.sql;
    const count = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM tokens WHERE backend != ?", backend).one().n;
    if (count >= MAX_TOKENS) throw new UpstreamOAuthError("config", "Too many upstream connections for this user");
    const secrets: Secrets = { access: set.accessToken, ...(set.refreshToken && { refresh: set.refreshToken }) };
    const sealed = await seal(secrets, await keyRing(this.env), "upstream-token");
    const now = Date.now();
    const created = this.row(backend)?.created_at ?? now;
    sql.exec(
      `INSERT OR REPLACE INTO tokens (backend, sealed, client_id, resource, expires_at, obtained_at, scope, created_at, refreshed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      backend,
      sealed,
      auth.clientId,
      auth.resource,
      set.expiresAt,
      now,
      set.scope ?? null,
      refreshed ? created : now,
      refreshed ? now : null,
    );
  }

  /** Stores what the consent flow obtained for `backend` (replacing any earlier token). */
  async store(backend: BackendConfig, set: TokenSet): Promise<void> {
    if (!backend.auth) throw new UpstreamOAuthError("config", "The backend has no OAuth settings");
    await this.write(backend.name, backend.auth, set, false);
  }

  /**
   * A usable access token for `backend`: the stored one, refreshed first when
   * it expires soon (or when `rejected`, the token the backend just refused,
   * is still the stored one). A refresh the server refuses deletes the
   * connection: the user has to consent again.
   */
  async token(backend: BackendConfig, rejected?: string, subject?: string): Promise<TokenAnswer> {
    const auth = backend.auth;
    if (!auth) return { ok: false, reason: "none", message: "The backend has no OAuth settings" };
    const pending = this.inflight.get(backend.name);
    if (pending !== undefined) return pending;
    const row = this.row(backend.name);
    if (row && (row.client_id !== auth.clientId || row.resource !== auth.resource)) {
      // Issued to another client or for another resource: never sent to this backend.
      this.drop(backend.name);
      return this.token(backend, rejected, subject);
    }
    const secrets = row ? await this.secrets(row) : null;
    if (row && !secrets) this.drop(backend.name);
    if (!row || !secrets) return this.obtain(backend.name, auth, subject);
    const now = Date.now();
    const lifetime = row.expires_at === null ? null : row.expires_at - row.obtained_at;
    const skew = lifetime === null ? 0 : Math.min(REFRESH_SKEW_MS, Math.max(0, lifetime / 4));
    const stale = row.expires_at !== null && row.expires_at - now <= skew;
    const refused = rejected !== undefined && rejected === secrets.access;
    if (!stale && !refused) return { ok: true, accessToken: secrets.access, expiresAt: row.expires_at };
    const refresh = secrets.refresh;
    if (!refresh && auth.grant !== "authorization_code") return this.obtain(backend.name, auth, subject);
    if (!refresh) {
      this.drop(backend.name);
      return { ok: false, reason: "none", message: "The upstream token expired and cannot be refreshed" };
    }
    return this.once(backend.name, () => this.refresh(backend.name, auth, refresh));
  }

  /**
   * Runs `work` unless one already runs for `backend`. Checked again here, with
   * no await between check and set: other calls may have interleaved during
   * the decryption above, and two refreshes with one rotating refresh token
   * would lose the connection.
   */
  private once(backend: string, work: () => Promise<TokenAnswer>): Promise<TokenAnswer> {
    const pending = this.inflight.get(backend);
    if (pending !== undefined) return pending;
    const running = work().finally(() => this.inflight.delete(backend));
    this.inflight.set(backend, running);
    return running;
  }

  private async refresh(backend: string, auth: UpstreamOAuth, refreshToken: string): Promise<TokenAnswer> {
    try {
      const set = await refreshTokens(await serverFor(auth, this.env), refreshToken, auth.resource);
      await this.write(backend, auth, set, true);
      return { ok: true, accessToken: set.accessToken, expiresAt: set.expiresAt };
    } catch (err) {
      const message = err instanceof UpstreamOAuthError ? err.message : "The refresh failed";
      // invalid_grant: the grant is gone (revoked, expired); anything else may pass, keep the token.
      if (err instanceof UpstreamOAuthError && err.kind === "grant" && /invalid_grant/.test(err.message)) {
        this.drop(backend);
        return { ok: false, reason: "none", message };
      }
      return { ok: false, reason: "failed", message };
    }
  }

  /** A new token without the user: client credentials, or the caller's token exchanged (RFC 8693). */
  private obtain(backend: string, auth: UpstreamOAuth, subject: string | undefined): Promise<TokenAnswer> {
    if (auth.grant === "client_credentials") return this.once(backend, () => this.grant(backend, auth));
    if (auth.grant === "token_exchange" && subject) return this.once(backend, () => this.grant(backend, auth, subject));
    return Promise.resolve({ ok: false, reason: "none", message: "Not connected" });
  }

  private async grant(backend: string, auth: UpstreamOAuth, subject?: string): Promise<TokenAnswer> {
    try {
      const server = await serverFor(auth, this.env);
      const set = subject ? await exchangeToken(server, auth, subject) : await clientCredentials(server, auth);
      await this.write(backend, auth, set, false);
      return { ok: true, accessToken: set.accessToken, expiresAt: set.expiresAt, ...(subject && { exchanged: true }) };
    } catch (err) {
      return {
        ok: false,
        reason: "failed",
        message: err instanceof UpstreamOAuthError ? err.message : "The token request failed",
      };
    }
  }

  /**
   * Marks a consent state used: true the first time, false after (a state is
   * one-time). Expired entries are swept on each call; the table is bounded.
   */
  async consumeState(nonce: string, expiresAt: number): Promise<boolean> {
    this.schema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    sql.exec("DELETE FROM states WHERE expires_at < ?", now);
    if (sql.exec("SELECT 1 FROM states WHERE nonce = ?", nonce).toArray().length > 0) return false;
    sql.exec(
      "DELETE FROM states WHERE nonce IN (SELECT nonce FROM states ORDER BY expires_at LIMIT max(0, (SELECT COUNT(*) FROM states) - ?))",
      MAX_STATES - 1,
    );
    sql.exec("INSERT INTO states (nonce, expires_at) VALUES (?, ?)", nonce, expiresAt);
    return true;
  }

  /** This user's connections (never a token). */
  async list(): Promise<ConnectionInfo[]> {
    this.schema();
    return this.ctx.storage.sql
      .exec<Row>("SELECT * FROM tokens ORDER BY backend")
      .toArray()
      .map((r) => ({
        backend: r.backend,
        scope: r.scope,
        expiresAt: r.expires_at,
        connectedAt: r.created_at,
        refreshedAt: r.refreshed_at,
      }));
  }

  /**
   * Deletes the connection to `backend`; with its settings, first revokes the
   * tokens at the authorization server (best effort, RFC 7009). True when a
   * connection existed.
   */
  async revoke(backendName: string, backend?: BackendConfig): Promise<boolean> {
    const row = this.row(backendName);
    if (!row) return false;
    const secrets = await this.secrets(row);
    this.drop(backendName);
    if (secrets && backend?.auth && row.client_id === backend.auth.clientId) {
      try {
        const server = await serverFor(backend.auth, this.env);
        if (secrets.refresh) await revokeToken(server, secrets.refresh);
        await revokeToken(server, secrets.access);
      } catch {
        // The server is unreachable or misconfigured: the gateway has forgotten the token anyway.
      }
    }
    return true;
  }

  /** Which key each stored token is sealed under (null: none of the configured keys opens it). */
  async keys(): Promise<Array<{ backend: string; keyId: string | null }>> {
    this.schema();
    const ring = await keyRing(this.env);
    const rows = this.ctx.storage.sql.exec<Row>("SELECT * FROM tokens").toArray();
    return Promise.all(
      rows.map(async (r) => {
        try {
          return { backend: r.backend, keyId: (await open(r.sealed, ring, "upstream-token")).keyId };
        } catch {
          return { backend: r.backend, keyId: null };
        }
      }),
    );
  }

  /**
   * The backend's dynamically registered client (this object is the
   * backend's own, `client:<backend>`): registers it on first use, one
   * registration at a time; later callers read what the first stored.
   */
  async client(backend: BackendConfig, redirectUri: string, forget?: string): Promise<ClientAnswer> {
    for (let waiting = this.registering; waiting !== null; waiting = this.registering)
      await waiting.catch(() => undefined);
    const running = registeredClient(this.env, backend, redirectUri, forget);
    this.registering = running;
    try {
      return await running;
    } finally {
      if (this.registering === running) this.registering = null;
    }
  }

  /** Re-seals every token not under the ring's current key (key rotation). */
  async reseal(): Promise<TokenReseal> {
    this.schema();
    const ring = await keyRing(this.env);
    const out: TokenReseal = { resealed: [], current: 0, unreadable: [] };
    for (const r of this.ctx.storage.sql.exec<Row>("SELECT * FROM tokens").toArray()) {
      try {
        const opened = await open(r.sealed, ring, "upstream-token");
        if (opened.keyId === ring.current.id) {
          out.current++;
          continue;
        }
        const sealed = await seal(opened.value, ring, "upstream-token");
        this.ctx.storage.sql.exec("UPDATE tokens SET sealed = ? WHERE backend = ?", sealed, r.backend);
        out.resealed.push(r.backend);
      } catch {
        out.unreadable.push(r.backend);
      }
    }
    return out;
  }
}
