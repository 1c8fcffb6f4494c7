/**
 * `npm run fuzz`: the property fuzzer against the production bundle.
 *
 * The gateway is the `wrangler deploy --dry-run` bundle on workerd as two
 * isolates (test/helpers/gateway.ts, sharing D1 and Durable Objects); cases
 * alternate between the isolates' own sockets (no proxy in between, so every
 * answer is the gateway's). Backends are real SDK servers on 127.0.0.1
 * (test/fixtures/backends.ts). The world is planted through the admin API
 * (test/fuzz/plant.ts), then each surface gets `FUZZ_CASES` cases (default
 * 10 000) from the same generators and oracle as the `npm test` properties,
 * but without the KNOWN_DEFECTS filter: such cases are sent and reported
 * under their defect's name.
 *
 * Prints the count of answers per HTTP status per surface, and every case
 * that broke an invariant (every 5xx first) with its index and the request,
 * reproducible with `FUZZ_SEED=<seed> FUZZ_SURFACE=<surface> FUZZ_ONLY=<index>`.
 * Exit code 1 on any 5xx or other violation. Env: FUZZ_CASES, FUZZ_SEED,
 * FUZZ_SURFACE (mcp,admin), FUZZ_ONLY, FUZZ_CONCURRENCY (default 8; admin
 * writes run one at a time, so each rejected write's store state is exact).
 */
import fc from "fast-check";
import { startStatefulBackend, startStatelessBackend } from "../fixtures/backends.ts";
import { startGateway } from "../helpers/gateway.ts";
import { adminCases, isWrite } from "./admin-cases.ts";
import { httpSend, Unsendable } from "./http-send.ts";
import { knownDefect } from "./known-defects.ts";
import { mcpCases } from "./mcp-cases.ts";
import { type FuzzCase, resolve, type Send, SessionPool, type Surface, type WireRequest } from "./model.ts";
import { check, checkWrite, type StoreState } from "./oracle.ts";
import { plantWorld } from "./plant.ts";

const CASES = Number(process.env.FUZZ_CASES) || 10_000;
const SEED = Number(process.env.FUZZ_SEED) || Math.floor(Math.random() * 2 ** 31);
const SURFACES = (process.env.FUZZ_SURFACE ?? "mcp,admin").split(",") as Surface[];
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY) || 8;

interface Failure {
  index: number;
  c: FuzzCase;
  req: WireRequest;
  status: number;
  body: string;
  violations: string[];
}

