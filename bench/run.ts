/**
 * `npm run bench` (`BENCH_QUICK=1` for about two minutes): the gateway's cost
 * against the direct call and a naive pass-through Worker, in one run.
 *
 * - The gateway is the production bundle on workerd through Miniflare (no
 *   `wrangler dev` proxy), with local D1, Durable Objects and Queues.
 * - The pass-through is a Worker that forwards body and headers unchanged to
 *   one backend, on its own workerd: the floor this runtime allows.
 * - Backends run as child processes on 127.0.0.1: a minimal fast MCP backend
 *   (bench/fast-backend.ts) and @modelcontextprotocol/server-everything.
 * - Load: autocannon, every request with its own JSON-RPC id, every reply
 *   checked for that id and a result (anything else counts as an error).
 * - CPU per request: user + system time of the serving workerd process from
 *   /proc, divided by the requests it served in the row.
 *
 * Writes bench/results/latest.json (rows) and bench/results/latest.md.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { loadMiniflare, PROJECT_ROOT, startGateway } from "../test/helpers/gateway.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const DURATION_S = QUICK ? 3 : 10;
const WARMUP_S = 1;
const CONNECTIONS = [1, 16] as const;
const RESULTS = path.join(PROJECT_ROOT, "bench/results");

/** One results row. */
interface Row {
  scenario: string;
  connections: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  cpu_ms_per_req: number | null;
  requests: number;
}

type Check = (body: string, id: number) => boolean;

// ---------------------------------------------------------------------------
// processes

