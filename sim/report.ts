/**
 * The simulation's tables: coordination load, then outages and propagation,
 * then each target at the largest run, with the limits they are judged by.
 */
import { LIMITS, SOURCES, TARGETS, WORKLOAD } from "./params.ts";

/** What one run measured. Times in ms, rates per second. */
export interface Result {
  design: string;
  isolates: number;
  callsPerSecond: number;
  busiestObject: string;
  busiestObjectPeak: number;
  busiestObjectMean: number;
  overloadErrors: number;
  d1ConfigPeak: number;
  d1ConfigMean: number;
  d1Rejected: number;
  queueMessagesPerSecond: number;
  spansDropped: number;
  d1SpanQps: number;
  rateLimiterRps: number;
  rateLimiterNote: string;
  sessionRps: number;
  stopHotMs: number;
  stopSparseMs: number;
  recoveryHotMs: number;
  deadHot: number;
  deadHotFractionAfter5s: number;
  deadSparseFractionAfter5s: number;
  trialCalls: number;
  editMs: number;
  revocationMs: number;
  awaitedWarmFraction: number;
  /** Calls that waited for a breaker state read (their backend was not called on that isolate for 5 s), of all calls. */
  breakerWaitFraction: number;
  events: number;
  wallMs: number;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "∞");
const secs = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "never");
const pct = (f: number) => (f === 0 ? "0" : f < 0.0001 ? "<0.01%" : `${(f * 100).toFixed(f < 0.01 ? 2 : 1)}%`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** Renders the tables as Markdown. */
export function renderTables(results: Result[], seed: number): string {
  const load = table(
    [
      "design",
      "isolates",
      "calls/s",
      "busiest DO (peak / mean rps)",
      "DO overloaded",
      "D1 config q/s (peak / mean)",
      "queue msg/s",
      "spans dropped",
      "D1 span q/s",
      "hot rate-limit key rps",
    ],
    results.map((r) => [
      r.design,
      int(r.isolates),
      int(r.callsPerSecond),
      `${int(r.busiestObjectPeak)} / ${int(r.busiestObjectMean)} (${r.busiestObject})`,
      int(r.overloadErrors),
      `${int(r.d1ConfigPeak)} / ${int(r.d1ConfigMean)}`,
      int(r.queueMessagesPerSecond),
      pct(r.spansDropped),
      int(r.d1SpanQps),
      int(r.rateLimiterRps),
    ]),
  );
  const outage = table(
    [
      "design",
      "isolates",
      "hot outage stops",
      "sparse outage stops",
      "hot recovery",
      "dead calls after 5 s: hot / sparse",
      "trial calls",
      "config edit",
      "revocation",
      "warm requests that waited (config)",
      "calls that waited for a breaker read",
    ],
    results.map((r) => [
      r.design,
      int(r.isolates),
      secs(r.stopHotMs),
      secs(r.stopSparseMs),
      secs(r.recoveryHotMs),
      `${pct(r.deadHotFractionAfter5s)} / ${pct(r.deadSparseFractionAfter5s)}`,
      int(r.trialCalls),
      secs(r.editMs),
      secs(r.revocationMs),
      pct(r.awaitedWarmFraction),
      pct(r.breakerWaitFraction),
    ]),
  );
  const largest = Math.max(...results.map((r) => r.isolates));
  const verdicts: string[][] = [];
  for (const r of results.filter((x) => x.isolates === largest)) {
    const check = (ok: boolean) => (ok ? "yes" : "**no**");
    verdicts.push([
      r.design,
      check(r.busiestObjectPeak <= TARGETS.busiestObjectRps),
      check(r.d1ConfigPeak <= TARGETS.d1ConfigQps),
      check(r.queueMessagesPerSecond <= TARGETS.queueMessagesPerSecond),
      check(r.stopHotMs <= TARGETS.outageStopMs && r.stopSparseMs <= TARGETS.outageStopMs),
      check(r.recoveryHotMs <= WORKLOAD.cooldownMs + TARGETS.recoveryAfterCooldownMs),
      check(Math.max(r.deadHotFractionAfter5s, r.deadSparseFractionAfter5s) < TARGETS.deadCallFraction),
      check(r.revocationMs <= TARGETS.revocationMs),
      check(r.editMs <= TARGETS.editMs),
      check(r.awaitedWarmFraction === 0),
    ]);
  }
  const targets = table(
    [
      `design (${int(largest)} isolates)`,
      `busiest DO ≤ ${TARGETS.busiestObjectRps}`,
      `D1 ≤ ${TARGETS.d1ConfigQps}`,
      `queue ≤ ${int(TARGETS.queueMessagesPerSecond)}`,
      `stops ≤ ${TARGETS.outageStopMs / 1000} s`,
      `recovery ≤ ${(WORKLOAD.cooldownMs + TARGETS.recoveryAfterCooldownMs) / 1000} s`,
      "dead < 1%",
      `revocation ≤ ${TARGETS.revocationMs / 1000} s`,
      `edit ≤ ${TARGETS.editMs / 1000} s`,
      "no warm waits",
    ],
    verdicts,
  );
  return [
    `Simulated ${WORKLOAD.durationMs / 1000} s, seed ${seed}: ${WORKLOAD.callsPerIsolate} calls/s per isolate; a hot backend (${WORKLOAD.hotShare * 100}% of calls), a sparse one and ${WORKLOAD.ordinaryBackends} ordinary ones; an edit at ${WORKLOAD.configEditAt / 1000} s, a revocation at ${WORKLOAD.revocationAt / 1000} s; the hot and the sparse backend down from ${WORKLOAD.outageAt / 1000} s to ${WORKLOAD.recoveryAt / 1000} s (threshold ${WORKLOAD.failureThreshold}, cooldown ${WORKLOAD.cooldownMs / 1000} s). Loads from ${WORKLOAD.measureFromMs / 1000} s on.`,
    "",
    "Coordination load:",
    "",
    load,
    "",
    "Outages and propagation (recovery: from the backend's recovery until every isolate admits it again):",
    "",
    outage,
    "",
    "Targets:",
    "",
    targets,
    "",
    `Limits: a Durable Object's soft limit is ${int(LIMITS.durableObjectRps)} requests/s (${SOURCES.durableObjects}); D1 runs about ${int(LIMITS.d1Qps)} queries/s of 1 ms (${SOURCES.d1}); a queue takes ${int(LIMITS.queueMessagesPerSecond)} messages/s (${SOURCES.queues}). A busy client's SessionDO sees its own rate (${WORKLOAD.busiestSessionRps} rps here) at any isolate count.`,
  ].join("\n");
}
