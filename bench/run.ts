/**
 * `npm run bench` (`BENCH_QUICK=1` for under three minutes): the gateway's
 * cost against the direct call and a naive pass-through Worker, in one run.
 *
 * - Every row is measured once per round, and the rounds are interleaved
 *   (A B C … A B C): a burst of load from elsewhere on the machine lands on
 *   one round of every row, not on every round of one row. Each figure is the
 *   median of its rounds with the min–max spread (`stats.ts`).
 * - Each row runs twice per round, at 16 connections: as fast as they go
 *   (saturation; the measured workerd's main-thread utilisation says whether
 *   it, and not the load generator, was the limit) and at one fixed offered
 *   rate every row sustains (`BENCH_RATE`), so CPU per call is compared at
 *   equal load.
 * - CPU per call is the measured workerd's on-CPU time (all threads, from the
 *   scheduler, in ns) over the calls it served. The gateway rows' spans leave
 *   the process for a consumer process, as in production (`stack.ts`); the
 *   consumer's CPU per span is reported on its own, and `+consumer` rows keep
 *   the combined single-process measurement.
 * - RSS of each measured process and its isolate's V8 heap at the end of each
 *   row; D1 queries per call from the isolate's own counter.
 *
 * Environment: `BENCH_QUICK=1`, `BENCH_ROUNDS`, `BENCH_SECONDS`, `BENCH_RATE`
 * (default 300), `BENCH_ROWS` (a regex: only matching rows), `BENCH_PIN=0`,
 * `BENCH_VERSIONS=<label>=<checkout>,…` (adds `<label>/gateway-0` etc. and
 * `new/…`, request-path rows served by each checkout's bundle and this one's,
 * without spans: before/after of several commits in one run). Writes bench/results/latest.json and latest.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../test/helpers/gateway.ts";
import {
  type Check,
  checkResult,
  children,
  cpuNs,
  load,
  mainThreadNs,
  modernHeaders,
  modernToolCall,
  openSession,
  otherCpus,
  pinTo,
  rssBytes,
  startFastBackend,
  toolCall,
  toolsList,
} from "./harness.ts";
import { type Measurement, type RunInfo, report } from "./report.ts";
import {
  type Consumer,
  d1Reads,
  type Proc,
  setupCalls,
  setupListings,
  startConsumer,
  startGatewayProc,
  startPassthrough,
  waitFor,
} from "./stack.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 4));
const WARMUP_S = QUICK ? 0.3 : 1;
const RATE = Number(process.env.BENCH_RATE ?? 300);
const CONNECTIONS = 16;
const FILTER = process.env.BENCH_ROWS ? new RegExp(process.env.BENCH_ROWS) : null;
/**
 * Versions compared in one run (`label=checkout,…`, oldest first; this
 * checkout is added last as `new`): each serves `<label>/gateway-0` etc. from
 * its own bundle without spans, interleaved with the others, so every change's
 * before/after is measured under the same load.
 */
const VERSIONS: Array<[string, string | undefined]> = [
  ...(process.env.BENCH_VERSIONS ?? "")
    .split(",")
    .filter(Boolean)
    .map((v): [string, string] => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]),
  ...(process.env.BENCH_VERSIONS ? [["new", undefined] as [string, undefined]] : []),
];
/** Listing rows: a virtual server over this many of the registered backends. */
const LISTING_SIZES = [10, 100, 500] as const;
/** Registered backends for the listing rows: the configured maximum (LIMITS.backends). */
const LISTING_BACKENDS = 500;
const RESULTS = path.join(PROJECT_ROOT, "bench/results");

/** One row: what is driven, and which process serves it. */
interface Row {
  name: string;
  proc: Proc | null;
  url: string;
  headers: Record<string, string>;
  body: (id: number) => unknown;
  check: Check;
  /** Read the isolate's D1 counter around the row. */
  d1: boolean;
}

const loadAvg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