const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (address && typeof address === "object" ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function startFastBackend(): Promise<string> {
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

async function startEverything(): Promise<string> {
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
function workerdPids(): Set<number> {
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

function newWorkerd(before: Set<number>): number | null {
  const added = [...workerdPids()].filter((p) => !before.has(p));
  return added.length === 1 ? (added[0] ?? null) : null;
}

/** User + system CPU of a process, in ms (from /proc/<pid>/stat; clock ticks are 10 ms on Linux). */
function cpuMs(pid: number | null): number {
  if (pid === null) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

// ---------------------------------------------------------------------------
// MCP plumbing

function parseReply(body: string): { id?: unknown; result?: unknown } | null {
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

const checkResult: Check = (body, id) => {
  const reply = parseReply(body);
  return reply !== null && reply.id === id && reply.result !== undefined;
};

const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** Opens an MCP session at `url`; returns the headers later requests need. */
async function openSession(url: string, auth: Record<string, string> = {}): Promise<Record<string, string>> {
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

function toolCall(name: string) {
  return (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: { text: `hi ${id}` } },
  });
}

function toolsList(expected: number): { body: (id: number) => unknown; check: Check } {
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

async function load(
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

async function measure(
  scenario: string,
  target: { url: string; headers: Record<string, string>; pid: number | null },
  body: (id: number) => unknown,
  check: Check,
  connections: number,
): Promise<Row> {
  await load(target.url, target.headers, body, check, connections, WARMUP_S);
  const cpuBefore = cpuMs(target.pid);
  const run = await load(target.url, target.headers, body, check, connections, DURATION_S);
  const cpu = cpuMs(target.pid) - cpuBefore;
  const row: Row = {
    scenario,
    connections,
    rps: Math.round(run.requests / run.seconds),
    p50_ms: run.p50,
    p99_ms: run.p99,
    errors: run.errors,
    cpu_ms_per_req: target.pid === null || run.requests === 0 ? null : Number((cpu / run.requests).toFixed(3)),
    requests: run.requests,
  };
  console.log(JSON.stringify(row));
  return row;
}

// ---------------------------------------------------------------------------
// gateway configuration

async function admin(base: string, token: string, method: string, route: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return res;
}

/** Plugin instances of the built-in kinds for `gateway-N` rows (cheap, inspect-or-rewrite kinds). */
function pluginSpecs(n: number): Array<Record<string, unknown>> {
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

async function setPlugins(base: string, token: string, n: number): Promise<boolean> {
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

// ---------------------------------------------------------------------------
// main

function table(rows: Row[]): string {
  const find = (scenario: string, c: number) => rows.find((r) => r.scenario === scenario && r.connections === c);
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? (a / b).toFixed(2) : "n/a");
  const lines = [
    "| scenario | conns | rps | p50 ms | p99 ms | errors | CPU ms/req | rps ÷ passthrough | CPU ÷ passthrough | rps ÷ direct |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const pass = find("passthrough", r.connections);
    const direct = find("direct", r.connections);
    lines.push(
      `| ${r.scenario} | ${r.connections} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${r.cpu_ms_per_req ?? "n/a"} | ${ratio(r.rps, pass?.rps)} | ${ratio(r.cpu_ms_per_req, pass?.cpu_ms_per_req)} | ${ratio(r.rps, direct?.rps)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const [fast, everything] = await Promise.all([startFastBackend(), startEverything()]);

  // The pass-through floor: one Worker on its own workerd, forwarding body and headers unchanged.
  const { Miniflare, convertV4MiniflareOptions } = loadMiniflare();
  const beforePass = workerdPids();
  const passthrough = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: "passthrough",
          modules: true,
          compatibilityDate: "2026-11-01",
          script:
            "export default { fetch(request, env) { return fetch(env.TARGET, { method: request.method, headers: request.headers, body: request.body }); } };",
          bindings: { TARGET: fast },
          unsafeDirectSockets: [{}],
        },
      ],
    }),
  );
  const passUrl = (await passthrough.unsafeGetDirectURL("passthrough")).href;
  const passPid = newWorkerd(beforePass);

  const beforeGateway = workerdPids();
  const gateway = await startGateway({ isolates: 1 });
  const gatewayPid = newWorkerd(beforeGateway);
  const base = gateway.isolateUrls[0] ?? gateway.url;
  const token = gateway.adminToken;
  const auth = { authorization: `Bearer ${token}` };

  try {
    for (const [name, url] of [
      ["fast", fast],
      ["everything", everything],
    ] as const) {
      const res = await admin(base, token, "POST", "/api/backends", { name, url });
      if (res.status !== 201) throw new Error(`register ${name}: HTTP ${res.status} ${await res.text()}`);
    }
    // A virtual server per backend keeps each row's listing and routing to one backend.
    for (const name of ["fast", "everything"]) {
      await (await admin(base, token, "POST", "/api/servers", { name, backends: [name] })).text();
    }

    const direct = { url: fast, headers: await openSession(fast), pid: null };
    const pass = { url: passUrl, headers: await openSession(passUrl), pid: passPid };
    const gw = {
      url: `${base}/servers/fast/mcp`,
      headers: await openSession(`${base}/servers/fast/mcp`, auth),
      pid: gatewayPid,
    };
    for (const c of CONNECTIONS) {
      rows.push(await measure("direct", direct, toolCall("echo"), checkResult, c));
      rows.push(await measure("passthrough", pass, toolCall("echo"), checkResult, c));
    }
    for (const n of [0, 5, 10, 20]) {
      if (!(await setPlugins(base, token, n))) {
        console.error(`gateway-${n}: plugins unavailable, row skipped`);
        continue;
      }
      for (const c of CONNECTIONS) rows.push(await measure(`gateway-${n}`, gw, toolCall("fast__echo"), checkResult, c));
    }
    await setPlugins(base, token, 0);

    // server-everything: a real SDK server (stateful, SSE replies), direct and through the gateway.
    const everyDirect = { url: everything, headers: await openSession(everything), pid: null };
    const everyGw = {
      url: `${base}/servers/everything/mcp`,
      headers: await openSession(`${base}/servers/everything/mcp`, auth),
      pid: gatewayPid,
    };
    rows.push(await measure("everything-direct", everyDirect, toolCall("echo"), checkResult, 16));
    rows.push(await measure("everything-gateway-0", everyGw, toolCall("everything__echo"), checkResult, 16));

    // Cached listings with 10 and 100 registered backends (all the fast backend under other names).
    for (let i = 1; i <= 100; i++) {
      await (await admin(base, token, "POST", "/api/backends", { name: `f${i}`, url: fast })).text();
    }
    for (const [server, count] of [
      ["ten", 10],
      ["hundred", 100],
    ] as const) {
      const backends = Array.from({ length: count }, (_, i) => `f${i + 1}`);
      await (await admin(base, token, "POST", "/api/servers", { name: server, backends })).text();
      const url = `${base}/servers/${server}/mcp`;
      const target = { url, headers: await openSession(url, auth), pid: gatewayPid };
      const listing = toolsList(count);
      // Warm: wait until every backend's catalog is cached.
      for (let attempt = 0; attempt < 60; attempt++) {
        const res = await fetch(url, {
          method: "POST",
          headers: target.headers,
          body: JSON.stringify(listing.body(0)),
        });
        if (listing.check(await res.text(), 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      for (const c of CONNECTIONS)
        rows.push(await measure(`tools-list-${count}`, target, listing.body, listing.check, c));
    }
  } finally {
    await gateway.stop();
    await passthrough.dispose();
    for (const child of children) child.kill();
  }

  const cpu = os.cpus();
  const machine = `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${QUICK ? "quick" : "full"} run (${DURATION_S} s per row)`;
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, "latest.json"), `${JSON.stringify({ machine, rows }, null, 2)}\n`);
  writeFileSync(
    path.join(RESULTS, "latest.md"),
    `# Benchmark results\n\n${machine}. Written by \`npm run bench\` on ${new Date().toISOString()}.\n\n${table(rows)}\n`,
  );
  console.log(`\n${table(rows)}\n\nwrote bench/results/latest.json and latest.md`);
}

main().catch((err: unknown) => {
  console.error(err);
  for (const child of children) child.kill();
  process.exit(1);
});
