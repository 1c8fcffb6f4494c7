/**
 * What a span counts toward (pure): the rollup dimension of each span kind,
 * and its latency bucket. Used by the queue consumer.
 */
import { LATENCY_BUCKETS_MS } from "./schema";
import type { Span } from "./span";

/** One rollup row key. */
export interface RollupKey {
  kind: "request" | "tool" | "plugin";
  name: string;
  backend: string;
  outcome: string;
}

/**
 * The rollup a span counts toward, or null. Requests by JSON-RPC method and
 * HTTP status; backend calls of tools by tool and backend (ok/error);
 * plugins by plugin and violation code ("" when none).
 */
export function rollupKey(span: Span): RollupKey | null {
  const a = span.attributes;
  const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
  if (span.name === "request") {
    return { kind: "request", name: str(a.method) || "unknown", backend: "", outcome: str(a["http.status"]) };
  }
  if (span.name === "backend" && typeof a.tool === "string") {
    return { kind: "tool", name: a.tool, backend: str(a.backend), outcome: span.status };
  }
  if (span.name === "plugin" && typeof a.plugin === "string") {
    return { kind: "plugin", name: a.plugin, backend: "", outcome: str(a.violation) };
  }
  return null;
}

/** Index of the histogram bucket for a duration (the last index is +Inf). */
export function bucketIndex(durationMs: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((bound) => durationMs <= bound);
  return i < 0 ? LATENCY_BUCKETS_MS.length : i;
}

/** The epoch minute a span started in (rollup rows are per minute; 0 is the all-time row). */
export function minuteOf(startMs: number): number {
  return Math.floor(startMs / 60_000);
}