async function measure(row: Row, mode: "sat" | "fixed", round: number): Promise<Measurement> {
  const rate = mode === "fixed" ? RATE : undefined;
  await load(row.url, row.headers, row.body, row.check, CONNECTIONS, WARMUP_S, rate);
  const pid = row.proc?.pid ?? null;
  const reads0 = row.d1 && row.proc ? await d1Reads(row.proc) : null;
  const t0 = process.hrtime.bigint();
  const cpu0 = cpuNs(pid);
  const main0 = mainThreadNs(pid);
  const run = await load(row.url, row.headers, row.body, row.check, CONNECTIONS, SECONDS, rate);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = cpuNs(pid) - cpu0;
  const main1 = mainThreadNs(pid);
  const reads1 = row.d1 && row.proc ? await d1Reads(row.proc) : null;
  const heap = row.proc ? await row.proc.heap() : null;
  const rss = rssBytes(pid);
  const m: Measurement = {
    row: row.name,
    mode,
    round,
    rps: run.requests / run.seconds,
    p50: run.p50,
    p99: run.p99,
    errors: run.errors,
    requests: run.requests,
    cpuMsPerCall: pid === null || run.requests === 0 ? null : cpu / 1e6 / run.requests,
    mainUtil: pid === null ? null : (main1.run - main0.run) / wallNs,
    mainDemand: pid === null ? null : (main1.run - main0.run + main1.wait - main0.wait) / wallNs,
    d1PerCall: reads0 === null || reads1 === null || run.requests === 0 ? null : (reads1 - reads0) / run.requests,
    rssMiB: rss === null ? null : rss / 2 ** 20,
    heapMiB: heap === null ? null : heap / 2 ** 20,
  };
  console.log(JSON.stringify(m));
  return m;
}

function callRow(name: string, proc: Proc, server: string, headers: Record<string, string>): Row {
  return {
    name,
    proc,
    url: `${proc.base}/servers/${server}/mcp`,
    headers,
    body: toolCall("fast__echo"),
    check: checkResult,
    d1: true,
  };
}

async function sessionRow(name: string, proc: Proc, server: string, token: string): Promise<Row> {
  const url = `${proc.base}/servers/${server}/mcp`;
  return callRow(name, proc, server, await openSession(url, { authorization: `Bearer ${token}` }));
}

