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

import { randomHex } from "../util/bytes";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a `traceparent` header; null when absent or invalid (all-zero ids are invalid). */
export function parseTraceparent(header: string | null | undefined): TraceContext | null {
  const match = TRACEPARENT.exec(header?.trim().toLowerCase() ?? "");
  if (!match) return null;
  const [, traceId = "", spanId = "", flags = ""] = match;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, flags };
}

/** A new span id. */
export function newSpanId(): string {
  return randomHex(8);
}

/** The trace a request belongs to: the client's, or a new sampled one. */
export function requestTrace(header: string | null | undefined): TraceContext & { parentSpanId?: string } {
  const incoming = parseTraceparent(header);
  if (!incoming) return { traceId: randomHex(16), spanId: newSpanId(), flags: "01" };
  return { traceId: incoming.traceId, spanId: newSpanId(), flags: incoming.flags, parentSpanId: incoming.spanId };
}

/** Formats a `traceparent` header value. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
