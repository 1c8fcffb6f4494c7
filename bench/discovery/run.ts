/**
 * `npm run bench:discovery` (`BENCH_QUICK=1` for a shorter run): what search
 * discovery costs and buys on the synthetic catalog (`catalog.ts`) of 1,000
 * and 10,000 tools, on the production bundle on workerd (Miniflare), with
 * the labelled queries of `queries.json`:
 *
 * - `tools/list` size in list mode (every page) vs search mode, in bytes and
 *   approximate tokens (bytes / 4, the usual rule of thumb for English JSON);
 * - recall@5 and MRR of `search_tools` (a query counts when one of its
 *   labelled tools is in the first five results; MRR over the first ten);
 * - CPU per `search_tools` call against the pass-through floor (a Worker that
 *   forwards a tools/call unchanged to a minimal backend, on its own workerd)
 *   and against a gateway tools/call: rounds of load, median and spread;
 * - index build: CPU of a first search on a fresh endpoint (workerd, /proc),
 *   and build time and retained heap of the same index code in Node's V8
 *   (workerd exposes no heap statistics).
 *
 * Writes bench/results/discovery.json and discovery.md.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT, startGateway } from "../../test/helpers/gateway.ts";
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
  parseReply,
  pinTo,
  startFastBackend,
  toolCall,
  workerdPids,
} from "../harness.ts";
import { catalog } from "./catalog.ts";
import { startPassthrough } from "./passthrough.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const ROUNDS = QUICK ? 3 : 5;
const ROUND_S = QUICK ? 2 : 5;
const CONNECTIONS = 16;
const BUILDS = QUICK ? 2 : 4;
const SIZES = [1_000, 10_000] as const;
const RESULTS = path.join(PROJECT_ROOT, "bench/results");
const QUERIES = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "bench/discovery/queries.json"), "utf8")) as Array<{
  query: string;
  tools: string[];
}>;

type Reply = {
  result?: { tools?: unknown[]; nextCursor?: string; structuredContent?: { tools: Array<{ name: string }> } };
};

async function rpc(url: string, headers: Record<string, string>, method: string, params: object = {}): Promise<Reply> {
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return (parseReply(await res.text()) ?? {}) as Reply;
}

async function startCatalogBackend(): Promise<string> {
  const script = path.join(PROJECT_ROOT, "bench/discovery/backend.ts");
  const child = spawn(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", script],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { base: string }).base));
    child.once("exit", (code) => reject(new Error(`catalog backend exited ${code}`)));
  });
}

/** Every page of tools/list: total bytes of the replies and the number of tools. */
async function listing(url: string, headers: Record<string, string>): Promise<{ bytes: number; tools: number }> {
  let bytes = 0;
  let tools = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: cursor ? { cursor } : {} });
    const text = await (await fetch(url, { method: "POST", headers, body })).text();
    bytes += Buffer.byteLength(text);
    const reply = parseReply(text) as Reply | null;
    tools += reply?.result?.tools?.length ?? 0;
    cursor = reply?.result?.nextCursor;
    if (!cursor) break;
  }
  return { bytes, tools };
}

/** recall@5 and MRR (first ten results) of search_tools over the labelled queries. */
async function quality(url: string, headers: Record<string, string>) {
  let hits = 0;
  let rr = 0;
  for (const q of QUERIES) {
    const reply = await rpc(url, headers, "tools/call", {
      name: "search_tools",
      arguments: { query: q.query, limit: 10 },
    });
    const names = (reply.result?.structuredContent?.tools ?? []).map((t) => t.name.slice(t.name.indexOf("__") + 2));
    const rank = names.findIndex((n) => q.tools.includes(n));
    if (rank >= 0 && rank < 5) hits++;
    if (rank >= 0) rr += 1 / (rank + 1);
  }
  return { recall5: hits / QUERIES.length, mrr: rr / QUERIES.length };
}

const searchBody = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "search_tools", arguments: { query: QUERIES[id % QUERIES.length]?.query, limit: 5 } },
});
const searchCheck: Check = (body, id) => {
  const reply = parseReply(body) as (Reply & { id?: unknown }) | null;
  return reply?.id === id && Array.isArray(reply.result?.structuredContent?.tools);
};

interface Spread {
  median: number;
  min: number;
  max: number;
  rps: number;
}