interface SurfaceResult {
  statuses: Map<number, number>;
  failures: Failure[];
  unsendable: number;
  ms: number;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The request as sent, on one line, credentials masked (they are planted secrets). */
function printable(req: WireRequest): string {
  const headers = req.headers.map(
    ([k, v]) => `${k}: ${k === "authorization" ? v.replace(/\S+$/, "<planted>") : v.slice(0, 120)}`,
  );
  const body = req.body === null ? "" : ` body(${req.body.length})=${req.body.slice(0, 400)}`;
  return `${req.method} ${req.path.slice(0, 300)} [${headers.join("; ")}]${body}`;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`fuzz: seed ${SEED}, ${CASES} cases per surface (${SURFACES.join(", ")})`);
  const [stateful, extraA, extraB] = await Promise.all([
    startStatefulBackend("fm-a"),
    startStatelessBackend("fa-1"),
    startStatelessBackend("fa-2"),
  ]);
  const gateway = await startGateway({ isolates: 2, vars: { ALLOWED_HOSTS: "127.0.0.1,localhost" } });
  try {
    const isolates = gateway.isolateUrls.map(httpSend);
    let turn = 0;
    const anyIsolate: Send = (req) => (isolates[turn++ % isolates.length] as Send)(req);
    const planted = await plantWorld(anyIsolate, {
      adminToken: gateway.adminToken,
      backend: {
        url: stateful.url,
        tools: ["echo", "add", "whoami", "slow", "log", "fail", "ask_user"],
        prompts: ["greet"],
        resources: ["mem://fm-a/readme", "mem://fm-a/items/1"],
      },
      adminBackendUrls: [extraA.url, extraB.url],
      webhookUrls: [`${extraA.url}/hook`],
      // The harness runs with ALLOW_PRIVATE_BACKENDS=true (the fixtures are on 127.0.0.1).
      privateBackendsAllowed: true,
    });
    const pool = new SessionPool(anyIsolate, planted.world);
    const db = await gateway.miniflare.getD1Database("DB", gateway.workerNames[0]);
    const tables = ["backends", "servers", "api_tokens", "plugins"];
    const storeState = async (): Promise<StoreState> => {
      const counts = tables.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(", ");
      const row = await db
        .prepare(`SELECT (SELECT version FROM config_meta WHERE id = 1) AS version, ${counts}`)
        .first<Record<string, number | null>>();
      return { version: row?.version ?? 0, rows: Object.fromEntries(tables.map((t) => [t, row?.[t] ?? 0])) };
    };

    const results = new Map<Surface, SurfaceResult>();
    for (const surface of SURFACES) {
      const t0 = Date.now();
      const arb = surface === "admin" ? adminCases(planted.adminSpec) : mcpCases(planted.mcpSpec);
      const cases = fc.sample(arb as fc.Arbitrary<FuzzCase>, {
        seed: SEED + (surface === "admin" ? 1 : 0),
        numRuns: CASES,
      });
      const result: SurfaceResult = { statuses: new Map(), failures: [], unsendable: 0, ms: 0 };
      const runOne = async (index: number): Promise<void> => {
        const c = cases[index] as FuzzCase;
        // Writes run one at a time (reads alongside), so each write's before/after store state is its own.
        if (surface === "admin" && isWrite(c)) {
          const turn = writes.then(() => send(index, c));
          writes = turn.catch(() => undefined);
          return turn;
        }
        return send(index, c);
      };
      let writes: Promise<void> = Promise.resolve();
      const send = async (index: number, c: FuzzCase): Promise<void> => {
        const req = await resolve(c, planted.world, pool, planted.endpoints);
        const before = surface === "admin" && isWrite(c) ? await storeState() : undefined;
        let res: Awaited<ReturnType<Send>>;
        try {
          res = await (isolates[index % isolates.length] as Send)(req);
        } catch (err) {
          if (!(err instanceof Unsendable)) throw err;
          result.unsendable += 1;
          return;
        }
        result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
        if (res.status === 201 && c.path.startsWith("/api/tokens")) {
          const id = (JSON.parse(res.body) as { id?: string }).id;
          if (id) planted.world.createdTokens.push(id);
        }
        const session = req.headers.find(([k]) => k === "mcp-session-id")?.[1];
        if (session && ((req.method === "DELETE" && res.status === 200) || res.status === 404)) pool.forget(session);
        const violations = check(c, req, res, planted.world);
        if (before) violations.push(...checkWrite(res, before, await storeState()));
        if (violations.length > 0)
          result.failures.push({ index, c, req, status: res.status, body: res.body, violations });
      };
      const indexes = ONLY === undefined ? cases.map((_, i) => i) : [ONLY];
      const workers = CONCURRENCY;
      let next = 0;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (next < indexes.length) await runOne(indexes[next++] as number);
        }),
      );
      result.ms = Date.now() - t0;
      results.set(surface, result);
      log(`  ${surface}: ${indexes.length} cases in ${(result.ms / 1000).toFixed(1)} s`);
    }
    const failed = report(results);
    log(`fuzz: done in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${SEED})`);
    process.exitCode = failed ? 1 : 0;
  } finally {
    await gateway.stop();
    await Promise.all([stateful.close(), extraA.close(), extraB.close()]);
  }
}

/** Prints the tables and failures; true when anything failed. */
function report(results: Map<Surface, SurfaceResult>): boolean {
  const statuses = [...new Set([...results.values()].flatMap((r) => [...r.statuses.keys()]))].sort((a, b) => a - b);
  log("\nanswers per HTTP status:");
  log(
    `  ${"surface".padEnd(8)}${statuses.map((s) => String(s === 0 ? "none" : s).padStart(7)).join("")}  unsendable  ≥500`,
  );
  let failed = false;
  for (const [surface, r] of results) {
    const five = [...r.statuses].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0);
    const row = statuses.map((s) => String(r.statuses.get(s) ?? 0).padStart(7)).join("");
    log(`  ${surface.padEnd(8)}${row}  ${String(r.unsendable).padStart(10)}  ${String(five).padStart(4)}`);
  }
  for (const [surface, r] of results) {
    if (r.failures.length === 0) continue;
    failed = true;
    const sorted = [...r.failures].sort(
      (a, b) => Number(b.status >= 500) - Number(a.status >= 500) || a.index - b.index,
    );
    const byDefect = new Map<string, number>();
    for (const f of sorted) {
      const name = knownDefect(f.c)?.name ?? "NOT A KNOWN DEFECT";
      byDefect.set(name, (byDefect.get(name) ?? 0) + 1);
    }
    log(`\n${surface}: ${r.failures.length} cases broke an invariant`);
    for (const [name, n] of byDefect) log(`  ${String(n).padStart(5)}  ${name}`);
    for (const f of sorted) {
      const defect = knownDefect(f.c);
      log(`\n  #${f.index} → ${f.status}  [${defect ? `known: ${defect.name}` : "NOT A KNOWN DEFECT"}]`);
      log(`    ${f.violations.join("; ")}`);
      log(`    ${f.c.note}: ${printable(f.req)}`);
      log(`    answer: ${f.body.slice(0, 200)}`);
    }
  }
  return failed;
}

await main();
