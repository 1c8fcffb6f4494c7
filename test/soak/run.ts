/**
 * `npm run soak`: mixed MCP traffic against the production bundle on two
 * isolates for `SOAK_SECONDS` (default 60) at `SOAK_CONNECTIONS` (default
 * 64) concurrent clients, reporting requests, errors, throughput and the
 * serving workerd process's memory (VmRSS from /proc) over the run.
 *
 * Each client runs sessions back to back against `/mcp`, a token-auth
 * virtual server and an `auth: "none"` one, alternating isolates on every
 * request (no affinity): initialize (any of the three protocol versions),
 * `notifications/initialized`, then a random mix of listings, prompts,
 * resources, completion, ping, calls answered in one message and streamed
 * calls (progress, log notifications), a GET stream opened and dropped,
 * and DELETE. Every answer is checked: the right status, and a JSON-RPC
 * result carrying the request's own id (the last message of a stream).
 *
 * Memory: the workerd process's RSS (from /proc) and open descriptors over
 * the run, and each isolate's V8 heap floor early and late (through the
 * inspector, test/soak/heap.ts). The RSS of this local workerd grows with
 * every request even for a Worker that only answers `{}` (about 9 KiB per
 * request, measured): the heap floors are what shows a leak in the gateway.
 *
 * Exit code 1 on any error, or when an isolate's live heap more than triples
 * (and passes 64 MiB). Env for investigations: SOAK_OPS (only these
 * operations, e.g. "GET stream"), SOAK_STEPS (operations per session),
 * SOAK_SPANS=0 (no span queue).
 */
import { readdirSync, readFileSync } from "node:fs";
import { freePort, newWorkerd, workerdPids } from "../../bench/harness.ts";
import { startStatefulBackend } from "../fixtures/backends.ts";
import { startGateway } from "../helpers/gateway.ts";
import { heapUsed, inspectIsolates } from "./heap.ts";
import { OPS, type Op } from "./ops.ts";

const SECONDS = Number(process.env.SOAK_SECONDS) || 60;
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS) || 64;
const VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];
const MiB = 1024 * 1024;
/** SOAK_OPS=name,name: only these operations between initialize and DELETE (e.g. "GET stream"). */
const MIX = process.env.SOAK_OPS ? OPS.mix.filter((op) => process.env.SOAK_OPS?.split(",").includes(op.name)) : OPS.mix;

function rssBytes(pid: number | null): number {
  if (pid === null) return 0;
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/\d+/)?.[0] ?? 0) * 1024;
}

/** Open file descriptors of a process (sockets included): a connection leak shows here. */
function openFds(pid: number | null): number {
  return pid === null ? 0 : readdirSync(`/proc/${pid}/fd`).length;
}

