/**
 * Shared pieces of the benchmark (`bench/run.ts`, `bench/stack.ts`) and the
 * profiler (`bench/profile.ts`): backend child processes, a workerd's PID,
 * CPU time (nanoseconds from /proc/<pid>/task/<tid>/schedstat, not the 10 ms
 * ticks of /proc/<pid>/stat), RSS and pinning, MCP requests of both protocol
 * eras, the autocannon load loop (at saturation or at a fixed offered rate)
 * with per-request ids and reply checks, and the admin API.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { PROJECT_ROOT } from "../test/helpers/gateway.ts";

/** Checks one reply body against the JSON-RPC id its request carried. */
export type Check = (body: string, id: number) => boolean;

// ---------------------------------------------------------------------------
// processes

export const children: ChildProcess[] = [];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startFastBackend(): Promise<string> {
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", path.join(PROJECT_ROOT, "bench/fast-backend.ts")],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`fast backend exited ${code}`)));
  });
}

/** PIDs of the workerd processes this process started (to find the one a Miniflare just started). */
export function workerdPids(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "workerd") {
        pids.add(Number(entry));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

export function newWorkerd(before: Set<number>): number | null {
  const added = [...workerdPids()].filter((p) => !before.has(p));
  return added.length === 1 ? (added[0] ?? null) : null;
}

function schedNs(pid: number, tid: number | string): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return 0; // The thread ended while we looked.
  }
}

/**
 * On-CPU time of every thread of a process, in ns (the scheduler's own
 * account: exact, where /proc/<pid>/stat counts 10 ms ticks). Threads that
 * ended before the read are not counted, so take deltas over a window.
 */
export function cpuNs(pid: number | null): number {
  if (pid === null) return 0;
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) total += schedNs(pid, tid);
  return total;
}

/**
 * The process's main thread (workerd runs its isolates' JavaScript there):
 * time on a CPU and time runnable but waiting for one, in ns. Their sum over
 * a window's wall time is how much of the window it had work to do: near 1,
 * it was the limit (saturated), whether or not others shared its core.
 */
export function mainThreadNs(pid: number | null): { run: number; wait: number } {
  if (pid === null) return { run: 0, wait: 0 };
  try {
    const [run = "0", wait = "0"] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ");
    return { run: Number(run), wait: Number(wait) };
  } catch {
    return { run: 0, wait: 0 };
  }
}

/** CPU of a process in ms (see `cpuNs`). */
export function cpuMs(pid: number | null): number {
  return cpuNs(pid) / 1e6;
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number | null): number | null {
  if (pid === null) return null;
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * On a machine with 2+ cores, the measured workerds get core 0 and the load
 * generator and backends share the others, so a row's CPU time is not
 * inflated by the processes preempting each other on the same cores (the rows
 * were about ±25% apart between identical runs without it). Only one workerd
 * is driven at a time. `BENCH_PIN=0` turns it off; without `taskset` it does
 * nothing.
 */
export const PINNING = os.cpus().length >= 2 && process.env.BENCH_PIN !== "0";

/** Pins every thread of `pid` to the given CPU list (e.g. "0" or "1-3"); false if not possible. */
export function pinTo(pid: number | null, cpus: string): boolean {
  if (!PINNING || pid === null) return false;
  const result = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
  return result.status === 0;
}

/** The CPUs of everything but the measured workerd ("1" on 2 cores, "1-N" above). */
export function otherCpus(): string {
  const n = os.cpus().length;
  return n > 2 ? `1-${n - 1}` : "1";
}

/** CPU per thread of a process, in ms, keyed by "tid name". */
export function threadCpuMs(pid: number | null): Map<string, number> {
  const out = new Map<string, number>();
  if (pid === null) return out;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      out.set(`${tid} ${name}`, schedNs(pid, tid) / 1e6);
    } catch {
      // The thread ended while we looked.
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// MCP plumbing

export function parseReply(body: string): { id?: unknown; result?: unknown } | null {
  try {
    if (body.startsWith("{")) return JSON.parse(body) as { id?: unknown; result?: unknown };
    const data = body
      .split("\n")
      .filter((l) => l.startsWith("data: ") && l.length > 7)
      .map((l) => JSON.parse(l.slice(6)) as { id?: unknown; result?: unknown; method?: string });
    return data.reverse().find((m) => m.method === undefined) ?? null;
  } catch {
    return null;
  }
}

export const checkResult: Check = (body, id) => {
  const reply = parseReply(body);
  return reply !== null && reply.id === id && reply.result !== undefined;
};

export const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** Opens a 2025-11-25 MCP session at `url`; returns the headers later requests need. */
export async function openSession(url: string, auth: Record<string, string> = {}): Promise<Record<string, string>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...JSON_HEADERS, ...auth },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
    }),
  });
  await res.text();
  if (!res.ok) throw new Error(`initialize at ${url}: HTTP ${res.status}`);
  const session = res.headers.get("mcp-session-id");
  const headers: Record<string, string> = {
    ...JSON_HEADERS,
    ...auth,
    "mcp-protocol-version": "2025-11-25",
    ...(session && { "mcp-session-id": session }),
  };
  const done = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await done.text();
  return headers;
}

