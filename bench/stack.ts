/**
 * The processes a benchmark run measures, each its own workerd pinned to the
 * measured core (only one is driven at a time):
 *
 * - `passthrough`: a Worker forwarding body and headers unchanged to the
 *   fast backend, the floor this runtime allows;
 * - gateways (the production bundle through Miniflare, as in the e2e tests)
 *   whose spans leave the process the way production's do: the `SPANS`
 *   binding is a small in-process forwarder whose `sendBatch` POSTs the batch
 *   to the span consumer's process (one RPC and one subrequest per linger
 *   window, as a queue send costs the isolate);
 * - `consumer`: a gateway that serves nothing and consumes those spans: an
 *   ingest Worker puts each batch on its local queue, the gateway's queue
 *   handler writes them to its D1. Its CPU per span is the consumer's cost on
 *   its own (with the local queue broker and D1's SQLite, which run in the
 *   same workerd; in production neither is the consumer's isolate);
 * - a gateway with its local queue and consumer in the same process (the
 *   combined rows, as every earlier run measured `gateway-N`).
 *
 * Each process has workerd's inspector open, to read the isolate's V8 heap.
 */
import { loadMiniflare, startGateway } from "../test/helpers/gateway.ts";
import { heapUsed, inspectIsolates } from "../test/soak/heap.ts";
import { admin, adminOk, freePort, newWorkerd, otherCpus, pinTo, pluginSpecs, workerdPids } from "./harness.ts";

/** One measured workerd. */
export interface Proc {
  name: string;
  /** Base URL (no trailing slash). */
  base: string;
  pid: number | null;
  adminToken: string;
  /** The serving isolate's used V8 heap, in bytes (null when the inspector did not answer). */
  heap(): Promise<number | null>;
  stop(): Promise<void>;
}

const COMPATIBILITY_DATE = "2026-11-01";

/** The span forwarder inside a measured gateway's workerd: its `sendBatch` is what the `SPANS` binding does. */
const FORWARDER = `import { WorkerEntrypoint } from "cloudflare:workers";
export class Forwarder extends WorkerEntrypoint {
  async sendBatch(messages) {
    const res = await fetch(this.env.INGEST, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(messages) });
    await res.arrayBuffer();
    if (!res.ok) throw new Error("span ingest answered " + res.status);
  }
}
export default { fetch() { return new Response(null, { status: 404 }); } };`;

/** The consumer process's ingest: batches onto the local queue; GET tells how many spans came in. */
const INGEST = `let spans = 0;
let messages = 0;
export default {
  async fetch(request, env) {
    if (request.method === "GET") return Response.json({ spans, messages });
    const batch = await request.json();
    for (const m of batch) spans += Array.isArray(m.body && m.body.spans) ? m.body.spans.length : 1;
    messages += batch.length;
    await env.SPANS.sendBatch(batch);
    return new Response(null, { status: 204 });
  },
};`;

async function inspector(port: number, worker: string): Promise<() => Promise<number | null>> {
  try {
    const targets = await inspectIsolates(port, [worker]);
    return async () => {
      try {
        return (await heapUsed(targets))[0] ?? null;
      } catch {
        return null;
      }
    };
  } catch {
    return async () => null;
  }
}

/** The naive pass-through Worker on its own workerd. */
export async function startPassthrough(target: string): Promise<Proc> {
  const { Miniflare, convertV4MiniflareOptions } = loadMiniflare();
  const before = workerdPids();
  const inspectorPort = await freePort();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      inspectorPort,
      workers: [
        {
          name: "passthrough",
          modules: true,
          compatibilityDate: COMPATIBILITY_DATE,
          script:
            "export default { fetch(request, env) { return fetch(env.TARGET, { method: request.method, headers: request.headers, body: request.body }); } };",
          bindings: { TARGET: target },
          unsafeDirectSockets: [{}],
        },
      ],
    }),
  );
  const url = await mf.unsafeGetDirectURL("passthrough");
  const pid = newWorkerd(before);
  pinTo(pid, "0");
  return {
    name: "passthrough",
    base: url.origin,
    pid,
    adminToken: "",
    heap: await inspector(inspectorPort, "passthrough"),
    stop: () => mf.dispose(),
  };
}

/** How a gateway's spans travel: to a consumer process, to its own local queue, or nowhere. */
export type SpanRoute = { to: string } | "local" | "none";

/** A gateway process (the production bundle). */
export async function startGatewayProc(
  name: string,
  spans: SpanRoute,
  vars: Record<string, string> = {},
  root?: string,
): Promise<Proc> {
  const before = workerdPids();
  const inspectorPort = await freePort();
  const helper = root
    ? ((await import(`${root}/test/helpers/gateway.ts`)) as { startGateway: typeof startGateway })
    : null;
  const start = helper?.startGateway ?? startGateway;
  const gateway = await start({
    isolates: 1,
    inspectorPort,
    vars,
    spans: spans === "local",
    ...(typeof spans === "object" && {
      customize: (first) => {
        first.serviceBindings = {
          ...(first.serviceBindings as object),
          SPANS: { name: "span-forwarder", entrypoint: "Forwarder" },
        };
        return [
          {
            name: "span-forwarder",
            modules: true,
            compatibilityDate: COMPATIBILITY_DATE,
            script: FORWARDER,
            bindings: { INGEST: spans.to },
          },
        ];
      },
    }),
  });
  const pid = newWorkerd(before);
  pinTo(pid, "0");
  return {
    name,
    base: gateway.isolateUrls[0] ?? gateway.url,
    pid,
    adminToken: gateway.adminToken,
    heap: await inspector(inspectorPort, gateway.workerNames[0] ?? ""),
    stop: () => gateway.stop(),
  };
}

