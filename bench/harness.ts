/**
 * Shared pieces of the benchmark (`bench/run.ts`) and the profiler
 * (`bench/profile.ts`): backend child processes, the serving workerd's PID and
 * CPU time, MCP session setup, the autocannon load loop with per-request ids
 * and reply checks, and gateway configuration through the admin API.
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
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`fast backend exited ${code}`)));
  });
}

export async function startEverything(): Promise<string> {
  const port = await freePort();
  const entry = path.join(PROJECT_ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
  const child = spawn(process.execPath, [entry, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server-everything exited ${code}`)));
  });
  return `http://127.0.0.1:${port}/mcp`;
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

/** User + system CPU of a process, in ms (from /proc/<pid>/stat; clock ticks are 10 ms on Linux). */
export function cpuMs(pid: number | null): number {
  if (pid === null) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * On a machine with 2+ cores, the measured workerd gets core 0 to itself and
 * the load generator and backends share the others, so a row's CPU time is
 * not inflated by the three processes preempting each other on the same
 * cores (the rows were about ±25% apart between identical runs without it).
 * `BENCH_PIN=0` turns it off; without `taskset` it does nothing.
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

/** User + system CPU per thread of a process, in ms, keyed by "tid name". */
export function threadCpuMs(pid: number | null): Map<string, number> {
  const out = new Map<string, number>();
  if (pid === null) return out;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(`${tid} ${name}`, (Number(fields[11]) + Number(fields[12])) * 10);
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

/** Opens an MCP session at `url`; returns the headers later requests need. */
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

export async function load(
  url: string,
  headers: Record<string, string>,
  body: (id: number) => unknown,
  check: Check,
  connections: number,
  seconds: number,
): Promise<{ requests: number; errors: number; p50: number; p99: number; seconds: number }> {
  let errors = 0;
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
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
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return res;
}

/** Plugin instances of the built-in kinds for `gateway-N` rows (cheap, inspect-or-rewrite kinds). */
export function pluginSpecs(n: number): Array<Record<string, unknown>> {
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
    return {
      name: `bench-${i}`,
      kind: spec.kind,
      mode: "enforce",
      priority: 10 + (i % 3),
      hooks: spec.hooks,
      config: spec.config,
    };
  });
}

export async function setPlugins(base: string, token: string, n: number): Promise<boolean> {
  const existing = await admin(base, token, "GET", "/api/plugins");
  if (existing.status === 404) return n === 0;
  for (const p of (await existing.json()) as Array<{ name: string }>) {
    await (await admin(base, token, "DELETE", `/api/plugins/${p.name}`)).text();
  }
  for (const spec of pluginSpecs(n)) {
    const res = await admin(base, token, "POST", "/api/plugins", spec);
    if (res.status !== 201) {
      console.error(`plugin ${spec.name}: HTTP ${res.status} ${await res.text()}`);
      return false;
    }
    await res.text();
  }
  // Let the isolate's config cache pick up the new version.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return true;
}
