/**
 * The operations a soak client performs, each checking its own answer:
 * status, and a JSON-RPC result with the request's id (for a stream, its
 * last message) holding what the fixture backend (test/fixtures/backends.ts,
 * stateful) returns. `run` resolves with a problem description, or undefined.
 */
import type { Session } from "./run.ts";

export interface Op {
  name: string;
  run(base: string, session: Session, id: number): Promise<string | undefined>;
}

interface Reply {
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

function headers(session: Session, extra: Record<string, string> = {}): Record<string, string> {
  return {
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": session.version,
    ...(session.auth && { authorization: session.auth }),
    ...(session.id && { "mcp-session-id": session.id }),
    ...extra,
  };
}

/** POSTs a request; the final reply, or a problem. */
async function rpc(base: string, session: Session, id: number, method: string, params: object = {}) {
  const res = await fetch(`${base}${session.endpoint}`, {
    method: "POST",
    headers: headers(session),
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
  });
  const text = await res.text();
  if (res.status !== 200) return { problem: `HTTP ${res.status} ${text.slice(0, 160)}` };
  const json = (res.headers.get("content-type") ?? "").startsWith("text/event-stream")
    ? text
        .split("\n")
        .filter((l) => l.startsWith("data: {"))
        .pop()
        ?.slice(6)
    : text;
  const reply = JSON.parse(json ?? "null") as Reply | null;
  if (reply?.id !== id)
    return { problem: `answer with id ${JSON.stringify(reply?.id)} to request ${id}: ${text.slice(0, 160)}` };
  if (!reply.result) return { problem: `error ${JSON.stringify(reply.error)}` };
  return { result: reply.result, res };
}

const prefixed = (session: Session, name: string) => (session.endpoint.includes("soak-open") ? name : `soak__${name}`);
const resource = (session: Session, uri: string) =>
  session.endpoint.includes("soak-open") ? uri : `mcpgw://soak/${uri}`;

/** A call whose first text content must equal `expected`. */
function call(name: string, args: (id: number) => object, expected: (id: number) => string, meta = false): Op {
  return {
    name: `call ${name}`,
    async run(base, session, id) {
      const params = {
        name: prefixed(session, name),
        arguments: args(id),
        ...(meta && { _meta: { progressToken: id } }),
      };
      const r = await rpc(base, session, id, "tools/call", params);
      if (r.problem) return r.problem;
      const text = (r.result?.content as Array<{ text?: string }> | undefined)?.[0]?.text;
      return text === expected(id) ? undefined : `call ${name} answered ${JSON.stringify(text)}`;
    },
  };
}

/** A request whose result must hold a non-empty `key` list (or just succeed). */
function request(method: string, params: (s: Session) => object = () => ({}), key?: string): Op {
  return {
    name: method,
    async run(base, session, id) {
      const r = await rpc(base, session, id, method, params(session));
      if (r.problem) return r.problem;
      if (key && !(Array.isArray(r.result?.[key]) && (r.result[key] as unknown[]).length > 0))
        return `${method} without ${key}`;
      return undefined;
    },
  };
}

const initialize: Op = {
  name: "initialize",
  async run(base, session, id) {
    session.id = undefined;
    const params = { protocolVersion: session.version, capabilities: {}, clientInfo: { name: "soak", version: "1" } };
    const r = await rpc(base, session, id, "initialize", params);
    if (r.problem) return r.problem;
    session.id = r.res?.headers.get("mcp-session-id") ?? undefined;
    if (r.result?.protocolVersion !== session.version) return `negotiated ${JSON.stringify(r.result?.protocolVersion)}`;
    return session.id ? undefined : "no session id";
  },
};

const initialized: Op = {
  name: "initialized",
  async run(base, session) {
    const res = await fetch(`${base}${session.endpoint}`, {
      method: "POST",
      headers: headers(session),
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    });
    await res.text();
    return res.status === 202 ? undefined : `HTTP ${res.status}`;
  },
};

const listen: Op = {
  name: "GET stream",
  async run(base, session) {
    const abort = new AbortController();
    const res = await fetch(`${base}${session.endpoint}`, {
      headers: headers(session, { accept: "text/event-stream" }),
      signal: abort.signal,
    });
    const ok = res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
    if (ok) await res.body?.getReader().read();
    abort.abort();
    return ok ? undefined : `HTTP ${res.status}`;
  },
};

const remove: Op = {
  name: "DELETE",
  async run(base, session) {
    const res = await fetch(`${base}${session.endpoint}`, { method: "DELETE", headers: headers(session) });
    await res.text();
    return res.status === 200 ? undefined : `HTTP ${res.status}`;
  },
};

const echo = call(
  "echo",
  (id) => ({ text: `soak ${id}` }),
  (id) => `soak ${id}`,
);
const add = call(
  "add",
  (id) => ({ a: id, b: 1 }),
  (id) => String(id + 1),
);
const slow = call(
  "slow",
  () => ({ ms: 20 }),
  () => "slept 20 ms",
  true,
);
const log = call(
  "log",
  () => ({ count: 3, text: "soak" }),
  () => "logged 3",
);

/** Everything a session does between initialize and DELETE; repeats weigh the common calls. */
const mix: Op[] = [
  echo,
  echo,
  echo,
  add,
  slow,
  slow,
  log,
  request("tools/list", () => ({}), "tools"),
  request("tools/list", () => ({}), "tools"),
  request("prompts/list", () => ({}), "prompts"),
  request("prompts/get", (s) => ({ name: prefixed(s, "greet"), arguments: { name: "alice" } }), "messages"),
  request("resources/list", () => ({}), "resources"),
  request("resources/read", (s) => ({ uri: resource(s, "mem://soak/readme") }), "contents"),
  request("resources/templates/list", () => ({}), "resourceTemplates"),
  request("completion/complete", (s) => ({
    ref: { type: "ref/prompt", name: prefixed(s, "greet") },
    argument: { name: "name", value: "al" },
  })),
  request("ping"),
  listen,
];

export const OPS = { initialize, initialized, remove, mix };