/** CPU ms per request of `pid` over ROUNDS rounds of load: median and spread. */
async function cpuPerCall(
  url: string,
  headers: Record<string, string>,
  pid: number | null,
  body: (id: number) => unknown,
  check: Check,
): Promise<Spread> {
  await load(url, headers, body, check, CONNECTIONS, 1);
  const perCall: number[] = [];
  let rps = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const before = cpuMs(pid);
    const run = await load(url, headers, body, check, CONNECTIONS, ROUND_S);
    if (run.errors > 0) throw new Error(`${url}: ${run.errors} failed requests`);
    perCall.push((cpuMs(pid) - before) / run.requests);
    rps += run.requests / run.seconds / ROUNDS;
  }
  perCall.sort((a, b) => a - b);
  const round = (n: number) => Number(n.toFixed(3));
  return {
    median: round(perCall[Math.floor(perCall.length / 2)] ?? 0),
    min: round(perCall[0] ?? 0),
    max: round(perCall.at(-1) ?? 0),
    rps: Math.round(rps),
  };
}

function rssKb(pid: number | null): number {
  if (pid === null) return 0;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}

/** The index code in Node's V8 (bundled with the esbuild wrangler ships): build time and retained heap at `size`. */
async function nodeIndex(size: number): Promise<{ buildMs: number[]; heapMb: number } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const out = path.join(os.tmpdir(), `tool-index-${process.pid}.mjs`);
  const esbuild = path.join(PROJECT_ROOT, "node_modules/.bin/esbuild");
  const src = path.join(PROJECT_ROOT, "src/core/discovery/tool-index.ts");
  const built = spawnSync(esbuild, [
    src,
    "--bundle",
    "--format=esm",
    "--platform=neutral",
    "--main-fields=module,main",
    `--outfile=${out}`,
  ]);
  if (built.status !== 0 || !gc) return null;
  const { ToolIndex, toolDocuments } = (await import(out)) as {
    ToolIndex: new (docs: unknown[]) => unknown;
    toolDocuments: (entries: unknown[]) => unknown[];
  };
  const entries = [...catalog(size)].flatMap(([backend, tools]) =>
    tools.map((t) => ({ backend, original: t.name, item: { ...t, name: `${backend}__${t.name}` } })),
  );
  const documents = toolDocuments(entries);
  const buildMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    new ToolIndex(documents);
    buildMs.push(performance.now() - t0);
  }
  // Retained: V8 heap plus the typed arrays' buffers, per index, over four kept indexes (documents shared).
  const used = () => {
    for (let i = 0; i < 3; i++) gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const kept = [0, 1, 2, 3].map(() => new ToolIndex(documents));
  const heapMb = (used() - before) / kept.length / 2 ** 20;
  return { buildMs: buildMs.sort((a, b) => a - b), heapMb };
}

async function main(): Promise<void> {
  const pinned = pinTo(process.pid, otherCpus());
  const [base, fast] = await Promise.all([startCatalogBackend(), startFastBackend()]);
  const pass = await startPassthrough(fast);
  pinTo(pass.pid, "0");
  const before = workerdPids();
  const gateway = await startGateway({ isolates: 1, spans: false });
  const pid = newWorkerd(before);
  pinTo(pid, "0");
  const gw = gateway.isolateUrls[0] ?? gateway.url;
  const token = gateway.adminToken;
  const auth = { authorization: `Bearer ${token}` };
  const post = async (route: string, body: unknown) => {
    const res = await admin(gw, token, "POST", route, body);
    if (res.status !== 201) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
  };
  const rows: Array<Record<string, unknown>> = [];
  try {
    const backends = [...catalog(10_000).keys()];
    for (const name of backends) await post("/api/backends", { name, url: `${base}/${name}/mcp` });
    await post("/api/backends", { name: "fast", url: fast });
    await post("/api/servers", { name: "fast", backends: ["fast"] });
    for (const size of SIZES) {
      const names = backends.slice(0, size / 100);
      await post("/api/servers", { name: `list-${size}`, backends: names });
      await post("/api/servers", { name: `search-${size}`, backends: names, discovery: "search" });
    }
    const passHeaders = await openSession(pass.url);
    const floor = await cpuPerCall(pass.url, passHeaders, pass.pid, toolCall("echo"), checkResult);
    const fastUrl = `${gw}/servers/fast/mcp`;
    const gatewayCall = await cpuPerCall(
      fastUrl,
      await openSession(fastUrl, auth),
      pid,
      toolCall("fast__echo"),
      checkResult,
    );
    console.log(JSON.stringify({ floor, gatewayCall }));

    for (const size of SIZES) {
      const listUrl = `${gw}/servers/list-${size}/mcp`;
      const searchUrl = `${gw}/servers/search-${size}/mcp`;
      const listHeaders = await openSession(listUrl, auth);
      const searchHeaders = await openSession(searchUrl, auth);
      let list = await listing(listUrl, listHeaders);
      for (let i = 0; i < 120 && list.tools < size; i++) {
        await new Promise((r) => setTimeout(r, 500));
        list = await listing(listUrl, listHeaders);
      }
      if (list.tools !== size) throw new Error(`list-${size}: ${list.tools} tools listed`);
      const search = await listing(searchUrl, searchHeaders);
      const q = await quality(searchUrl, searchHeaders);
      const cpu = await cpuPerCall(searchUrl, searchHeaders, pid, searchBody, searchCheck);
      const row = { size, listBytes: list.bytes, searchBytes: search.bytes, ...q, cpu };
      console.log(JSON.stringify(row));
      rows.push(row);
    }

    // Index builds at 10,000 tools: fresh endpoints over the same catalogs, first search on each.
    const builds: number[] = [];
    const rssBefore = rssKb(pid);
    for (let i = 0; i < BUILDS; i++) {
      const name = `build-${i}`;
      await post("/api/servers", { name, backends, discovery: "search" });
      const url = `${gw}/servers/${name}/mcp`;
      const headers = await openSession(url, auth);
      // The view (merging 10,000 tools) is built by describe_tools; the search after it builds only the index.
      await rpc(url, headers, "tools/call", {
        name: "describe_tools",
        arguments: { names: ["suite-001__github_create_issue"] },
      });
      const cpu0 = cpuMs(pid);
      await rpc(url, headers, "tools/call", { name: "search_tools", arguments: { query: "open a pull request" } });
      builds.push(cpuMs(pid) - cpu0);
    }
    const rssPerIndexMb = (rssKb(pid) - rssBefore) / BUILDS / 1024;
    const node = await nodeIndex(10_000);
    const build = { workerdCpuMs: builds.sort((a, b) => a - b), rssPerIndexMb: Number(rssPerIndexMb.toFixed(1)), node };
    console.log(JSON.stringify(build));
    write({ floor, gatewayCall, rows, build, pinned });
  } finally {
    await gateway.stop();
    await pass.stop();
    for (const child of children) child.kill();
  }
}