interface Stats {
  requests: number;
  errors: number;
  sessions: number;
  byOp: Map<string, number>;
  samples: string[];
  latencies: number[];
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/** One virtual client: sessions back to back until `deadline`. */
async function client(
  bases: string[],
  endpoints: Array<{ path: string; auth?: string }>,
  deadline: number,
  stats: Stats,
) {
  let turn = Math.floor(Math.random() * bases.length);
  let id = 0;
  const fail = (what: string) => {
    stats.errors += 1;
    if (stats.samples.length < 20) stats.samples.push(what);
  };
  const exchange = async (op: Op, session: Session): Promise<void> => {
    const base = bases[turn++ % bases.length] as string;
    const started = performance.now();
    stats.requests += 1;
    stats.byOp.set(op.name, (stats.byOp.get(op.name) ?? 0) + 1);
    try {
      const problem = await op.run(base, session, ++id);
      if (problem) fail(`${op.name}: ${problem}`);
    } catch (err) {
      fail(`${op.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (stats.latencies.length < 200_000) stats.latencies.push(performance.now() - started);
  };
  while (Date.now() < deadline) {
    const endpoint = pick(endpoints);
    const session: Session = { endpoint: endpoint.path, auth: endpoint.auth, version: pick(VERSIONS), id: undefined };
    await exchange(OPS.initialize, session);
    if (!session.id) continue;
    stats.sessions += 1;
    await exchange(OPS.initialized, session);
    const steps = Number(process.env.SOAK_STEPS) || 5 + Math.floor(Math.random() * 15);
    for (let i = 0; i < steps && Date.now() < deadline; i++) await exchange(pick(MIX), session);
    await exchange(OPS.remove, session);
  }
}

/** What a client knows about its session. */
export interface Session {
  endpoint: string;
  auth: string | undefined;
  version: string;
  id: string | undefined;
}

async function main(): Promise<void> {
  const backend = await startStatefulBackend("soak");
  const before = workerdPids();
  const inspectorPort = await freePort();
  const gateway = await startGateway({ isolates: 2, inspectorPort, spans: process.env.SOAK_SPANS !== "0" });
  const pid = newWorkerd(before);
  try {
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { token?: string };
    };
    await admin("/api/backends", { name: "soak", url: backend.url });
    await admin("/api/servers", { name: "soak-token", backends: ["soak"] });
    await admin("/api/servers", { name: "soak-open", backends: ["soak"], prefix: false, auth: "none" });
    const token = (await admin("/api/tokens", { name: "soak", scopes: ["mcp"] })).token as string;
    const endpoints = [
      { path: "/mcp", auth: `Bearer ${token}` },
      { path: "/servers/soak-token/mcp", auth: `Bearer ${gateway.adminToken}` },
      { path: "/servers/soak-open/mcp" },
    ];
    // Config edits reach every isolate within about a second: wait until both accept the new token.
    for (const base of gateway.isolateUrls) {
      for (const endpoint of endpoints) {
        for (let tries = 0; ; tries++) {
          const probe: Session = {
            endpoint: endpoint.path,
            auth: endpoint.auth,
            version: VERSIONS[0] as string,
            id: undefined,
          };
          if ((await OPS.initialize.run(base, probe, 0)) === undefined) break;
          if (tries > 50) throw new Error(`${base}${endpoint.path} does not accept its credential`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
    const stats: Stats = { requests: 0, errors: 0, sessions: 0, byOp: new Map(), samples: [], latencies: [] };
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    const sample = () => ({ at: (Date.now() - started) / 1000, rss: rssBytes(pid), fds: openFds(pid) });
    const memory = [sample()];
    const sampler = setInterval(() => memory.push(sample()), 1000);
    const isolates = await inspectIsolates(inspectorPort, gateway.workerNames);
    const heaps: Array<{ at: number; used: number[] }> = [];
    const heapSampler = setInterval(() => {
      void heapUsed(isolates).then((used) => heaps.push({ at: (Date.now() - started) / 1000, used }));
    }, 2000);
    process.stdout.write(
      `soak: ${CONNECTIONS} clients for ${SECONDS} s against 2 isolates (workerd pid ${pid ?? "?"})\n`,
    );
    await Promise.all(
      Array.from({ length: CONNECTIONS }, () => client(gateway.isolateUrls, endpoints, deadline, stats)),
    );
    clearInterval(sampler);
    clearInterval(heapSampler);
    memory.push(sample());
    for (const t of isolates) t.close();
    const elapsed = (Date.now() - started) / 1000;
    const warm = memory.find((m) => m.at >= SECONDS / 10) ?? memory[0];
    const end = memory[memory.length - 1];
    const peak = Math.max(...memory.map((m) => m.rss));
    const sorted = [...stats.latencies].sort((a, b) => a - b);
    const pct = (p: number) => (sorted[Math.floor((sorted.length - 1) * p)] ?? 0).toFixed(1);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(
      `requests ${stats.requests}, errors ${stats.errors}, sessions ${stats.sessions}, ${(stats.requests / elapsed).toFixed(0)} rps over ${elapsed.toFixed(1)} s`,
    );
    out(`latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
    out(`by operation: ${[...stats.byOp].map(([k, v]) => `${k} ${v}`).join(", ")}`);
    const mib = (b: number | undefined) => `${((b ?? 0) / MiB).toFixed(1)} MiB`;
    out(
      `workerd RSS: start ${mib(memory[0]?.rss)}, after warm-up ${mib(warm?.rss)}, end ${mib(end?.rss)}, peak ${mib(peak)}`,
    );
    const every = Math.max(1, Math.round(memory.length / 12));
    const trend = memory
      .filter((_, i) => i % every === 0)
      .map((m) => `${m.at.toFixed(0)}s ${(m.rss / MiB).toFixed(0)} MiB/${m.fds} fds`);
    out(`workerd RSS and open descriptors over time: ${trend.join(", ")}`);
    // The heap's floor (what the collector gets back to) early in the run and at its end: live objects.
    const floor = (i: number, from: number, to: number) =>
      Math.min(...heaps.filter((h) => h.at >= from && h.at <= to).map((h) => h.used[i] ?? Number.POSITIVE_INFINITY));
    let leaking = false;
    for (const [i, t] of isolates.entries()) {
      const early = floor(i, SECONDS * 0.1, SECONDS * 0.35);
      const late = floor(i, SECONDS * 0.75, SECONDS + 5);
      out(`isolate ${t.title}: V8 heap floor early ${mib(early)}, late ${mib(late)}`);
      if (late > 3 * early && late > 64 * MiB) leaking = true;
    }
    for (const sample of stats.samples) out(`  error: ${sample}`);
    if (leaking) out("an isolate's live heap more than tripled: a leak");
    process.exitCode = stats.errors > 0 || leaking ? 1 : 0;
  } finally {
    await gateway.stop();
    await backend.close();
  }
}

await main();
