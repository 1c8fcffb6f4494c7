/**
 * Time series of backend calls for `/api/stats` (the console's dashboard):
 * calls, errors and p50/p99 latency per minute, per backend or per tool,
 * read from the consumer's per-minute rollups (never from raw spans, never on
 * the MCP request path).
 *
 * Percentiles are estimated from the latency histogram the way Prometheus'
 * `histogram_quantile` does: find the bucket holding the rank and
 * interpolate linearly inside it. A rank in the open last bucket reports the
 * last finite bound (the histogram knows only "more than that").
 */
import { and, eq, gte, lte } from "drizzle-orm";
import type { Db } from "../config/db";
import { LATENCY_BUCKETS_MS, type RollupRow, spanRollups } from "./schema";

/** One minute of one series. */
export interface StatsPoint {
  /** Start of the minute, ISO 8601. */
  t: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** One backend's (or one tool's) series, oldest minute first; minutes without calls are left out. */
export interface StatsSeries {
  backend: string;
  /** The tool's name as clients call it; absent when grouped by backend. */
  tool?: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  points: StatsPoint[];
}

/** Most minutes one query covers (24 h) and most rollup rows it reads. */
export const MAX_MINUTES = 24 * 60;
const MAX_ROWS = 20_000;

/** The estimated `q` quantile (0..1) of a histogram with `LATENCY_BUCKETS_MS` bounds; null when empty. */
export function quantile(q: number, buckets: readonly number[]): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const inBucket = buckets[i] ?? 0;
    if (inBucket > 0 && seen + inBucket >= rank) {
      const upper = LATENCY_BUCKETS_MS[i];
      if (upper === undefined) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] ?? null;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      return Math.round((lower + ((upper - lower) * (rank - seen)) / inBucket) * 100) / 100;
    }
    seen += inBucket;
  }
  return null;
}

function bucketsOf(row: RollupRow): number[] {
  return [row.b0, row.b1, row.b2, row.b3, row.b4, row.b5, row.b6, row.b7, row.b8, row.b9, row.b10, row.b11];
}

interface Acc {
  calls: number;
  errors: number;
  buckets: number[];
}

function add(acc: Acc, row: RollupRow): void {
  acc.calls += row.count;
  acc.errors += row.errors;
  bucketsOf(row).forEach((n, i) => {
    acc.buckets[i] = (acc.buckets[i] ?? 0) + n;
  });
}

const empty = (): Acc => ({ calls: 0, errors: 0, buckets: [] });

/** Groups rollup rows (kind `tool`) into series (pure). */
export function toSeries(rows: readonly RollupRow[], by: "backend" | "tool"): StatsSeries[] {
  const series = new Map<string, { backend: string; tool?: string; total: Acc; minutes: Map<number, Acc> }>();
  for (const row of rows) {
    const key = by === "backend" ? row.backend : `${row.backend}\0${row.name}`;
    let s = series.get(key);
    if (!s) {
      s = { backend: row.backend, ...(by === "tool" && { tool: row.name }), total: empty(), minutes: new Map() };
      series.set(key, s);
    }
    add(s.total, row);
    let minute = s.minutes.get(row.minute);
    if (!minute) {
      minute = empty();
      s.minutes.set(row.minute, minute);
    }
    add(minute, row);
  }
  return [...series.values()]
    .map((s) => ({
      backend: s.backend,
      ...(s.tool !== undefined && { tool: s.tool }),
      calls: s.total.calls,
      errors: s.total.errors,
      p50Ms: quantile(0.5, s.total.buckets),
      p99Ms: quantile(0.99, s.total.buckets),
      points: [...s.minutes.entries()]
        .sort(([a], [b]) => a - b)
        .map(([minute, acc]) => ({
          t: new Date(minute * 60_000).toISOString(),
          calls: acc.calls,
          errors: acc.errors,
          p50Ms: quantile(0.5, acc.buckets),
          p99Ms: quantile(0.99, acc.buckets),
        })),
    }))
    .sort((a, b) => b.calls - a.calls || a.backend.localeCompare(b.backend));
}

/** Backend-call rollups of the minutes `[fromMinute, toMinute]` (epoch minutes), optionally one backend's. */
export async function toolRollups(
  db: Db,
  fromMinute: number,
  toMinute: number,
  backend?: string,
): Promise<RollupRow[]> {
  const where = [
    eq(spanRollups.kind, "tool"),
    gte(spanRollups.minute, Math.max(1, fromMinute)),
    lte(spanRollups.minute, toMinute),
    ...(backend === undefined ? [] : [eq(spanRollups.backend, backend)]),
  ];
  return db
    .select()
    .from(spanRollups)
    .where(and(...where))
    .limit(MAX_ROWS);
}
