/**
 * W3C Trace Context (`traceparent`, https://www.w3.org/TR/trace-context/):
 * pure helpers. The gateway continues a client's trace when it sends a valid
 * header, starts one otherwise, and gives every backend call its own span id
 * as the parent the backend sees.
 */

/** A parsed `traceparent` (version 00). */
export interface TraceContext {
  traceId: string;
  spanId: string;
  /** Trace flags, two hex digits ("01" = sampled). */
  flags: string;
}

import { hex } from "../util/bytes";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a `traceparent` header; null when absent or invalid (all-zero ids are invalid). */
export function parseTraceparent(header: string | null | undefined): TraceContext | null {
  if (!header) return null;
  const match = TRACEPARENT.exec(header?.trim().toLowerCase() ?? "");
  if (!match) return null;
  const [, traceId = "", spanId = "", flags = ""] = match;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, flags };
}

/**
 * Random bytes for ids, drawn from the runtime's CSPRNG a few KiB at a time:
 * every request makes a trace id and two span ids, and one
 * `getRandomValues` per id was a measurable share of a warm call (issue 15).
 * Each byte is handed out once.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

function randomIdHex(n: number): string {
  if (used + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  const id = hex(pool.subarray(used, used + n));
  used += n;
  return id;
}

/** A new span id. */
export function newSpanId(): string {
  return randomIdHex(8);
}

/** The trace a request belongs to: the client's, or a new sampled one. */
export function requestTrace(header: string | null | undefined): TraceContext & { parentSpanId?: string } {
  const incoming = parseTraceparent(header);
  if (!incoming) return { traceId: randomIdHex(16), spanId: newSpanId(), flags: "01" };
  return { traceId: incoming.traceId, spanId: newSpanId(), flags: incoming.flags, parentSpanId: incoming.spanId };
}

/** Formats a `traceparent` header value. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
