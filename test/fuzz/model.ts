/**
 * What a fuzz case is, and how it becomes an HTTP request.
 *
 * A case is symbolic where the value depends on the running gateway (which
 * credential, which MCP session): `resolve` turns it into a concrete
 * request against the planted world, so the same case (same seed) means the
 * same thing on every run and under both runners (the workerd property
 * tests call the Worker's fetch; `npm run fuzz` sends it over HTTP to the
 * production bundle).
 *
 * Pure (no Node or Workers APIs beyond fetch-era globals): shared by both.
 */

/** Which API a case probes. */
export type Surface = "admin" | "mcp";

/** The credential a case presents. Planted secrets are only ever sent in `Authorization`. */
export type AuthChoice =
  | "admin" // ADMIN_TOKEN
  | "admin-token" // an API token with scope admin
  | "mcp-token" // an API token with scope mcp (every endpoint)
  | "mcp-other" // an API token with scope mcp, limited to another server
  | "wrong" // a well-formed token nobody issued
  | "near-admin" // ADMIN_TOKEN with a character appended
  | "basic" // Basic scheme carrying ADMIN_TOKEN
  | "lowercase" // "bearer <ADMIN_TOKEN>"
  | "empty" // "Bearer "
  | "none";

/** The `Mcp-Session-Id` a case presents. */
export type SessionChoice =
  | { kind: "none" }
  | { kind: "valid"; version: string } // a live session of this endpoint, for the case's credential
  | { kind: "tampered"; version: string } // a live session id with one character changed
  | { kind: "other-endpoint" } // a live session of another endpoint
  | { kind: "other-subject" } // a live session of this endpoint opened with another credential
  | { kind: "ended" } // a session that was DELETEd
  | { kind: "forged"; value: string };

/** A request body. `sized` is built at send time (multi-MiB strings stay out of shrink trees). */
export type Body =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string }
  | { kind: "sized"; bytes: number; valid: boolean };

/** One fuzz case. */
export interface FuzzCase {
  surface: Surface;
  method: string;
  /** Path and query, raw (may be oddly encoded on purpose). */
  path: string;
  headers: Array<[string, string]>;
  auth: AuthChoice;
  session?: SessionChoice;
  body: Body;
  /** What the case is about, for reports (e.g. "near-valid BackendCreate: url: format"). */
  note: string;
  /**
   * MCP: every transport-level part (credential, endpoint, Accept,
   * Content-Type, protocol version, Origin, Host, size) is what the spec asks
   * for, so the gateway must read the body and answer with its id.
   */
  transportValid?: boolean;
}

/** A concrete request. */
export interface WireRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: string | null;
}

/** What came back; `headers` names are lower case. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body was cut at the reader's limit or the stream was left open (GET streams). */
  partial?: boolean;
}

/** Sends one request (workerd: the Worker's fetch; Node: HTTP to an isolate). */
export type Send = (request: WireRequest) => Promise<WireResponse>;

/** Limits of the contract (README "Limits", src/protocol/versions.ts); the runners cannot import src/ in Node. */
export const ADMIN_BODY_LIMIT = 1024 * 1024;
export const MCP_BODY_LIMIT = 4 * 1024 * 1024;
export const MCP_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;

/** Path marker `resolve` replaces with the id of a token the fuzzer created (or an unknown id). */
export const CREATED_TOKEN = "@created-token";

/** The planted deployment the cases run against. */
export interface World {
  adminToken: string;
  tokens: { admin: string; mcp: string; mcpOther: string };
  /** Values that must never appear in a response: credentials and the backend's header value. */
  secrets: string[];
  /** Ids of API tokens the fuzzer created (from 201 answers), for DELETE cases. */
  createdTokens: string[];
}

/** The Authorization header value of a choice (undefined: none). */
export function authHeader(world: World, auth: AuthChoice): string | undefined {
  switch (auth) {
    case "admin":
      return `Bearer ${world.adminToken}`;
    case "admin-token":
      return `Bearer ${world.tokens.admin}`;
    case "mcp-token":
      return `Bearer ${world.tokens.mcp}`;
    case "mcp-other":
      return `Bearer ${world.tokens.mcpOther}`;
    case "wrong":
      return "Bearer mcpgw_0000000000000000000000000000000000000000000";
    case "near-admin":
      return `Bearer ${world.adminToken}x`;
    case "basic":
      return `Basic ${btoa(`admin:${world.adminToken}`)}`;
    case "lowercase":
      return `bearer ${world.adminToken}`;
    case "empty":
      return "Bearer ";
    case "none":
      return undefined;
  }
}

/** A JSON-RPC request padded with a string param to exactly `bytes` bytes (`valid: false`: cut short, not JSON). */
export function sizedBody(bytes: number, valid: boolean): string {
  const head = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"pad":"';
  const tail = '"}}}';
  const pad = Math.max(0, bytes - head.length - tail.length);
  const text = `${head}${"a".repeat(pad)}${tail}`;
  return valid ? text : text.slice(0, -2);
}