function write(r: {
  floor: Spread;
  gatewayCall: Spread;
  rows: Array<Record<string, unknown>>;
  build: { workerdCpuMs: number[]; rssPerIndexMb: number; node: { buildMs: number[]; heapMb: number } | null };
  pinned: boolean;
}): void {
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, Node ${process.version}, ${QUICK ? "quick" : "full"} run (${ROUNDS} rounds × ${ROUND_S} s, ${CONNECTIONS} connections)${r.pinned ? ", workerd pinned to core 0" : ""}`;
  const spread = (s: Spread) => `${s.median} (${s.min}–${s.max})`;
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const tokens = (b: number) => `~${Math.round(b / 4).toLocaleString("en")}`;
  const lines = [
    `| tools | tools/list, list mode | tools/list, search mode | recall@5 | MRR | CPU ms per search_tools (median, min–max) | ÷ pass-through floor | ÷ gateway tools/call |`,
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of r.rows) {
    const cpu = row.cpu as Spread;
    lines.push(
      `| ${Number(row.size).toLocaleString("en")} | ${kb(row.listBytes as number)} (${tokens(row.listBytes as number)} tokens) | ${kb(row.searchBytes as number)} (${tokens(row.searchBytes as number)} tokens) | ${(row.recall5 as number).toFixed(3)} | ${(row.mrr as number).toFixed(3)} | ${spread(cpu)} | ${(cpu.median / r.floor.median).toFixed(2)} | ${(cpu.median / r.gatewayCall.median).toFixed(2)} |`,
    );
  }
  const b = r.build;
  const node = b.node
    ? `Node V8: build ${b.node.buildMs.map((m) => m.toFixed(0)).join(", ")} ms (5 runs, sorted), retained ${b.node.heapMb.toFixed(1)} MiB per index (heap and typed arrays, without its documents)`
    : "Node V8: not measured (run through npm so --expose-gc is set)";
  const text = [
    `${machine}. Written by \`npm run bench:discovery\` on ${new Date().toISOString()}. ${QUERIES.length} labelled queries.`,
    "",
    lines.join("\n"),
    "",
    `Pass-through floor: ${spread(r.floor)} CPU ms per tools/call (${r.floor.rps} rps); gateway tools/call (list mode, no plugins): ${spread(r.gatewayCall)} (${r.gatewayCall.rps} rps).`,
    "",
    `Index build at 10,000 tools: workerd CPU of a first search on a fresh endpoint ${b.workerdCpuMs.join(", ")} ms (sorted; /proc ticks are 10 ms); workerd RSS growth ${b.rssPerIndexMb} MiB per index (upper bound: includes garbage not yet collected); ${node}.`,
  ].join("\n");
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, "discovery.json"), `${JSON.stringify({ machine, ...r }, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, "discovery.md"), `# Discovery benchmark\n\n${text}\n`);
  console.log(`\n${text}\n\nwrote bench/results/discovery.json and discovery.md`);
}

main().catch((err: unknown) => {
  console.error(err);
  for (const child of children) child.kill();
  process.exit(1);
});
