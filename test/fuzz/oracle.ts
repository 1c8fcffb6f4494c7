/**
 * The invariants every fuzz case must hold, whatever it sent:
 *
 * - never a 5xx;
 * - admin API (and any non-MCP path): errors are JSON
 *   `{"error": {"code", "message", "details"?}}` and nothing else, 401s carry
 *   `WWW-Authenticate`, successes are JSON (204 empty; `/metrics` text);
 * - MCP endpoints: every answer with a body is JSON-RPC (`jsonrpc: "2.0"`,
 *   an id, exactly one of `result` or a well-formed `error`), or an SSE
 *   stream ending with one; an id the client did not send never appears;
 *   when the request's id was readable (a single request with a string or
 *   safe-integer id, sent with every transport part right), the answer
 *   carries exactly that id, whatever the error, and is never a bare 202;
 * - no planted secret (admin token, API token secrets, the backend's
 *   header value) in any status line, header or body; no stack trace;
 * - a rejected write leaves the config version and every table's row
 *   count unchanged (`checkWrite`).
 */
import { type FuzzCase, MCP_BODY_LIMIT, type WireRequest, type WireResponse, type World } from "./model.ts";

/** Config version and row counts, before and after a write. */
export interface StoreState {
  version: number;
  rows: Record<string, number>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An id the gateway can read (its schema: a string of at most 256 characters or an integer). */
export function readableId(id: unknown): id is string | number {
  return (typeof id === "string" && id.length <= 256) || Number.isSafeInteger(id);
}

/** The request's id when it is one request whose id is readable. */
function requestId(message: unknown): string | number | undefined {
  if (!isObject(message) || !("method" in message)) return undefined;
  return readableId(message.id) ? message.id : undefined;
}

function parse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** `/mcp` or `/servers/<name>/mcp`, after the URL parser's normalisation (`%2e%2e` and the like). */
export function isMcpPath(path: string): boolean {
  let pathname: string;
  try {
    pathname = new URL(path, "http://fuzz.invalid").pathname;
  } catch {
    return false;
  }
  return /^\/mcp$/.test(pathname) || /^\/servers\/[^/]+\/mcp$/.test(pathname);
}

function checkSecrets(res: WireResponse, world: World, out: string[]): void {
  world.secrets.forEach((secret, i) => {
    if (res.body.includes(secret)) out.push(`planted secret #${i} in the body`);
    for (const [name, value] of Object.entries(res.headers)) {
      if (value.includes(secret)) out.push(`planted secret #${i} in header ${name}`);
    }
  });
  if (/\n\s+at \S.*:\d+:\d+|\.ts:\d+:\d+/.test(res.body)) out.push("stack trace in the body");
}

function checkAdminShape(res: WireResponse, path: string, out: string[]): void {
  const type = res.headers["content-type"] ?? "";
  if (res.status === 204) {
    if (res.body !== "") out.push("204 with a body");
    return;
  }
  if (res.status >= 200 && res.status < 300 && /^\/metrics(\?|$)/.test(path)) {
    if (!type.startsWith("text/plain")) out.push(`metrics answered ${type}`);
    return;
  }
  if (!type.startsWith("application/json")) out.push(`content-type ${JSON.stringify(type)} (JSON expected)`);
  const parsed = parse(res.body);
  if (!parsed.ok) {
    out.push("body is not JSON");
    return;
  }
  if (res.status < 400) return;
  const body = parsed.value;
  const error = isObject(body) ? body.error : undefined;
  if (!isObject(body) || Object.keys(body).length !== 1 || !isObject(error)) {
    out.push('error body is not {"error": {...}}');
    return;
  }
  if (typeof error.code !== "string" || error.code === "") out.push("error.code is not a string");
  if (typeof error.message !== "string") out.push("error.message is not a string");
  const extra = Object.keys(error).filter((k) => k !== "code" && k !== "message" && k !== "details");
  if (extra.length > 0) out.push(`error has unexpected fields ${extra.join(",")}`);
  if (res.status === 401 && !res.headers["www-authenticate"]) out.push("401 without WWW-Authenticate");
}

function checkRpcMessage(m: unknown, label: string, out: string[]): void {
  if (!isObject(m) || m.jsonrpc !== "2.0") {
    out.push(`${label}: not a JSON-RPC 2.0 response`);
    return;
  }
  if (!("id" in m) || !(m.id === null || typeof m.id === "string" || typeof m.id === "number")) {
    out.push(`${label}: id missing or not a string, number or null`);
  }
  const hasResult = "result" in m;
  const hasError = "error" in m;
  if (hasResult === hasError) out.push(`${label}: needs exactly one of result and error`);
  if (hasError) {
    const e = m.error;
    if (!isObject(e) || !Number.isInteger(e.code) || typeof e.message !== "string") {
      out.push(`${label}: malformed error object`);
    }
  }
  if (hasResult && !isObject(m.result)) out.push(`${label}: result is not an object`);
}

/** The JSON-RPC responses in an answer: the JSON body, or the SSE stream's last response. */
function responsesOf(res: WireResponse, out: string[]): unknown[] | undefined {
  const type = res.headers["content-type"] ?? "";
  if (type.startsWith("text/event-stream")) {
    if (res.partial) return undefined;
    const data = res.body
      .split("\n")
      .filter((l) => l.startsWith("data:") && l.slice(5).trim() !== "")
      .map((l) => parse(l.slice(5).trim()));
    if (data.some((d) => !d.ok)) out.push("an SSE event is not JSON");
    const messages = data.flatMap((d) => (d.ok ? [d.value] : []));
    const final = messages.filter((m) => isObject(m) && !("method" in m));
    if (final.length !== 1) out.push(`SSE stream ended with ${final.length} responses (1 expected)`);
    return final;
  }
  if (!type.startsWith("application/json")) {
    out.push(`content-type ${JSON.stringify(type)} (JSON or SSE expected)`);
    return undefined;
  }
  const parsed = parse(res.body);
  if (!parsed.ok) {
    out.push("body is not JSON");
    return undefined;
  }
  return Array.isArray(parsed.value) ? parsed.value : [parsed.value];
}

function checkMcp(c: FuzzCase, req: WireRequest, res: WireResponse, out: string[]): void {
  if (req.method === "HEAD") return;
  if (res.status === 202) {
    if (res.body !== "") out.push("202 with a body");
  } else if (req.method === "GET" && res.status === 200) {
    if (!(res.headers["content-type"] ?? "").startsWith("text/event-stream")) out.push("GET 200 is not an SSE stream");
    return;
  } else if (req.method === "DELETE" && res.status === 200) {
    return;
  }
  const sent = req.body !== null && req.body.length <= MCP_BODY_LIMIT ? parse(req.body) : { ok: false as const };
  const message = sent.ok ? sent.value : undefined;
  const id = requestId(message);
  const mustEcho = c.transportValid === true && id !== undefined;
  if (res.status === 202) {
    if (mustEcho) out.push(`a request with id ${JSON.stringify(id)} was answered 202`);
    return;
  }
  if (res.status === 401 && !res.headers["www-authenticate"]) out.push("401 without WWW-Authenticate");
  const responses = responsesOf(res, out);
  if (!responses) return;
  if (!Array.isArray(message) && (responses.length !== 1 || res.body.trimStart().startsWith("["))) {
    out.push("a single message was answered with an array");
  }
  for (const [i, r] of responses.entries())
    checkRpcMessage(r, responses.length > 1 ? `response ${i}` : "response", out);
  if (res.status >= 400 && responses.some((r) => isObject(r) && !("error" in r)))
    out.push(`${res.status} without a JSON-RPC error`);
  // Ids: never one the client did not send; exactly the request's when it was readable.
  const sentIds = (Array.isArray(message) ? message : [message]).map((m) => (isObject(m) ? JSON.stringify(m.id) : ""));
  for (const r of responses) {
    if (!isObject(r) || r.id === null || r.id === undefined) continue;
    if (!sentIds.includes(JSON.stringify(r.id)))
      out.push(`answered with id ${JSON.stringify(r.id)}, which was not sent`);
  }
  if (mustEcho) {
    const got = isObject(responses[0]) ? responses[0].id : undefined;
    if (got !== id) out.push(`id ${JSON.stringify(id)} was readable but the answer carries ${JSON.stringify(got)}`);
  }
  if (c.transportValid && Array.isArray(message) && res.status === 200) {
    const answered = new Set(responses.map((r) => (isObject(r) ? JSON.stringify(r.id) : "")));
    for (const m of message) {
      const mid = requestId(m);
      if (mid !== undefined && !answered.has(JSON.stringify(mid)))
        out.push(`batch request ${JSON.stringify(mid)} got no answer`);
    }
  }
}

/** Every invariant violation of one exchange (empty: the case passed). */
export function check(c: FuzzCase, req: WireRequest, res: WireResponse, world: World): string[] {
  const out: string[] = [];
  if (res.status === 0) return [`no HTTP answer: ${res.body.slice(0, 200)}`];
  if (res.status >= 500) out.push(`HTTP ${res.status}`);
  checkSecrets(res, world, out);
  if (isMcpPath(req.path)) checkMcp(c, req, res, out);
  else if (req.method !== "HEAD") checkAdminShape(res, req.path, out);
  return out;
}

/** A rejected write must change nothing: same config version, same row counts. */
export function checkWrite(res: WireResponse, before: StoreState, after: StoreState): string[] {
  if (res.status < 400) return [];
  const out: string[] = [];
  if (after.version !== before.version)
    out.push(`rejected write moved the config version ${before.version} → ${after.version}`);
  for (const [table, n] of Object.entries(before.rows)) {
    if (after.rows[table] !== n) out.push(`rejected write changed ${table} rows ${n} → ${after.rows[table]}`);
  }
  return out;
}