/** The span consumer's process: what it received, and what it stored. */
export interface Consumer extends Proc {
  ingestUrl: string;
  /** Spans received so far. */
  received(): Promise<number>;
  /** Spans stored in its D1, and spans consumed (every span its rollups counted, stored or not). */
  stored(): Promise<{ spans: number; consumed: number }>;
}

export async function startConsumer(): Promise<Consumer> {
  const before = workerdPids();
  let queue: unknown;
  const gateway = await startGateway({
    isolates: 1,
    customize: (first) => {
      queue = (first.queueProducers as Record<string, unknown>).SPANS;
      return [
        {
          name: "span-ingest",
          modules: true,
          compatibilityDate: COMPATIBILITY_DATE,
          script: INGEST,
          queueProducers: { SPANS: queue },
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
      ];
    },
  });
  const pid = newWorkerd(before);
  // Off the measured core: in production the consumer never runs beside the serving isolate.
  pinTo(pid, otherCpus());
  const ingestUrl = (await gateway.miniflare.unsafeGetDirectURL("span-ingest")).href;
  const db = await gateway.miniflare.getD1Database("DB");
  return {
    name: "consumer",
    base: gateway.url,
    pid,
    adminToken: gateway.adminToken,
    heap: async () => null,
    stop: () => gateway.stop(),
    ingestUrl,
    received: async () => ((await (await fetch(ingestUrl)).json()) as { spans: number }).spans,
    stored: async () => {
      const spans = await db.prepare("SELECT count(*) AS n FROM spans").first<{ n: number }>();
      const counted = await db
        .prepare("SELECT coalesce(sum(count), 0) AS n FROM span_rollups WHERE minute = 0")
        .first<{ n: number }>();
      return { spans: spans?.n ?? 0, consumed: counted?.n ?? 0 };
    },
  };
}

/** Plugin counts of the call rows' virtual servers (server name → active plugins). */
export const PLUGIN_SERVERS = new Map([
  ["p0", 0],
  ["p5", 5],
  ["p10", 10],
  ["p20", 20],
]);

/**
 * The call rows' configuration: the fast backend, one virtual server per
 * plugin count, 20 plugins each conditioned on the servers it applies to, and
 * an API token with the `mcp` scope (its secret is returned).
 */
export async function setupCalls(p: Proc, fast: string): Promise<string> {
  await adminOk(p.base, p.adminToken, "POST", "/api/backends", { name: "fast", url: fast });
  for (const server of PLUGIN_SERVERS.keys()) {
    await adminOk(p.base, p.adminToken, "POST", "/api/servers", { name: server, backends: ["fast"] });
  }
  for (const spec of pluginSpecs(20, PLUGIN_SERVERS)) await adminOk(p.base, p.adminToken, "POST", "/api/plugins", spec);
  const token = (await adminOk(p.base, p.adminToken, "POST", "/api/tokens", { name: "bench", scopes: ["mcp"] })) as {
    secret?: string;
    token?: string;
  };
  const secret = token.secret ?? token.token;
  if (!secret) throw new Error(`no token secret in ${JSON.stringify(token)}`);
  return secret;
}

/**
 * The listing rows' configuration: `count` backends (all the fast backend
 * under other names, health probes hourly so they do not run during a row)
 * and a virtual server over the first 10, 100 and all of them.
 */
export async function setupListings(p: Proc, fast: string, count: number, sizes: readonly number[]): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `f${i + 1}`);
  for (let i = 0; i < names.length; i += 8) {
    await Promise.all(
      names
        .slice(i, i + 8)
        .map((name) =>
          adminOk(p.base, p.adminToken, "POST", "/api/backends", { name, url: fast, healthIntervalSeconds: 3600 }),
        ),
    );
  }
  for (const size of sizes) {
    await adminOk(p.base, p.adminToken, "POST", "/api/servers", {
      name: `list-${size}`,
      backends: names.slice(0, size),
    });
  }
}

/** Polls until `ok` or the deadline; throws with `what` on timeout. */
export async function waitFor(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The isolate's D1 config reads so far (version checks + loads), from the gateway's /metrics. */
export async function d1Reads(p: Proc): Promise<number | null> {
  const res = await admin(p.base, p.adminToken, "GET", "/metrics");
  if (res.status !== 200) {
    await res.text();
    return null;
  }
  let total = 0;
  for (const m of (await res.text()).matchAll(/^mcpgw_isolate_config_reads_total\{[^}]*\} (\d+)$/gm)) {
    total += Number(m[1]);
  }
  return total;
}
