/**
 * Span sizes for the queue loads, from the shipper's own packing
 * (`packMessages` in `src/observability/shipper.ts`): how many typical spans
 * (a request span and a backend-call span) fit one queue message.
 */
import { packMessages } from "../src/observability/shipper.ts";
import type { Span } from "../src/observability/span.ts";

let cached: number | undefined;

/** Typical spans of one call, as the request path records them. */
function typicalSpans(i: number): Span[] {
  const traceId = i.toString(16).padStart(32, "0");
  const base = { traceId, startMs: 1_790_000_000_000 + i, durationMs: 12, status: "ok" as const };
  return [
    {
      ...base,
      spanId: `${i.toString(16).padStart(15, "0")}a`,
      parentSpanId: null,
      name: "request",
      attributes: {
        method: "tools/call",
        tool: "github__search",
        server: "mcp",
        token: "ci-agent",
        "http.status": 200,
      },
    },
    {
      ...base,
      spanId: `${i.toString(16).padStart(15, "0")}b`,
      parentSpanId: `${i.toString(16).padStart(15, "0")}a`,
      name: "backend",
      attributes: { backend: "github", method: "tools/call", tool: "search" },
    },
  ];
}

/** Spans per full queue message, by the shipper's packing. */
export function spansPerMessage(): number {
  if (cached === undefined) {
    const spans = Array.from({ length: 5_000 }, (_, i) => typicalSpans(i)).flat();
    cached = spans.length / packMessages(spans).length;
  }
  return cached;
}
