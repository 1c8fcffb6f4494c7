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
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadMiniflare, PROJECT_ROOT, startGateway } from "../test/helpers/gateway.ts";
import {
  admin,
  type Check,
  checkResult,
  children,
  cpuMs,
  load,
  newWorkerd,
  openSession,
  otherCpus,
  pinTo,
  setPlugins,
  startEverything,
  startFastBackend,
  toolCall,
  toolsList,
  workerdPids,
} from "./harness.ts";

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
  /** D1 round trips per call on the request path (the isolate's config reads, from /metrics); null off the gateway. */
  d1_queries_per_call: number | null;
  requests: number;
}

/** What a row drives: URL, MCP session headers, the serving workerd's PID, and (gateway only) how to read its D1 count. */
interface Target {
  url: string;
  headers: Record<string, string>;
  pid: number | null;
  d1Reads?: () => Promise<number>;
}

async function measure(
  scenario: string,
  target: Target,
  body: (id: number) => unknown,
  check: Check,
  connections: number,
): Promise<Row> {
  await load(target.url, target.headers, body, check, connections, WARMUP_S);
  const readsBefore = await target.d1Reads?.();
  const cpuBefore = cpuMs(target.pid);
  const run = await load(target.url, target.headers, body, check, connections, DURATION_S);
  const cpu = cpuMs(target.pid) - cpuBefore;
  const readsAfter = await target.d1Reads?.();
  const row: Row = {
    scenario,
    connections,
    rps: Math.round(run.requests / run.seconds),
    p50_ms: run.p50,
    p99_ms: run.p99,
    errors: run.errors,
    cpu_ms_per_req: target.pid === null || run.requests === 0 ? null : Number((cpu / run.requests).toFixed(3)),
    d1_queries_per_call:
      readsBefore === undefined || readsAfter === undefined || run.requests === 0
        ? null
        : Number(((readsAfter - readsBefore) / run.requests).toFixed(4)),
    requests: run.requests,
  };
  console.log(JSON.stringify(row));
  return row;
}

// ---------------------------------------------------------------------------
// main

function table(rows: Row[]): string {
  const find = (scenario: string, c: number) => rows.find((r) => r.scenario === scenario && r.connections === c);
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? (a / b).toFixed(2) : "n/a");
  const lines = [
    "| scenario | conns | rps | p50 ms | p99 ms | errors | CPU ms/req | D1 queries/call | rps ÷ passthrough | CPU ÷ passthrough | rps ÷ direct |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const pass = find("passthrough", r.connections);
    const direct = find("direct", r.connections);
    lines.push(
      `| ${r.scenario} | ${r.connections} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${r.cpu_ms_per_req ?? "n/a"} | ${r.d1_queries_per_call ?? "n/a"} | ${ratio(r.rps, pass?.rps)} | ${ratio(r.cpu_ms_per_req, pass?.cpu_ms_per_req)} | ${ratio(r.rps, direct?.rps)} |`,
    );
  }
  return lines.join("\n");
}

/** The isolate's D1 config reads so far (version checks + loads), from the gateway's /metrics. */
async function d1Reads(base: string, token: string): Promise<number> {
  const text = await (await admin(base, token, "GET", "/metrics")).text();
  let total = 0;
  for (const m of text.matchAll(/^mcpgw_isolate_config_reads_total\{[^}]*\} (\d+)$/gm)) total += Number(m[1]);
  return total;
}

/** A gateway endpoint as a row target: an MCP session on it, its workerd PID and its D1 counter. */
async function gatewayTarget(base: string, token: string, pid: number | null, server: string): Promise<Target> {
  const url = `${base}/servers/${server}/mcp`;
  return {
    url,
    headers: await openSession(url, { authorization: `Bearer ${token}` }),
    pid,
    d1Reads: () => d1Reads(base, token),
  };
}

/**
 * The request path alone: a second gateway without the `SPANS` queue, so its
 * workerd runs no queue broker, consumer or D1 span writes (which a
 * deployment runs off the serving isolate). Same backend, same plugins.
 */
async function requestPathRows(fast: string): Promise<Row[]> {
  const rows: Row[] = [];
  const before = workerdPids();
  const gateway = await startGateway({ isolates: 1, spans: false });
  const pid = newWorkerd(before);
  pinTo(pid, "0");
  const base = gateway.isolateUrls[0] ?? gateway.url;
  try {
    await (await admin(base, gateway.adminToken, "POST", "/api/backends", { name: "fast", url: fast })).text();
    await (await admin(base, gateway.adminToken, "POST", "/api/servers", { name: "fast", backends: ["fast"] })).text();
    const target = await gatewayTarget(base, gateway.adminToken, pid, "fast");
    for (const n of [0, 5]) {
      if (!(await setPlugins(base, gateway.adminToken, n))) continue;
      rows.push(await measure(`gateway-${n}-no-spans`, target, toolCall("fast__echo"), checkResult, 16));
    }
  } finally {
    await gateway.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  // The load generator (this process) and the backends (its children) stay off core 0.
  const pinned = pinTo(process.pid, otherCpus());
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
  pinTo(passPid, "0");

  const beforeGateway = workerdPids();
  const gateway = await startGateway({ isolates: 1 });
  const gatewayPid = newWorkerd(beforeGateway);
  pinTo(gatewayPid, "0");
  const base = gateway.isolateUrls[0] ?? gateway.url;
  const token = gateway.adminToken;

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
    const gw = await gatewayTarget(base, token, gatewayPid, "fast");
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
    const everyGw = await gatewayTarget(base, token, gatewayPid, "everything");
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
      const target = await gatewayTarget(base, token, gatewayPid, server);
      const url = target.url;
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

    await gateway.stop();
    rows.push(...(await requestPathRows(fast)));
  } finally {
    await gateway.stop();
    await passthrough.dispose();
    for (const child of children) child.kill();
  }

  const cpu = os.cpus();
  const machine = `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${QUICK ? "quick" : "full"} run (${DURATION_S} s per row)${pinned ? ", workerd pinned to core 0, load and backends on the others" : ""}`;
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
