import { describe, expect, it } from "vitest";
import { formatTraceparent, newSpanId, parseTraceparent, requestTrace } from "../../src/observability/trace-context";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("W3C trace context", () => {
  it("parses a valid traceparent and round-trips it", () => {
    const parsed = parseTraceparent(VALID);
    expect(parsed).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", flags: "01" });
    expect(parsed && formatTraceparent(parsed)).toBe(VALID);
  });

  it("rejects malformed, unknown-version and all-zero headers", () => {
    for (const bad of [
      undefined,
      "",
      "garbage",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ]) {
      expect(parseTraceparent(bad)).toBeNull();
    }
  });

  it("continues the client's trace with a new span whose parent is the client's span", () => {
    const trace = requestTrace(VALID);
    expect(trace.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(trace.parentSpanId).toBe("00f067aa0ba902b7");
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).not.toBe("00f067aa0ba902b7");
  });

  it("starts a new sampled trace when the client sent none or an invalid one", () => {
    const a = requestTrace(undefined);
    const b = requestTrace("nonsense");
    expect(formatTraceparent(a)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(a.parentSpanId).toBeUndefined();
    expect(a.traceId).not.toBe(b.traceId);
  });

  it("hands out fresh ids across many refills of the per-isolate random pool (each byte used once)", () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    // ~24 random bytes per trace: 2000 of them draw the 4 KiB pool about a dozen times.
    for (let i = 0; i < 2000; i++) {
      const t = requestTrace(undefined);
      expect(formatTraceparent(t)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      traces.add(t.traceId);
      spans.add(t.spanId);
      spans.add(newSpanId());
    }
    expect(traces.size).toBe(2000);
    expect(spans.size).toBe(4000);
  });
});
