/**
 * `npm run sim`: runs each coordination design at 10 to 10,000 isolates
 * through the same seeded workload (see `params.ts`) and prints the table the
 * README quotes; writes it to `sim/results/latest.md` and `latest.json`.
 *
 * Environment: SIM_ISOLATES (comma-separated counts, default
 * 10,100,1000,10000), SIM_SEED (default 20), SIM_DESIGNS (default
 * today,sharded).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ShardedDesign } from "./designs/sharded.ts";
import { TodayDesign } from "./designs/today.ts";
import { Engine } from "./engine.ts";
import { WORKLOAD } from "./params.ts";
import { type Result, renderTables } from "./report.ts";
import { World } from "./world.ts";

interface Runnable {
  attach(world: World): void;
}

const DESIGNS: Record<string, () => Runnable & World["design"]> = {
  today: () => new TodayDesign(),
  sharded: () => new ShardedDesign(),
};

function runOne(designName: string, isolates: number, seed: number): Result {
  const make = DESIGNS[designName];
  if (!make) throw new Error(`unknown design '${designName}' (known: ${Object.keys(DESIGNS).join(", ")})`);
  const started = performance.now();
  const engine = new Engine(seed);
  const design = make();
  const world = new World(engine, isolates, design);
  design.attach(world);
  world.begin();
  engine.run(WORKLOAD.durationMs);
  const [hot, sparse] = world.backends;
  if (!hot || !sparse) throw new Error("the workload lost its backends");
  const objects = world.busiest(["BackendDO", "ShardDO"]);
  const d1 = world.d1.load(WORKLOAD.measureFromMs, WORKLOAD.durationMs);
  const analytic = design.analytic(world);
  const requests = isolates * WORKLOAD.callsPerIsolate * ((WORKLOAD.durationMs - WORKLOAD.measureFromMs) / 1000);
  return {
    design: designName,
    isolates,
    callsPerSecond: isolates * WORKLOAD.callsPerIsolate,
    busiestObject: objects.name,
    busiestObjectPeak: objects.peak,
    busiestObjectMean: objects.mean,
    overloadErrors: world.servers.filter((s) => s.kind !== "D1").reduce((n, s) => n + s.rejected, 0),
    d1ConfigPeak: d1.peak,
    d1ConfigMean: d1.mean,
    d1Rejected: world.d1.rejected,
    queueMessagesPerSecond: analytic.queueMessagesPerSecond,
    spansDropped: analytic.spansDroppedFraction,
    d1SpanQps: analytic.d1SpanQueriesPerSecond,
    rateLimiterRps: analytic.rateLimiterRps,
    rateLimiterNote: analytic.rateLimiterNote,
    sessionRps: WORKLOAD.busiestSessionRps,
    stopHotMs: world.stopTime(hot),
    stopSparseMs: world.stopTime(sparse),
    recoveryHotMs: world.recoveryTime(hot),
    deadHot: world.stats.deadCalls.get("hot") ?? 0,
    deadHotFractionAfter5s: world.deadFractionAfter5s(hot),
    deadSparseFractionAfter5s: world.deadFractionAfter5s(sparse),
    trialCalls: (world.stats.trialCalls.get("hot") ?? 0) + (world.stats.trialCalls.get("sparse") ?? 0),
    editMs: world.propagation("edit"),
    revocationMs: world.propagation("revocation"),
    awaitedWarmFraction: world.stats.awaitedWarm / requests,
    breakerWaitFraction: world.stats.breakerWaits / requests,
    events: engine.events,
    wallMs: performance.now() - started,
  };
}

function main(): void {
  const counts = (process.env.SIM_ISOLATES ?? "10,100,1000,10000").split(",").map((s) => Number(s.trim()));
  const seed = Number(process.env.SIM_SEED ?? 20);
  const designs = (process.env.SIM_DESIGNS ?? Object.keys(DESIGNS).join(",")).split(",").map((s) => s.trim());
  const results: Result[] = [];
  for (const design of designs) {
    for (const n of counts) {
      const r = runOne(design, n, seed);
      results.push(r);
      console.error(`${design} × ${n}: ${r.events} events in ${Math.round(r.wallMs)} ms`);
    }
  }
  const text = renderTables(results, seed);
  console.log(text);
  const dir = path.join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "latest.md"), `${text}\n`);
  writeFileSync(path.join(dir, "latest.json"), `${JSON.stringify({ seed, results }, null, 2)}\n`);
}

main();
