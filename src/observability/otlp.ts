/**
 * Optional OTLP/HTTP JSON export of spans (OpenTelemetry protocol,
 * `POST <OTLP_ENDPOINT>` with an `ExportTraceServiceRequest`). Best effort,
 * bounded by a timeout; a failing collector is reported and never retried,
 * so it cannot hold up the D1 writes or the queue.
 */
import type { Span } from "./span";

const EXPORT_TIMEOUT_MS = 5_000;

function otlpValue(value: string | number | boolean) {
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

function nanos(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

/** Spans as an OTLP `ExportTraceServiceRequest` (JSON encoding). */
export function toOtlp(spans: readonly Span[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "mcp-edge-gateway" } }] },
        scopeSpans: [
          {
            scope: { name: "mcp-edge-gateway" },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId && { parentSpanId: s.parentSpanId }),
              name: s.name === "request" ? `mcp ${s.attributes.method ?? "request"}` : s.name,
              // SERVER for the client's request, CLIENT for backend calls, INTERNAL for plugins.
              kind: s.name === "request" ? 2 : s.name === "backend" ? 3 : 1,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.startMs + s.durationMs),
              attributes: Object.entries(s.attributes).map(([key, value]) => ({
                key: `mcp.${key}`,
                value: otlpValue(value as string | number | boolean),
              })),
              status: { code: s.status === "error" ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  };
}

/** Parses `OTLP_HEADERS` ("k=v,k2=v2", the OpenTelemetry convention). */
export function otlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (value ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) headers[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return headers;
}

/** Posts spans to the collector; never throws. */
export async function exportOtlp(spans: readonly Span[], endpoint: string, headers?: string): Promise<void> {
  if (spans.length === 0) return;
  try {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", ...otlpHeaders(headers) },
      body: JSON.stringify(toOtlp(spans)),
      signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (!res.ok) console.warn("otlp export failed", res.status);
  } catch (err) {
    console.warn("otlp export failed", err instanceof Error ? err.name : "unknown");
  }
}
