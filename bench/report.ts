/**
 * The benchmark's tables (pure): per-round measurements in, markdown out.
 * Every cell is `median (min–max)` over the rounds; every ratio is taken per
 * round against the same round's pass-through and then summarised the same
 * way; targets get a verdict only when their spread is on one side
 * (`stats.ts`).
 */
import { differences, fmt, ratios, type Spread, slopes, spread, type Verdict, verdict } from "./stats.ts";

/** One row, one mode, one round. */
export interface Measurement {
  row: string;
  mode: "sat" | "fixed";
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  cpuMsPerCall: number | null;
  /** The measured workerd's main thread: on-CPU time over wall time. */
  mainUtil: number | null;
  /** The same, plus the time it was runnable but waited for a CPU: near 1 means saturated. */
  mainDemand: number | null;
  d1PerCall: number | null;
  rssMiB: number | null;
  heapMiB: number | null;
}

/** The span consumer's process over one round. */
export interface ConsumerRound {
  round: number;
  cpuMs: number;
  /** Spans its rollups counted (every span it consumed). */
  consumed: number;
  /** Spans it stored in the span table. */
  stored: number;
  /** Spans its ingest received. */
  received: number;
  seconds: number;
}

export interface RunInfo {
  machine: string;
  mode: "quick" | "full";
  rounds: number;
  seconds: number;
  rate: number;
  connections: number;
  pinned: boolean;
  loadAvg: { start: string; end: string };
  durationS: number;
  at: string;
  consumer: ConsumerRound[];
}

/** A main thread busier than this was the limit of its row (saturated). */
export const SATURATED = 0.9;

type Series = Array<number | null>;

function series(ms: readonly Measurement[], info: RunInfo, row: string, mode: "sat" | "fixed", f: keyof Measurement) {
  const out: Series = [];
  for (let r = 1; r <= info.rounds; r++) {
    const m = ms.find((x) => x.row === row && x.mode === mode && x.round === r);
    const v = m?.[f];
    out.push(typeof v === "number" ? v : null);
  }
  return out;
}

