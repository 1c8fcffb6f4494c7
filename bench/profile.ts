/**
 * `npm run bench:profile`: a V8 CPU profile of the gateway's workerd isolate
 * under load, to find what a benchmark row spends its CPU on.
 *
 * Starts the fast backend and the production bundle on workerd (Miniflare with
 * workerd's inspector open), configures it as the benchmark's call rows are
 * (`stack.ts`: an API token, servers p0/p5/p10/p20), then records a profile
 * through the Chrome DevTools Protocol while autocannon drives `tools/call`
 * on the server with `PROFILE_PLUGINS` plugins (0, 5, 10 or 20; default 5,
 * the `gateway-5` row's) at 16 connections for `PROFILE_SECONDS` (default
 * 5), in a 2025 session or as a 2026-07-28 client (`PROFILE_ERA=2026`);
 * `PROFILE_LISTING=10|100|500` profiles the `tools-list-N` row instead.
 *
 * Writes bench/results/profile.cpuprofile (open it in Chrome DevTools or
 * speedscope) and prints the functions with the most self time, and the
 * total time under each of the gateway's own source files. `PROFILE_CDP=0`
 * only measures CPU per request, without the profiler's own overhead;
 * `PROFILE_SPANS=0` leaves the span queue unbound (request path only).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT, startGateway } from "../test/helpers/gateway.ts";
import {
  type Check,
  checkResult,
  children,
  cpuMs,
  freePort,
  load,
  modernHeaders,
  modernToolCall,
  newWorkerd,
  openSession,
  otherCpus,
  pinTo,
  startFastBackend,
  threadCpuMs,
  toolCall,
  toolsList,
  workerdPids,
} from "./harness.ts";
import { PLUGIN_SERVERS, type Proc, setupCalls, setupListings, waitFor } from "./stack.ts";

const PLUGINS = Number.parseInt(process.env.PROFILE_PLUGINS ?? "5", 10);
const SECONDS = Number.parseInt(process.env.PROFILE_SECONDS ?? "5", 10);
const CONNECTIONS = Number.parseInt(process.env.PROFILE_CONNECTIONS ?? "16", 10);
/** PROFILE_CDP=0 measures CPU per request without the profiler attached (it slows the isolate down). */
const PROFILE = process.env.PROFILE_CDP !== "0";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The `tools-list-N` row instead of a call: a cached listing over N of 500 registered backends. */
const LISTING = process.env.PROFILE_LISTING ? Number.parseInt(process.env.PROFILE_LISTING, 10) : 0;
const LISTING_BACKENDS = 500;

interface Target {
  url: string;
  headers: Record<string, string>;
  body: (id: number) => unknown;
  check: Check;
}

/** The call rows' target: `fast__echo` in a 2025 session, or as a 2026-07-28 client (`PROFILE_ERA=2026`). */
async function callTarget(url: string, auth: Record<string, string>): Promise<Target> {
  const modern = process.env.PROFILE_ERA === "2026";
  const headers = modern ? modernHeaders("fast__echo", auth) : await openSession(url, auth);
  return { url, headers, body: modern ? modernToolCall("fast__echo") : toolCall("fast__echo"), check: checkResult };
}

/** The listing row's target, as `npm run bench` sets it up, warmed until every backend's catalog is cached. */
async function listingTarget(proc: Proc, fast: string): Promise<Target> {
  if (![10, 100, 500].includes(LISTING)) throw new Error("PROFILE_LISTING must be one of 10, 100, 500");
  await setupListings(proc, fast, LISTING_BACKENDS, [LISTING]);
  const url = `${proc.base}/servers/list-${LISTING}/mcp`;
  const headers = await openSession(url, { authorization: `Bearer ${proc.adminToken}` });
  const listing = toolsList(LISTING);
  await waitFor(`tools-list-${LISTING}`, async () => {
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(listing.body(0)) });
    return listing.check(await res.text(), 0);
  });
  return { url, headers, ...listing };
}

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function connect(port: number): Promise<{ send: (method: string, params?: unknown) => Promise<unknown> }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    id: string;
    title?: string;
    webSocketDebuggerUrl?: string;
  }>;
  // The gateway worker's target (Miniflare also runs its own internal workers).
  const target = targets.find((t) => t.webSocketDebuggerUrl && /gateway|mcp/i.test(t.title ?? t.id)) ?? targets[0];
  if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target: ${JSON.stringify(targets)}`);
  console.error(`profiling inspector target ${target.title ?? target.id}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("inspector websocket failed")), { once: true });
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return;
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) waiter?.reject(new Error(msg.error.message));
    else waiter?.resolve(msg.result);
  });
  return {
    send: (method, params) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
  };
}