function modernRow(name: string, proc: Proc, server: string, token: string): Row {
  return {
    ...callRow(name, proc, server, modernHeaders("fast__echo", { authorization: `Bearer ${token}` })),
    body: modernToolCall("fast__echo"),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = loadAvg();
  // The load generator (this process) and the backend (its child) stay off core 0.
  const pinned = pinTo(process.pid, otherCpus());
  const fast = await startFastBackend();
  const procs: Proc[] = [];
  const up = async <T extends Proc>(p: Promise<T>): Promise<T> => {
    const proc = await p;
    procs.push(proc);
    return proc;
  };
  const want = (name: string) => !FILTER || FILTER.test(name);
  const rows: Row[] = [];
  let consumer: Consumer | null = null;
  const measurements: Measurement[] = [];
  const consumerRounds: RunInfo["consumer"] = [];
  try {
    rows.push({ name: "direct", proc: null, url: fast, headers: await openSession(fast), ...plainCall(), d1: false });
    // Every ratio is taken against the pass-through of the same round: it always runs.
    const pass = await up(startPassthrough(fast));
    rows.push({
      name: "passthrough",
      proc: pass,
      url: pass.base,
      headers: await openSession(pass.base),
      ...plainCall(),
      d1: false,
    });
    if (["gateway-0", "gateway-5", "gateway-10", "gateway-20", "gateway-0-2026"].some(want)) {
      consumer = await up(startConsumer());
      const g = await up(startGatewayProc("gateway", { to: consumer.ingestUrl }));
      const token = await setupCalls(g, fast);
      const gx = want("gateway-0-no-liveness")
        ? await up(
            startGatewayProc(
              "gateway-no-liveness",
              { to: consumer.ingestUrl },
              { BENCH_SKIP_SESSION_LIVENESS: "unsafe-bench-only" },
            ),
          )
        : null;
      const tokenX = gx ? await setupCalls(gx, fast) : "";
      await new Promise((resolve) => setTimeout(resolve, 2500)); // config reaches the isolates
      for (const [name, server] of [
        ["gateway-0", "p0"],
        ["gateway-5", "p5"],
        ["gateway-10", "p10"],
        ["gateway-20", "p20"],
      ] as const) {
        if (want(name)) rows.push(await sessionRow(name, g, server, token));
      }
      if (want("gateway-0-2026")) rows.push(modernRow("gateway-0-2026", g, "p0", token));
      if (gx) rows.push(await sessionRow("gateway-0-no-liveness", gx, "p0", tokenX));
    }
    if (want("+consumer")) {
      const s = await up(startGatewayProc("combined", "local"));
      const token = await setupCalls(s, fast);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      for (const [name, server] of [
        ["gateway-0+consumer", "p0"],
        ["gateway-5+consumer", "p5"],
      ] as const) {
        if (want(name)) rows.push(await sessionRow(name, s, server, token));
      }
    }
    for (const [label, root] of VERSIONS) {
      if (!["gateway-0", "gateway-5", "gateway-0-2026"].some((r) => want(`${label}/${r}`))) continue;
      const p = await up(startGatewayProc(label, "none", {}, root));
      const token = await setupCalls(p, fast);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      for (const [name, server] of [
        ["gateway-0", "p0"],
        ["gateway-5", "p5"],
      ] as const) {
        if (want(`${label}/${name}`)) rows.push(await sessionRow(`${label}/${name}`, p, server, token));
      }
      if (want(`${label}/gateway-0-2026`)) rows.push(modernRow(`${label}/gateway-0-2026`, p, "p0", token));
    }
    if (LISTING_SIZES.some((n) => want(`tools-list-${n}`))) {
      const l = await up(startGatewayProc("listings", { to: consumer?.ingestUrl ?? "" }));
      if (!consumer) throw new Error("listing rows need the span consumer (include a gateway row)");
      await setupListings(l, fast, LISTING_BACKENDS, LISTING_SIZES);
      for (const size of LISTING_SIZES) {
        if (!want(`tools-list-${size}`)) continue;
        const url = `${l.base}/servers/list-${size}/mcp`;
        const headers = await openSession(url, { authorization: `Bearer ${l.adminToken}` });
        const listing = toolsList(size);
        // Warm: every backend's catalog cached in the isolate.
        await waitFor(`tools-list-${size}`, async () => {
          const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(listing.body(0)) });
          return listing.check(await res.text(), 0);
        });
        rows.push({ name: `tools-list-${size}`, proc: l, url, headers, ...listing, d1: false });
      }
    }
    const selected = rows.filter((r) => r.name === "direct" || r.name === "passthrough" || want(r.name));
    console.error(
      `setup took ${((Date.now() - started) / 1000).toFixed(0)} s; rows: ${selected.map((r) => r.name).join(", ")}`,
    );

    for (let round = 1; round <= ROUNDS; round++) {
      const before = consumer && {
        cpu: cpuNs(consumer.pid),
        ...(await consumer.stored()),
        received: await consumer.received(),
      };
      const roundStart = process.hrtime.bigint();
      for (const row of selected) {
        for (const mode of ["sat", "fixed"] as const) measurements.push(await measure(row, mode, round));
      }
      if (consumer && before) {
        const after = { cpu: cpuNs(consumer.pid), ...(await consumer.stored()), received: await consumer.received() };
        consumerRounds.push({
          round,
          cpuMs: (after.cpu - before.cpu) / 1e6,
          consumed: after.consumed - before.consumed,
          stored: after.spans - before.spans,
          received: after.received - before.received,
          seconds: Number(process.hrtime.bigint() - roundStart) / 1e9,
        });
        console.log(JSON.stringify(consumerRounds[consumerRounds.length - 1]));
      }
    }
  } finally {
    for (const p of procs) await p.stop().catch(() => undefined);
    for (const child of children) child.kill();
  }

  const cpu = os.cpus();
  const info: RunInfo = {
    machine: `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    mode: QUICK ? "quick" : "full",
    rounds: ROUNDS,
    seconds: SECONDS,
    rate: RATE,
    connections: CONNECTIONS,
    pinned,
    loadAvg: { start: loadAtStart, end: loadAvg() },
    durationS: Math.round((Date.now() - started) / 1000),
    at: new Date().toISOString(),
    consumer: consumerRounds,
  };
  const md = report(info, measurements);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, "latest.json"), `${JSON.stringify({ info, measurements }, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, "latest.md"), md);
  console.log(`\n${md}\nwrote bench/results/latest.json and latest.md`);
}

/** A plain `echo` call on the fast backend (direct and pass-through rows). */
function plainCall(): { body: (id: number) => unknown; check: Check } {
  return { body: toolCall("echo"), check: checkResult };
}

main().catch((err: unknown) => {
  console.error(err);
  for (const child of children) child.kill();
  process.exit(1);
});