function table(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [header, align, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function modeTable(ms: readonly Measurement[], info: RunInfo, rows: readonly string[], mode: "sat" | "fixed"): string {
  const pass = (f: keyof Measurement) => series(ms, info, "passthrough", mode, f);
  const body = rows.map((row) => {
    const s = (f: keyof Measurement) => series(ms, info, row, mode, f);
    const errors = s("errors").reduce<number>((a, b) => a + (b ?? 0), 0);
    const util = spread(s("mainUtil"));
    const demand = spread(s("mainDemand"));
    const saturated = demand ? (demand.min >= SATURATED ? "yes" : demand.max < SATURATED ? "no" : "some") : "n/a";
    return [
      row,
      fmt(spread(s("rps")), 0),
      fmt(spread(s("p50")), 1),
      fmt(spread(s("p99")), 1),
      String(errors),
      fmt(spread(s("cpuMsPerCall")), 3),
      fmt(util, 2),
      `${fmt(demand, 2)}${mode === "sat" ? ` ${saturated}` : ""}`,
      fmt(spread(ratios(s("rps"), pass("rps"))), 2),
      fmt(spread(ratios(s("cpuMsPerCall"), pass("cpuMsPerCall"))), 2),
      fmt(spread(s("d1PerCall")), 4),
      fmt(spread(s("rssMiB")), 0),
      fmt(spread(s("heapMiB")), 1),
    ];
  });
  return table(
    [
      "row",
      "rps",
      "p50 ms",
      "p99 ms",
      "errors",
      "CPU ms/call",
      "main thread on CPU",
      mode === "sat" ? "on CPU + waiting for it, saturated" : "on CPU + waiting for it",
      "rps ÷ pass",
      "CPU ÷ pass",
      "D1 reads/call",
      "RSS MiB",
      "heap MiB",
    ],
    body,
  );
}

interface Derived {
  what: string;
  sat: Spread | null;
  fixed: Spread | null;
  digits: number;
  unit: string;
}

function derived(ms: readonly Measurement[], info: RunInfo, rows: readonly string[]): Derived[] {
  const cpu = (row: string, mode: "sat" | "fixed") => series(ms, info, row, mode, "cpuMsPerCall");
  const both = (f: (mode: "sat" | "fixed") => Series) => ({ sat: spread(f("sat")), fixed: spread(f("fixed")) });
  const out: Derived[] = [];
  const has = (row: string) => rows.includes(row);
  const us = (s: Series) => s.map((v) => (v === null ? null : v * 1000));
  if (has("gateway-0") && has("gateway-0-no-liveness")) {
    out.push({
      what: "session liveness RPC, µs CPU/call (gateway-0 − gateway-0-no-liveness)",
      ...both((m) => us(differences(cpu("gateway-0", m), cpu("gateway-0-no-liveness", m)))),
      digits: 0,
      unit: "µs",
    });
  }
  if (has("gateway-0") && has("gateway-0-2026")) {
    out.push({
      what: "2026 tools/call CPU ÷ 2025 tools/call CPU (gateway-0-2026 ÷ gateway-0)",
      ...both((m) => ratios(cpu("gateway-0-2026", m), cpu("gateway-0", m))),
      digits: 2,
      unit: "×",
    });
  }
  const pluginRows = [0, 5, 10, 20].filter((n) => has(`gateway-${n}`));
  if (pluginRows.length >= 2) {
    const slope = (mode: "sat" | "fixed") =>
      us(
        slopes(
          Array.from({ length: info.rounds }, (_, r) =>
            pluginRows.map((n): [number, number | null] => [n, cpu(`gateway-${n}`, mode)[r] ?? null]),
          ),
        ),
      );
    out.push({ what: "plugin slope, µs CPU per plugin per call", ...both(slope), digits: 1, unit: "µs" });
  }
  if (has("tools-list-10") && has("tools-list-500")) {
    out.push({
      what: "listing over 500 backends ÷ over 10 (CPU)",
      ...both((m) => ratios(cpu("tools-list-500", m), cpu("tools-list-10", m))),
      digits: 2,
      unit: "×",
    });
  }
  // Versions (BENCH_VERSIONS): each row against the same row of the version before it.
  const versioned = rows.filter((r) => /^[a-z0-9-]+\/gateway-/.test(r));
  for (const row of versioned) {
    const [label, name] = row.split("/") as [string, string];
    const labels = [...new Set(versioned.filter((r) => r.endsWith(`/${name}`)).map((r) => r.split("/")[0]))];
    const previous = labels[labels.indexOf(label) - 1];
    if (previous === undefined) continue;
    const base = `${previous}/${name}`;
    out.push({
      what: `${row} ÷ ${base} (CPU)`,
      ...both((m) => ratios(cpu(row, m), cpu(base, m))),
      digits: 3,
      unit: "×",
    });
  }
  return out;
}

interface Target {
  what: string;
  figure: Spread | null;
  limit: number;
  direction: "atMost" | "atLeast";
  digits: number;
}

function targets(ms: readonly Measurement[], info: RunInfo, rows: readonly string[], d: readonly Derived[]): Target[] {
  const ratio = (row: string, mode: "sat" | "fixed", f: keyof Measurement) =>
    spread(ratios(series(ms, info, row, mode, f), series(ms, info, "passthrough", mode, f)));
  const out: Target[] = [];
  for (const [row, limit] of [
    ["gateway-0", 1.15],
    ["gateway-5", 1.3],
  ] as const) {
    if (!rows.includes(row)) continue;
    out.push({
      what: `${row} CPU ÷ pass, fixed rate`,
      figure: ratio(row, "fixed", "cpuMsPerCall"),
      limit,
      direction: "atMost",
      digits: 2,
    });
    out.push({
      what: `${row} CPU ÷ pass, saturation`,
      figure: ratio(row, "sat", "cpuMsPerCall"),
      limit,
      direction: "atMost",
      digits: 2,
    });
    out.push({
      what: `${row} rps ÷ pass, saturation`,
      figure: ratio(row, "sat", "rps"),
      limit: 0.85,
      direction: "atLeast",
      digits: 2,
    });
  }
  if (rows.includes("gateway-0")) {
    out.push({
      what: "gateway-0 D1 reads per call (the 1/s config check, none on a call's path)",
      figure: spread(series(ms, info, "gateway-0", "sat", "d1PerCall")),
      limit: 0.01,
      direction: "atMost",
      digits: 4,
    });
  }
  if (rows.includes("tools-list-500")) {
    out.push({
      what: "tools-list-500 CPU ÷ pass, fixed rate",
      figure: ratio("tools-list-500", "fixed", "cpuMsPerCall"),
      limit: 1,
      direction: "atMost",
      digits: 2,
    });
  }
  const slope = d.find((x) => x.what.startsWith("plugin slope"));
  if (slope)
    out.push({
      what: "plugin slope µs per plugin, saturation",
      figure: slope.sat,
      limit: 20,
      direction: "atMost",
      digits: 1,
    });
  const eras = d.find((x) => x.what.startsWith("2026"));
  if (eras)
    out.push({ what: "2026 ÷ 2025 CPU, fixed rate", figure: eras.fixed, limit: 1, direction: "atMost", digits: 2 });
  return out;
}

function consumerTable(info: RunInfo): string {
  if (info.consumer.length === 0) return "";
  const perSpan = info.consumer.map((c) => (c.consumed > 0 ? (c.cpuMs * 1000) / c.consumed : null));
  const storedShare = info.consumer.map((c) => (c.consumed > 0 ? c.stored / c.consumed : null));
  const rate = info.consumer.map((c) => c.consumed / c.seconds);
  return `${table(
    ["span consumer (its own workerd)", "µs CPU per span", "spans stored ÷ consumed", "spans consumed per s"],
    [["per round", fmt(spread(perSpan), 1), fmt(spread(storedShare), 2), fmt(spread(rate), 0)]],
  )}\n`;
}

/** The whole report. */
export function report(info: RunInfo, ms: readonly Measurement[]): string {
  const rows = [...new Set(ms.map((m) => m.row))];
  const d = derived(ms, info, rows);
  const t = targets(ms, info, rows, d);
  const slopeNote = d.find((x) => x.what.startsWith("plugin slope"));
  const lines = [
    `# Benchmark results`,
    "",
    `${info.machine}. ${info.mode} run: ${info.rounds} interleaved rounds, ${info.seconds} s per row and mode, ${info.connections} connections, fixed rate ${info.rate} rps${info.pinned ? ", measured workerds pinned to core 0, load generator, backend and span consumer on the others" : ""}. Load average (1, 5, 15 min) ${info.loadAvg.start} at the start, ${info.loadAvg.end} at the end. Written by \`npm run bench\` on ${info.at} in ${info.durationS} s.`,
    "",
    "Every cell: median of the rounds (min–max).",
    "",
    `## At saturation (${info.connections} connections, as fast as they go)`,
    "",
    modeTable(ms, info, rows, "sat"),
    "",
    `## At a fixed offered rate (${info.rate} rps, ${info.connections} connections)`,
    "",
    modeTable(ms, info, rows, "fixed"),
    "",
    "## Derived",
    "",
    table(
      ["figure", "saturation", "fixed rate"],
      d.map((x) => [x.what, fmt(x.sat, x.digits), fmt(x.fixed, x.digits)]),
    ),
    "",
    consumerTable(info),
    "## Targets",
    "",
    table(
      ["target", "median (min–max)", "limit", "verdict"],
      t.map((x): string[] => {
        const v: Verdict = verdict(x.figure, x.limit, x.direction);
        return [x.what, fmt(x.figure, x.digits), `${x.direction === "atMost" ? "≤" : "≥"} ${x.limit}`, v];
      }),
    ),
    "",
  ];
  if (slopeNote?.sat) {
    const width = slopeNote.sat.max - slopeNote.sat.min;
    lines.push(
      `Plugin slope spread ${width.toFixed(1)} µs ${width < Math.abs(slopeNote.sat.median) ? "<" : "≥"} slope ${slopeNote.sat.median.toFixed(1)} µs (saturation).`,
      "",
    );
  }
  return lines.join("\n");
}
