/**
 * `npm run probe:worker-loader`: can the local runtime sandbox model-written
 * code (the `discovery: "code"` mode, README "Huge catalogs")? Runs a host
 * Worker with a Dynamic Worker Loader binding (`worker_loaders`) on the
 * workerd wrangler ships, loads each probe as a dynamic Worker with no
 * network (`globalOutbound: null`), no bindings and `limits: {cpuMs: 50}`,
 * and reports what happened. A fresh workerd per probe, so one that hangs or
 * crashes cannot hide the next; Node gives each probe 5 s.
 *
 * Result on workerd 1.20261117 (the reason code mode is refused): network
 * and bindings are blocked, but neither CPU nor memory is limited: an endless
 * loop never returns (and starves the host's own timers), and an allocation
 * loop aborts the whole workerd process.
 */
import { loadMiniflare } from "../test/helpers/gateway.ts";

const HOST = `
export default {
  async fetch(request, env) {
    const body = await request.text();
    const worker = env.LOADER.get("probe", () => ({
      compatibilityDate: "2026-11-01",
      mainModule: "main.js",
      modules: { "main.js": "export default { async fetch(req, env) { " + body + " } };" },
      globalOutbound: null,
      limits: { cpuMs: 50 },
      env: {},
    }));
    // The host's own deadline: a real sandbox would end the probe long before it.
    const deadline = new Promise((_, reject) => setTimeout(() => reject(new Error("host deadline (1 s)")), 1000));
    try {
      const res = await Promise.race([worker.getEntrypoint().fetch("http://sandbox/"), deadline]);
      return new Response(await res.text());
    } catch (err) {
      return new Response("refused: " + String(err).slice(0, 160));
    }
  },
};`;

const PROBES: Array<[string, string]> = [
  ["plain code", "return new Response(String(6 * 7));"],
  [
    "network",
    "try { await fetch('http://127.0.0.1:9/'); return new Response('reached the network'); } catch (e) { return new Response('blocked: ' + e.message.slice(0, 80)); }",
  ],
  ["bindings", "return new Response('env keys: ' + JSON.stringify(Object.keys(env)));"],
  ["endless loop", "for (;;) {}"],
  ["allocation loop", "const keep = []; for (;;) keep.push(new Array(1e6).fill(1));"],
];

async function probe(code: string): Promise<string> {
  const { Miniflare, convertV4MiniflareOptions } = loadMiniflare();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: "host",
          modules: true,
          compatibilityDate: "2026-11-01",
          script: HOST,
          workerLoaders: { LOADER: {} },
          unsafeDirectSockets: [{}],
        },
      ],
    }),
  );
  try {
    const url = await mf.unsafeGetDirectURL("host");
    const res = await fetch(url, { method: "POST", body: code, signal: AbortSignal.timeout(5_000) });
    return await res.text();
  } catch (err) {
    const name = (err as { name?: string }).name;
    return name === "TimeoutError" ? "HUNG: no answer in 5 s" : `WORKERD FAILED: ${String(err).slice(0, 120)}`;
  } finally {
    await mf.dispose().catch(() => undefined);
  }
}

for (const [name, code] of PROBES) console.log(`${name.padEnd(16)} ${await probe(code)}`);
