// /api/stats: per-minute calls, errors and p50/p99 per backend and per tool, from spans through the real queue consumer.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { packMessages } from "../../src/observability/shipper";
import type { Span } from "../../src/observability/span";
import { quantile, toSeries } from "../../src/observability/stats";
import { api, errorOf, uniqueName } from "./helpers";

let seq = 0;
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

function call(backend: string, tool: string, startMs: number, durationMs: number, status: "ok" | "error"): Span {
  seq += 1;
  return {
    traceId: hex(0x57a7000 + seq, 32),
    spanId: hex(0x5a7000 + seq, 16),
    parentSpanId: null,
    name: "backend",
    startMs,
    durationMs,
    status,
    attributes: { backend, tool, method: "tools/call" },
  };
}

async function consume(spans: Span[]): Promise<void> {
  const batch = createMessageBatch(
    "mcp-gateway-spans",
    packMessages(spans).map((body, i) => ({ id: `st${seq}-${i}`, timestamp: Date.now(), attempts: 1, body })),
  );
  await worker.queue(batch, env);
  await getQueueResult(batch, createExecutionContext());
}

interface Series {
  backend: string;
  tool?: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  points: Array<{ t: string; calls: number; errors: number; p50Ms: number | null; p99Ms: number | null }>;
}

describe("quantile estimation", () => {
  it("interpolates inside the bucket holding the rank, like histogram_quantile", () => {
    // 10 calls in (10, 25] ms: the median is halfway through that bucket.
    expect(quantile(0.5, [0, 0, 10])).toBe(17.5);
    // 99 fast (≤ 5 ms) and 1 slow (> 10 s): p50 is fast, p99 the last fast one, p99.9 the open bucket's floor.
    const buckets = [99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(quantile(0.5, buckets)).toBeCloseTo(2.53, 2);
    expect(quantile(0.99, buckets)).toBe(5);
    expect(quantile(0.999, buckets)).toBe(10_000);
    expect(quantile(0.5, [])).toBeNull();
  });

  it("groups rows by backend or by tool, busiest first", () => {
    const row = (name: string, backend: string, minute: number, count: number) => ({
      minute,
      kind: "tool",
      name,
      backend,
      outcome: "ok",
      count,
      errors: 0,
      sumMs: 0,
      ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`b${i}`, i === 3 ? count : 0])),
    });
    const rows = [row("echo", "a", 10, 1), row("add", "a", 11, 2), row("echo", "b", 10, 5)] as unknown as Parameters<
      typeof toSeries
    >[0];
    expect(toSeries(rows, "backend").map((s) => [s.backend, s.calls, s.points.length])).toEqual([
      ["b", 5, 1],
      ["a", 3, 2],
    ]);
    expect(toSeries(rows, "tool").map((s) => `${s.backend}/${s.tool}`)).toEqual(["b/echo", "a/add", "a/echo"]);
  });
});

describe("/api/stats", () => {
  it("answers per-minute series per backend and per tool from the rollups", async () => {
    const backend = uniqueName("stb");
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const spans = [
      ...Array.from({ length: 8 }, () => call(backend, "echo", minute + 1_000, 20, "ok")),
      call(backend, "echo", minute + 2_000, 700, "error"),
      call(backend, "add", minute + 61_000, 3, "ok"),
    ];
    await consume(spans);

    const byBackend = await api("GET", `/api/stats?backend=${backend}&by=backend`);
    expect(byBackend.status).toBe(200);
    const [series] = (byBackend.body as { series: Series[] }).series;
    expect(series).toMatchObject({ backend, calls: 10, errors: 1 });
    expect(series?.points.map((p) => [p.t, p.calls, p.errors])).toEqual([
      [new Date(minute).toISOString(), 9, 1],
      [new Date(minute + 60_000).toISOString(), 1, 0],
    ]);
    // 8 of 9 calls in (10, 25] ms, one in (500, 1000]: the median is in the first, p99 in the slow bucket.
    expect(series?.points[0]?.p50Ms).toBeGreaterThan(10);
    expect(series?.points[0]?.p50Ms).toBeLessThanOrEqual(25);
    expect(series?.points[0]?.p99Ms).toBeGreaterThan(500);

    const byTool = await api("GET", `/api/stats?backend=${backend}&by=tool`);
    const tools = (byTool.body as { series: Series[] }).series;
    expect(tools.map((s) => [s.tool, s.calls, s.errors])).toEqual([
      ["echo", 9, 1],
      ["add", 1, 0],
    ]);
  });

  it("400 for a range over 24 hours or backwards, naming since", async () => {
    for (const q of [
      "since=2026-01-01T00:00:00Z&until=2026-01-03T00:00:00Z",
      "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    ]) {
      const res = await api("GET", `/api/stats?${q}`);
      expect(res.status).toBe(400);
      expect(errorOf(res.body).details?.map((d) => d.path)).toEqual(["since"]);
    }
    expect((await api("GET", "/api/stats?by=nope")).status).toBe(400);
  });
});