/**
 * Where a request's CPU goes, by cost: each sample is attributed to the
 * nearest function on its stack that one of these lists names (the bundle's
 * function names), else to "other gateway code" or the runtime. Async
 * continuations start a fresh stack, so a middleware counts only its own
 * synchronous part. The README's cost tables come from this.
 */
const COSTS: Array<[string, string[]]> = [
  ["session liveness RPC to the SessionDO", ["assertLive"]],
  ["upstream POST: the backend's headers, fetch", ["postMessage", "upstreamHeaders", "modernRequest"]],
  ["client body: read, JSON.parse", ["readBody"]],
  ["the call's idle deadline", ["idleAbort"]],
  ["the response (JSON text written)", ["outcomeResponse", "jsonReply", "single"]],
  [
    "the backend's reply read (and parsed)",
    ["readReplyText", "readBoundedText", "readReply", "replyFromText", "passable"],
  ],
  ["era reshaping of the result", ["result", "forClient", "toClient"]],
  ["spans on the request path", ["SpanRecorder", "mcpSpanMiddleware", "flush", "open", "start", "end", "requestTrace"]],
  [
    "Hono routing, auth, config, Host/Origin checks",
    ["dispatch2", "#dispatch", "match2", "mcpAuthMiddleware", "loadConfigMiddleware", "callerChecksMiddleware"]
      .concat(["checkOrigin", "gatewayOrigin", "originOf", "authenticateCaller", "authenticateCached", "bearerSecret"])
      .concat(["resolveEndpoint2", "header", "getPath", "fetch"]),
  ],
  [
    "tool routing, plugin chain, upstream session, breaker",
    ["callTool2", "forwardNamed", "beforeCall", "matchTarget", "select", "chainFor", "admitCall", "admit", "report"]
      .concat(["done", "openSession2", "entry", "entryFor", "sendUpstream", "attempt", "callReferences", "backendTool"])
      .concat(["catalogs", "backendEra", "federatedView"]),
  ],
  [
    "rest of the MCP handler (era, session, context)",
    ["post", "mcpContext", "session", "handleMessage", "classifyEra"],
  ],
];