/** Live MCP sessions by endpoint, version and credential, opened on first use. */
export class SessionPool {
  private readonly live = new Map<string, string>();
  readonly ended: string[] = [];

  private readonly send: Send;
  private readonly world: World;

  // No parameter properties: this file also runs under node --experimental-strip-types.
  constructor(send: Send, world: World) {
    this.send = send;
    this.world = world;
  }

  /** A live session id, or undefined if initialize failed (e.g. the credential cannot use the endpoint). */
  async get(endpoint: string, version: string, auth: AuthChoice): Promise<string | undefined> {
    const key = `${endpoint}|${version}|${auth}`;
    const known = this.live.get(key);
    if (known) return known;
    const header = authHeader(this.world, auth);
    const res = await this.send({
      method: "POST",
      path: endpoint,
      headers: [
        ["content-type", "application/json"],
        ["accept", "application/json, text/event-stream"],
        ...(header ? [["authorization", header] as [string, string]] : []),
      ],
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "fuzz", version: "1" } },
      }),
    });
    const id = res.headers["mcp-session-id"];
    if (res.status !== 200 || !id) return undefined;
    this.live.set(key, id);
    return id;
  }

  /** Drops a session the gateway no longer knows (DELETEd, or answered 404). */
  forget(id: string): void {
    for (const [key, value] of this.live) {
      if (value !== id) continue;
      this.live.delete(key);
      if (this.ended.length < 16) this.ended.push(id);
    }
  }
}

function tamper(id: string): string {
  const at = Math.floor(id.length / 2);
  const c = id[at] === "A" ? "B" : "A";
  return `${id.slice(0, at)}${c}${id.slice(at + 1)}`;
}

/** The `Mcp-Session-Id` value for a case (undefined: none). */
async function sessionHeader(
  c: FuzzCase,
  pool: SessionPool,
  endpoints: readonly string[],
): Promise<string | undefined> {
  const s = c.session ?? { kind: "none" };
  const endpoint = c.path.split("?")[0] ?? c.path;
  const owner = c.auth === "none" ? "admin" : c.auth;
  switch (s.kind) {
    case "none":
      return undefined;
    case "forged":
      return s.value;
    case "valid":
      return (await pool.get(endpoint, s.version, owner)) ?? "v1.unopenable";
    case "tampered":
      return tamper((await pool.get(endpoint, s.version, "admin")) ?? "v1.unopenable");
    case "other-endpoint": {
      const other = endpoints.find((e) => e !== endpoint) ?? "/mcp";
      return (await pool.get(other, MCP_VERSIONS[0], owner)) ?? "v1.unopenable";
    }
    case "other-subject":
      return (await pool.get(endpoint, MCP_VERSIONS[0], owner === "admin" ? "mcp-token" : "admin")) ?? "v1.none";
    case "ended":
      return pool.ended[0] ?? "v1.never-opened";
  }
}

/** Turns a case into a concrete request. `endpoints`: the MCP endpoint paths of the world. */
export async function resolve(
  c: FuzzCase,
  world: World,
  pool: SessionPool,
  endpoints: readonly string[],
): Promise<WireRequest> {
  const headers: Array<[string, string]> = [...c.headers];
  const auth = authHeader(world, c.auth);
  if (auth !== undefined) headers.push(["authorization", auth]);
  if (c.surface === "mcp") {
    const session = await sessionHeader(c, pool, endpoints);
    if (session !== undefined) headers.push(["mcp-session-id", session]);
  }
  let body: string | null = null;
  if (c.body.kind === "json") body = JSON.stringify(c.body.value) ?? "null";
  else if (c.body.kind === "text") body = c.body.text;
  else if (c.body.kind === "sized") body = sizedBody(c.body.bytes, c.body.valid);
  const created = world.createdTokens[world.createdTokens.length - 1] ?? "tok_unknown";
  return { method: c.method, path: c.path.replace(CREATED_TOKEN, created), headers, body };
}

/** A short, reproducible description of a case (bodies cut to 300 characters). */
export function describeCase(c: FuzzCase): string {
  const body =
    c.body.kind === "none"
      ? ""
      : c.body.kind === "sized"
        ? ` body=<${c.body.bytes} bytes${c.body.valid ? "" : ", cut"}>`
        : ` body=${(c.body.kind === "json" ? (JSON.stringify(c.body.value) ?? "undefined") : JSON.stringify(c.body.text)).slice(0, 300)}`;
  const session = c.session && c.session.kind !== "none" ? ` session=${JSON.stringify(c.session)}` : "";
  const headers = c.headers.map(([k, v]) => `${k}: ${v.slice(0, 80)}`).join("; ");
  return `${c.method} ${c.path.slice(0, 200)} auth=${c.auth}${session} [${headers}]${body} (${c.note})`;
}