export function toolCall(name: string) {
  return (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: { text: `hi ${id}` } },
  });
}

/** MCP 2026-07-28: stateless, so no session; the envelope and the mirrored headers on every request. */
export const MODERN_VERSION = "2026-07-28";

/** The headers of a 2026-07-28 `tools/call` of `tool`. */
export function modernHeaders(tool: string, auth: Record<string, string>): Record<string, string> {
  return {
    ...JSON_HEADERS,
    ...auth,
    "mcp-protocol-version": MODERN_VERSION,
    "mcp-method": "tools/call",
    "mcp-name": tool,
  };
}

/** A 2026-07-28 `tools/call` body: `params._meta` carries the protocol version and client capabilities. */
export function modernToolCall(name: string) {
  return (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: {
      name,
      arguments: { text: `hi ${id}` },
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  });
}

export function toolsList(expected: number): { body: (id: number) => unknown; check: Check } {
  return {
    body: (id) => ({ jsonrpc: "2.0", id, method: "tools/list" }),
    check: (body, id) => {
      const reply = parseReply(body) as { id?: unknown; result?: { tools?: unknown[] } } | null;
      return reply?.id === id && reply.result?.tools?.length === expected;
    },
  };
}

// ---------------------------------------------------------------------------
// load

let nextId = 1;

/** What one load run saw. Latencies in ms. */
export interface LoadResult {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  seconds: number;
}

/**
 * Drives `url` for `seconds` with `connections` connections: as fast as they
 * go (saturation), or at `rate` requests per second in all (a fixed offered
 * load). Every request has its own id and every reply is checked.
 */
export async function load(
  url: string,
  headers: Record<string, string>,
  body: (id: number) => unknown,
  check: Check,
  connections: number,
  seconds: number,
  rate?: number,
): Promise<LoadResult> {
  let errors = 0;
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    ...(rate !== undefined && { overallRate: rate }),
    requests: [
      {
        method: "POST",
        headers,
        setupRequest: (req, context) => {
          const id = nextId++;
          (context as { id?: number }).id = id;
          return { ...req, body: JSON.stringify(body(id)) };
        },
        onResponse: (status, responseBody, context) => {
          if (status !== 200 || !check(responseBody, (context as { id?: number }).id ?? -1)) errors++;
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    errors: errors + result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds: result.duration,
  };
}

// ---------------------------------------------------------------------------
// gateway configuration

export async function admin(
  base: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

/** Like `admin`, but the body is read and anything but `expect` throws. */
export async function adminOk(
  base: string,
  token: string,
  method: string,
  route: string,
  body?: unknown,
  expect = 201,
): Promise<unknown> {
  const res = await admin(base, token, method, route, body);
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${route}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Plugin instances of the built-in kinds (cheap, inspect-or-rewrite kinds, as
 * on a real deployment). With `servers`, plugin `i` applies only to the
 * virtual servers whose plugin count is above `i` (`server_ids` condition),
 * so one gateway serves every `gateway-N` row.
 */
export function pluginSpecs(n: number, servers?: ReadonlyMap<string, number>): Array<Record<string, unknown>> {
  const both = ["tool_pre_invoke", "tool_post_invoke"];
  const kinds: Array<{ kind: string; hooks: string[]; config: Record<string, unknown> }> = [
    { kind: "deny_list", hooks: both, config: { words: ["forbidden-word"] } },
    { kind: "pii_filter", hooks: both, config: { strategy: "mask" } },
    { kind: "payload_size", hooks: both, config: { max_request_bytes: 65536, max_result_bytes: 65536 } },
    { kind: "secrets_detection", hooks: both, config: { action: "block" } },
    { kind: "output_length_guard", hooks: ["tool_post_invoke"], config: { max_chars: 100000, strategy: "truncate" } },
  ];
  return Array.from({ length: n }, (_, i) => {
    const spec = kinds[i % kinds.length] as (typeof kinds)[number];
    const on = servers && [...servers].filter(([, count]) => count > i).map(([name]) => name);
    return {
      name: `bench-${i}`,
      kind: spec.kind,
      mode: "enforce",
      priority: 10 + (i % 3),
      hooks: spec.hooks,
      config: spec.config,
      ...(on && { conditions: [{ server_ids: on }] }),
    };
  });
}
