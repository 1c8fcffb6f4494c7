import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { renderMetrics } from "../../src/observability/metrics";
import { toOtlp } from "../../src/observability/otlp";
import { bucketIndex, rollupKey } from "../../src/observability/rollups";
import type { RollupRow } from "../../src/observability/schema";
import { packMessages, type SpanBatchMessage, SpanShipper } from "../../src/observability/shipper";
import type { Span, SpanSink } from "../../src/observability/span";
import { ADMIN, api, createBackend, errorOf } from "./helpers";

let seq = 0;
function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}
/** A valid span; ids unique per call. */
function span(over: Partial<Span> = {}): Span {
  seq += 1;
  return {
    traceId: hex(0xabc000 + seq, 32),
    spanId: hex(0xdef000 + seq, 16),
    parentSpanId: null,
    name: "backend",
    startMs: Date.now(),
    durationMs: 12,
    status: "ok",
    attributes: { backend: "obs-backend", tool: `obs-tool-${seq}`, method: "tools/call" },
    ...over,
  };
}

async function consume(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    "mcp-gateway-spans",
    bodies.map((body, i) => ({ id: `m${seq}-${i}`, timestamp: Date.now(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

async function rollups(tool: string): Promise<Array<{ minute: number; count: number; errors: number; b2: number }>> {
  const { results } = await env.DB.prepare(
    `SELECT minute, SUM(count) AS count, SUM(errors) AS errors, SUM(b2) AS b2 FROM span_rollups
     WHERE kind = 'tool' AND name = ? GROUP BY minute ORDER BY minute`,
  )
    .bind(tool)
    .all<{ minute: number; count: number; errors: number; b2: number }>();
  return results;
}

function initialize(): Request {
  return new Request("http://gateway.test/mcp", {
    method: "POST",
    headers: {
      authorization: `Bearer ${ADMIN}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  });
}

describe("span producer", () => {
  it("hands the request's spans to the queue after the response, batched with concurrent requests' spans", async () => {
    const sent: Array<Array<MessageSendRequest<unknown>>> = [];
    const sink: SpanSink = {
      async sendBatch(messages) {
        sent.push([...messages]);
      },
    };
    const first = createExecutionContext();
    const second = createExecutionContext();
    const [a, b] = await Promise.all([
      worker.fetch(initialize(), { ...env, SPANS: sink as Queue<unknown> }, first),
      worker.fetch(initialize(), { ...env, SPANS: sink as Queue<unknown> }, second),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    // Nothing is sent on the request path: the shipper lingers for other requests' spans.
    expect(sent).toHaveLength(0);
    await Promise.all([waitOnExecutionContext(first), waitOnExecutionContext(second)]);
    // Both requests' spans left in one sendBatch of one message.
    expect(sent).toHaveLength(1);
    expect(sent[0]).toHaveLength(1);
    const body = sent[0]?.[0]?.body as SpanBatchMessage;
    expect(body.spans).toHaveLength(2);
    for (const span of body.spans) {
      expect(span).toMatchObject({
        name: "request",
        status: "ok",
        attributes: { method: "initialize", "http.status": 200 },
      });
      expect(span.attributes).not.toHaveProperty("arguments");
    }
  });

  it("packs large bursts into several bounded messages and drops the newest when a stuck queue fills the buffer", async () => {
    const many = Array.from({ length: 1000 }, () =>
      span({ attributes: { tool: "x".repeat(200), method: "tools/call" } }),
    );
    const messages = packMessages(many);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.flatMap((m) => m.spans)).toHaveLength(1000);
    for (const m of messages) expect(JSON.stringify(m).length).toBeLessThan(128 * 1024);

    const shipper = new SpanShipper(1);
    const hanging: SpanSink = { sendBatch: () => new Promise(() => undefined) };
    const deferred: Array<Promise<unknown>> = [];
    for (let i = 0; i < 12; i++) shipper.ship(many, hanging, (w) => deferred.push(w));
    // One drain runs (and hangs); the rest only buffered, up to the bound.
    expect(deferred).toHaveLength(1);
    expect(shipper.dropped(hanging)).toBeGreaterThan(0);
  });

  it("answers the same whether the queue hangs, rejects or throws", async () => {
    const sinks: SpanSink[] = [
      { sendBatch: () => new Promise(() => undefined) },
      { sendBatch: () => Promise.reject(new Error("queue full")) },
      {
        sendBatch: () => {
          throw new Error("binding broken");
        },
      },
    ];
    for (const sink of sinks) {
      const ctx = createExecutionContext();
      // A hanging sendBatch would hang this await if the request path awaited the queue.
      const res = await worker.fetch(initialize(), { ...env, SPANS: sink as Queue<unknown> }, ctx);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { result: { serverInfo: unknown } }).result.serverInfo).toBeDefined();
      expect(res.headers.get("mcp-session-id")).toBeTruthy();
    }
  });
});

describe("span consumer", () => {
  it("writes spans and rolls them up per minute and all-time", async () => {
    const a = span({ durationMs: 20 });
    const b = span({ status: "error", durationMs: 20, attributes: a.attributes });
    const result = await consume([a, b]);
    expect(result.explicitAcks.sort()).toHaveLength(2);
    const rows = await rollups(String(a.attributes.tool));
    expect(rows.map((r) => r.minute)).toEqual([0, Math.floor(a.startMs / 60_000)]);
    for (const r of rows) expect(r).toMatchObject({ count: 2, errors: 1, b2: 2 });
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM spans WHERE span_id IN (?, ?)")
      .bind(a.spanId, b.spanId)
      .first<{ n: number }>();
    expect(stored?.n).toBe(2);
  });

  it("is idempotent: a redelivered message changes neither rows nor rollups", async () => {
    const a = span();
    await consume([a]);
    const redelivered = await consume([a, a], 2);
    expect(redelivered.explicitAcks).toHaveLength(2);
    const rows = await rollups(String(a.attributes.tool));
    for (const r of rows) expect(r.count).toBe(1);
  });

  it("writes batch messages in one transaction per chunk, keeping the good spans of a partly malformed message", async () => {
    const tool = `batch-tool-${seq}`;
    const good = Array.from({ length: 30 }, (_, i) =>
      span({ durationMs: i < 10 ? 3 : 30, status: i % 3 === 0 ? "error" : "ok", attributes: { tool, backend: "b" } }),
    );
    const result = await consume([
      { spans: good.slice(0, 20) },
      { spans: [...good.slice(20), { ...span(), spanId: "not-hex" }] },
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    const rows = await rollups(tool);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toMatchObject({ count: 30, errors: 10 });
    const buckets = await env.DB.prepare(
      "SELECT SUM(b0) AS b0, SUM(b3) AS b3, SUM(sum_ms) AS sum_ms FROM span_rollups WHERE kind = 'tool' AND name = ? AND minute = 0",
    )
      .bind(tool)
      .first<{ b0: number; b3: number; sum_ms: number }>();
    expect(buckets).toEqual({ b0: 10, b3: 20, sum_ms: 10 * 3 + 20 * 30 });
    // Redelivering both messages, even together with one of them twice, changes nothing.
    await consume([{ spans: good.slice(0, 20) }, { spans: good.slice(20) }, { spans: good.slice(0, 20) }], 2);
    for (const r of await rollups(tool)) expect(r.count).toBe(30);
  });

  it("acknowledges and drops malformed messages without failing the good ones", async () => {
    const good = span();
    const result = await consume([{ nonsense: true }, "text", { ...span(), spanId: "not-hex" }, good]);
    expect(result.explicitAcks).toHaveLength(4);
    expect(result.retryMessages).toHaveLength(0);
    expect(await rollups(String(good.attributes.tool))).toHaveLength(2);
  });
});

describe("retention cron", () => {
  it("deletes old spans and per-minute rollups, keeps recent ones and the all-time totals", async () => {
    const old = span({ startMs: Date.now() - 10 * 86_400_000 });
    const fresh = span({ attributes: old.attributes });
    await consume([old, fresh]);
    await worker.scheduled(createScheduledController(), env);
    const left = await env.DB.prepare("SELECT span_id FROM spans WHERE span_id IN (?, ?)")
      .bind(old.spanId, fresh.spanId)
      .all<{ span_id: string }>();
    expect(left.results.map((r) => r.span_id)).toEqual([fresh.spanId]);
    const rows = await rollups(String(old.attributes.tool));
    expect(rows.map((r) => r.minute)).toEqual([0, Math.floor(fresh.startMs / 60_000)]);
    expect(rows[0]?.count).toBe(2);
  });
});

describe("span API and metrics", () => {
  it("lists spans newest first with filters and a cursor, and returns one trace", async () => {
    const traceId = hex(0x7777 + seq, 32);
    const now = Date.now();
    const spans = [0, 1, 2].map((i) =>
      span({ traceId, startMs: now - i * 1000, attributes: { backend: "paged-backend", tool: "paged" } }),
    );
    await consume(spans);
    const first = await api("GET", "/api/spans?backend=paged-backend&limit=2");
    expect(first.status).toBe(200);
    const page = first.body as { spans: Array<{ spanId: string }>; nextCursor: string };
    expect(page.spans.map((s) => s.spanId)).toEqual([spans[0]?.spanId, spans[1]?.spanId]);
    const second = await api("GET", `/api/spans?backend=paged-backend&limit=2&cursor=${page.nextCursor}`);
    expect((second.body as { spans: Array<{ spanId: string }>; nextCursor: null }).spans.map((s) => s.spanId)).toEqual([
      spans[2]?.spanId,
    ]);
    const trace = await api("GET", `/api/spans/${traceId}`);
    expect((trace.body as unknown[]).length).toBe(3);
    expect((await api("GET", `/api/spans/${hex(1, 32)}`)).status).toBe(404);
    const since = new Date(now - 500).toISOString();
    const recent = await api("GET", `/api/spans?backend=paged-backend&since=${since}`);
    expect((recent.body as { spans: unknown[] }).spans).toHaveLength(1);
  });

  it("rejects bad queries with 400 naming the field, and needs admin credentials", async () => {
    const bad = await api("GET", "/api/spans?limit=0&status=maybe");
    expect(bad.status).toBe(400);
    expect(
      errorOf(bad.body)
        .details?.map((d) => d.path)
        .sort(),
    ).toEqual(["limit", "status"]);
    expect((await api("GET", "/api/spans", { token: null })).status).toBe(401);
    expect((await api("GET", "/metrics", { token: null })).status).toBe(401);
  });

  it("serves Prometheus text from the rollups", async () => {
    const s = span({ attributes: { backend: "metrics-backend", tool: "metrics-tool" }, durationMs: 30 });
    await consume([s]);
    const backend = await createBackend();
    const res = await api("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(res.text).toContain('mcpgw_tool_calls_total{tool="metrics-tool",backend="metrics-backend",outcome="ok"} 1');
    expect(res.text).toContain(
      'mcpgw_tool_call_duration_ms_bucket{tool="metrics-tool",backend="metrics-backend",le="25"} 0',
    );
    expect(res.text).toContain(
      'mcpgw_tool_call_duration_ms_bucket{tool="metrics-tool",backend="metrics-backend",le="50"} 1',
    );
    expect(res.text).toContain(`mcpgw_backend_breaker_state{backend="${backend}",state="closed"} 1`);
    expect(res.text).toContain(`mcpgw_backend_breaker_state{backend="${backend}",state="open"} 0`);
    for (const line of res.text.trim().split("\n")) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/);
    }
    // The isolate's D1 config reads: the write above forced a load; a warm request adds none.
    const reads = (text: string) =>
      ["version", "load"].map((kind) =>
        Number(new RegExp(`mcpgw_isolate_config_reads_total\\{kind="${kind}"\\} (\\d+)`).exec(text)?.[1]),
      );
    const [, loads] = reads(res.text);
    expect(loads).toBeGreaterThan(0);
    expect(reads((await api("GET", "/metrics")).text)).toEqual(reads(res.text));
  });
});

describe("pure helpers", () => {
  it("maps spans to rollup keys and buckets", () => {
    expect(rollupKey(span({ name: "request", attributes: { method: "tools/call", "http.status": 200 } }))).toEqual({
      kind: "request",
      name: "tools/call",
      backend: "",
      outcome: "200",
    });
    expect(rollupKey(span({ name: "plugin", attributes: { plugin: "pii", violation: "PII" } }))).toMatchObject({
      kind: "plugin",
      outcome: "PII",
    });
    expect(rollupKey(span({ name: "backend", attributes: { backend: "x", method: "prompts/get" } }))).toBeNull();
    expect([0, 5, 6, 10_000, 10_001].map(bucketIndex)).toEqual([0, 0, 1, 10, 11]);
  });

  it("renders cumulative histograms and escapes labels", () => {
    const row = { minute: 0, kind: "tool", name: 'a"b', backend: "x", outcome: "ok", count: 3, errors: 0, sumMs: 30 };
    const buckets = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`b${i}`, i === 0 ? 2 : i === 11 ? 1 : 0]));
    const text = renderMetrics([{ ...row, ...buckets } as RollupRow], [{ backend: "x", state: "open" }]);
    expect(text).toContain('mcpgw_tool_call_duration_ms_bucket{tool="a\\"b",backend="x",le="5"} 2');
    expect(text).toContain('mcpgw_tool_call_duration_ms_bucket{tool="a\\"b",backend="x",le="+Inf"} 3');
    expect(text).toContain('mcpgw_backend_breaker_state{backend="x",state="open"} 1');
  });

  it("encodes OTLP JSON with kinds, nanosecond times and status", () => {
    const s = span({ name: "request", startMs: 1_700_000_000_000, durationMs: 1.5, status: "error" });
    const out = toOtlp([s]).resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(out).toMatchObject({
      traceId: s.traceId,
      kind: 2,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000001500000",
      status: { code: 2 },
    });
  });
});
