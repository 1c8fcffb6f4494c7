// Span shipping at scale (issue 20): linger and head sampling sized from the deployment's estimated size, whole traces kept or dropped, weighted rollups that still count every call.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { weightOf } from "../../src/observability/consumer";
import { keepProbability, lingerMs, MAX_LINGER_MS, MIN_LINGER_MS } from "../../src/observability/ship-policy";
import { type SpanBatchMessage, SpanShipper } from "../../src/observability/shipper";
import type { Span, SpanSink } from "../../src/observability/span";
import { uniqueName } from "./helpers";

afterEach(() => {
  vi.useRealTimers();
});

let seq = 0;
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
/** A call's two spans: the request and its backend call, in one trace (trace ids spread over the range). */
function trace(tool: string): Span[] {
  seq += 1;
  const traceId = hex((seq * 2_654_435_761) >>> 0, 8) + hex(seq, 24);
  const root = hex(seq * 2, 16);
  const base = { traceId, startMs: Date.now(), durationMs: 5, status: "ok" as const };
  return [
    { ...base, spanId: root, parentSpanId: null, name: "request", attributes: { method: "tools/call" } },
    {
      ...base,
      spanId: hex(seq * 2 + 1, 16),
      parentSpanId: root,
      name: "backend",
      attributes: { backend: "b", tool, method: "tools/call" },
    },
  ];
}

/** A sink that records what was sent. */
function recorder() {
  const sent: Span[] = [];
  const sink: SpanSink = {
    sendBatch: async (batch) => {
      for (const m of batch) sent.push(...(m.body as SpanBatchMessage).spans);
    },
  };
  return { sent, sink };
}

describe("span shipping at scale", () => {
  it("ships every span of a small deployment, and a weighted sample of whole traces in a large one", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const shipper = new SpanShipper(0, { isolates: () => 20 });
    const { sent, sink } = recorder();
    const work: Promise<unknown>[] = [];
    const defer = (w: Promise<unknown>) => void work.push(w);
    // The first window: no trace rate known yet, everything goes.
    for (let i = 0; i < 1_000; i++) shipper.ship(trace("t"), sink, defer);
    await Promise.all(work.splice(0));
    expect(sent).toHaveLength(2_000);
    // 100 traces a second here, 20 isolates: 2,000 a second in all, twice what is stored: keep one in two.
    vi.setSystemTime(Date.now() + 10_000);
    expect(keepProbability(20, 100)).toBe(0.5);
    sent.length = 0;
    for (let i = 0; i < 2_000; i++) shipper.ship(trace("t"), sink, defer);
    await Promise.all(work.splice(0));
    const traces = new Map<string, number>();
    for (const s of sent) traces.set(s.traceId, (traces.get(s.traceId) ?? 0) + 1);
    expect(traces.size).toBeGreaterThan(850); // about 1,000 of 2,000 (binomial: ± 45 is one sigma)
    expect(traces.size).toBeLessThan(1_150);
    for (const n of traces.values()) expect(n).toBe(2); // a trace is kept whole or not at all
    for (const s of sent) expect(s.attributes["sample.weight"]).toBe(2);
  });

  it("lingers longer the larger the deployment, within bounds", () => {
    expect(lingerMs(1)).toBe(MIN_LINGER_MS);
    expect(lingerMs(2_000)).toBe(1_000);
    expect(lingerMs(1_000_000)).toBe(MAX_LINGER_MS);
  });

  it("rollups count a sampled span as many calls as its weight stands for", async () => {
    const tool = uniqueName("sw");
    const [request, backend] = trace(tool) as [Span, Span];
    const weighted = { ...backend, attributes: { ...backend.attributes, "sample.weight": 4 } };
    const batch = createMessageBatch("mcp-gateway-spans", [
      { id: `sw-${seq}`, timestamp: new Date(), attempts: 1, body: { spans: [request, weighted] } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    await getQueueResult(batch, ctx);
    const row = await env.DB.prepare(
      "SELECT count, errors FROM span_rollups WHERE kind = 'tool' AND name = ? AND minute = 0",
    )
      .bind(tool)
      .first<{ count: number; errors: number }>();
    expect(row).toEqual({ count: 4, errors: 0 });
    // A forged or odd weight counts as one, and never more than a million.
    expect(weightOf({ ...backend, attributes: { "sample.weight": -3 } })).toBe(1);
    expect(weightOf({ ...backend, attributes: { "sample.weight": 1e12 } })).toBe(1_000_000);
  });
});