/** µs per request by cost (`COSTS`), with the profiler attached. */
function costs(profile: Profile, requests: number): string {
  const byName = new Map(COSTS.flatMap(([cost, names]) => names.map((n) => [n, cost] as const)));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const leaf = byId.get(id)?.callFrame;
    if (!leaf || leaf.functionName === "(idle)") return;
    let cost: string | undefined =
      leaf.functionName === "(garbage collector)"
        ? "garbage collection"
        : leaf.functionName === "(program)"
          ? "(program): runtime work outside JavaScript"
          : undefined;
    for (let cur: number | undefined = id; !cost && cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (f?.url === "" && f.functionName === "fetch") cost = "upstream POST: the backend's headers, fetch";
      else if (f?.url === "index.js") cost = byName.get(f.functionName);
    }
    cost ??= leaf.url === "index.js" ? "other gateway code" : "runtime internals not attributed to a function";
    totals.set(cost, (totals.get(cost) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals.entries(), ["total (profiler attached)", all] as const]
    .sort((a, b) => b[1] - a[1])
    .map(([cost, us]) => `${(us / requests).toFixed(0).padStart(6)} µs/request  ${cost}`)
    .join("\n");
}

/** Self time per function and inclusive time per gateway source file, in ms. */
function summarize(profile: Profile): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);

  const selfByFn = new Map<string, number>();
  const inclusiveByFile = new Map<string, number>();
  const inclusiveByFn = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${path.basename(f.url) || ""}:${f.lineNumber + 1}`;
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + ms);
    // Inclusive per file: count each sample once per distinct file on its stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      const url = frame?.url ?? "";
      if (url && !seen.has(url)) {
        seen.add(url);
        inclusiveByFile.set(url, (inclusiveByFile.get(url) ?? 0) + ms);
      }
      const fn = frame && `${frame.functionName || "(anonymous)"} ${path.basename(url)}:${frame.lineNumber + 1}`;
      if (fn && url && !seen.has(fn)) {
        seen.add(fn);
        inclusiveByFn.set(fn, (inclusiveByFn.get(fn) ?? 0) + ms);
      }
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${v.toFixed(1).padStart(8)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join("\n");
  return `sampled ${total.toFixed(0)} ms\n\nself time, top 40:\n${top(selfByFn, 40)}\n\ninclusive by script:\n${top(inclusiveByFile, 15)}\n\ninclusive by function, top 60:\n${top(inclusiveByFn, 60)}`;
}

async function main(): Promise<void> {
  pinTo(process.pid, otherCpus());
  const fast = await startFastBackend();
  const inspectorPort = await freePort();
  const before = workerdPids();
  const gateway = await startGateway({ isolates: 1, inspectorPort, spans: process.env.PROFILE_SPANS !== "0" });
  const pid = newWorkerd(before);
  pinTo(pid, "0");
  const base = gateway.isolateUrls[0] ?? gateway.url;
  try {
    // The benchmark's configuration (an API token; plugins conditioned on servers p0, p5, p10, p20).
    const proc = {
      name: "gateway",
      base,
      pid,
      adminToken: gateway.adminToken,
      heap: async () => null,
      stop: gateway.stop,
    };
    const token = await setupCalls(proc, fast);
    if (!PLUGIN_SERVERS.has(`p${PLUGINS}`)) throw new Error(`PROFILE_PLUGINS must be one of 0, 5, 10, 20`);
    const { url, headers, body, check } = LISTING
      ? await listingTarget(proc, fast)
      : await callTarget(`${base}/servers/p${PLUGINS}/mcp`, { authorization: `Bearer ${token}` });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await load(url, headers, body, check, CONNECTIONS, 2);

    const cdp = PROFILE ? await connect(inspectorPort) : null;
    await cdp?.send("Profiler.enable");
    await cdp?.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp?.send("Profiler.start");
    const cpuBefore = cpuMs(pid);
    const threadsBefore = threadCpuMs(pid);
    const run = await load(url, headers, body, check, CONNECTIONS, SECONDS);
    const cpu = cpuMs(pid) - cpuBefore;
    const threads = [...threadCpuMs(pid)]
      .map(([thread, ms]) => [thread, ms - (threadsBefore.get(thread) ?? 0)] as const)
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1]);
    console.log(
      `${run.requests} requests, ${run.errors} errors, ${(run.requests / run.seconds).toFixed(0)} rps, ` +
        `workerd CPU ${(cpu / run.requests).toFixed(3)} ms/req (${LISTING ? `tools-list-${LISTING}` : `plugins: ${PLUGINS}`}, connections: ${CONNECTIONS})`,
    );
    console.log(`workerd threads (CPU ms): ${threads.map(([t, ms]) => `${t}=${ms}`).join(", ")}`);
    if (!cdp) return;
    const { profile } = (await cdp.send("Profiler.stop")) as { profile: Profile };

    const out = path.join(PROJECT_ROOT, "bench/results/profile.cpuprofile");
    writeFileSync(out, JSON.stringify(profile));
    const summary = `${summarize(profile)}\n\nby cost:\n${costs(profile, run.requests)}`;
    writeFileSync(path.join(PROJECT_ROOT, "bench/results/profile-summary.txt"), summary);
    console.log(summary);
    console.log(`\nwrote ${path.relative(PROJECT_ROOT, out)}`);
  } finally {
    await gateway.stop();
    for (const child of children) child.kill();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  for (const child of children) child.kill();
  process.exit(1);
});
