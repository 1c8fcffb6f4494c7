/**
 * The span queue consumer: writes spans to D1 and maintains rollups, off the
 * request path.
 *
 * A message carries a batch of spans (`{ spans: [...] }`, see `shipper.ts`)
 * or, in the earlier format, one bare span. Spans are written in chunks of
 * up to `CHUNK_SPANS`, each chunk as four statements in one D1 batch (a
 * transaction) that read the chunk from one JSON parameter (`json_each`):
 * insert the spans, add them to the per-minute and all-time rollups, mark
 * them rolled up. Statements per call no longer grow with the span count.
 *
 * Idempotent: the span id is the key (`INSERT OR IGNORE`), and the rollups
 * only count spans whose `rolled_up` flag is still 0, then set it, in the
 * same transaction. A redelivered message changes nothing.
 * Messages are acknowledged after their chunk commits; a failed chunk is
 * retried with exponential backoff (the queue's `max_retries`, then the
 * dead-letter queue). Malformed messages and spans are dropped (a message
 * with some good spans keeps those). When `OTLP_ENDPOINT` is set, spans are
 * also exported, concurrently and with a timeout, so a slow collector never
 * delays the D1 writes.
 */
import { z } from "zod";
import type { Bindings } from "../env";
import { exportOtlp } from "./otlp";
import { bucketIndex, minuteOf, rollupKey } from "./rollups";
import { LATENCY_BUCKETS_MS } from "./schema";
import { type Span, SpanSchema } from "./span";

/** Spans per D1 batch: one JSON parameter of at most about 300 KB (D1 allows 2 MB). */
const CHUNK_SPANS = 500;
const MAX_RETRY_DELAY_S = 300;
/** Spans one message may carry (the shipper's messages hold far fewer; 64 KB each). */
const MAX_SPANS_PER_MESSAGE = 2000;

const BatchMessageSchema = z.object({ spans: z.array(z.unknown()).max(MAX_SPANS_PER_MESSAGE) });

/** The spans a message carries (bare span or batch); malformed spans are left out. */
export function spansOf(body: unknown): Span[] {
  const batch = BatchMessageSchema.safeParse(body);
  const candidates = batch.success ? batch.data.spans : [body];
  const spans: Span[] = [];
  for (const candidate of candidates) {
    const parsed = SpanSchema.safeParse(candidate);
    if (parsed.success) spans.push(parsed.data);
  }
  return spans;
}

/** One span's row as `INSERT_SPANS` reads it from `json_each`. */
function spanRow(span: Span): Record<string, unknown> {
  const a = span.attributes;
  return {
    id: span.spanId,
    trace: span.traceId,
    parent: span.parentSpanId,
    name: span.name,
    start: span.startMs,
    dur: span.durationMs,
    status: span.status,
    method: typeof a.method === "string" ? a.method : null,
    tool: typeof a.tool === "string" ? a.tool : null,
    backend: typeof a.backend === "string" ? a.backend : null,
    attrs: JSON.stringify(a),
  };
}

/** Largest weight a sampled span may carry (a keep probability of one in a million). */
const MAX_WEIGHT = 1_000_000;

/** How many calls a span stands for in the rollups: 1, or its sample weight (bounded). */
export function weightOf(span: Span): number {
  const w = span.attributes["sample.weight"];
  return typeof w === "number" && Number.isFinite(w) && w >= 1 ? Math.min(Math.round(w), MAX_WEIGHT) : 1;
}

/** What a span adds to its rollup rows (null when it counts toward none), as the rollup statements read it. */
function rollupRow(span: Span): Record<string, unknown> | null {
  const key = rollupKey(span);
  if (!key) return null;
  return {
    id: span.spanId,
    kind: key.kind,
    name: key.name,
    backend: key.backend,
    outcome: key.outcome,
    minute: minuteOf(span.startMs),
    bucket: bucketIndex(span.durationMs),
    err: span.status === "error" ? 1 : 0,
    dur: span.durationMs,
    w: weightOf(span),
  };
}

const BUCKETS = Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `b${i}`);

/** Stores the chunk's spans. They are stored as rolled up: the rollups ran first, in the same transaction. */
const INSERT_SPANS = `INSERT OR IGNORE INTO spans
  (span_id, trace_id, parent_span_id, name, start_ms, duration_ms, status, method, tool, backend, attributes, rolled_up)
  SELECT j.value->>'id', j.value->>'trace', j.value->>'parent', j.value->>'name', j.value->>'start', j.value->>'dur',
         j.value->>'status', j.value->>'method', j.value->>'tool', j.value->>'backend', j.value->>'attrs', 1
  FROM json_each(?1) AS j WHERE true`;

/**
 * Adds the chunk's spans that are not stored yet (so not counted yet) to the
 * rollup rows of `minute` (an SQL expression). Runs before INSERT_SPANS.
 */
function rollupStatement(minute: string): string {
  return `INSERT INTO span_rollups (minute, kind, name, backend, outcome, count, errors, sum_ms, ${BUCKETS.join(", ")})
  SELECT ${minute}, j.value->>'kind', j.value->>'name', j.value->>'backend', j.value->>'outcome',
         sum(j.value->>'w'), sum((j.value->>'err') * (j.value->>'w')), sum((j.value->>'dur') * (j.value->>'w')),
         ${BUCKETS.map((_, i) => `sum((j.value->>'bucket' = ${i}) * (j.value->>'w'))`).join(", ")}
  FROM json_each(?1) AS j
  WHERE NOT EXISTS (SELECT 1 FROM spans AS s WHERE s.span_id = j.value->>'id')
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (minute, kind, name, backend, outcome) DO UPDATE SET
    count = count + excluded.count, errors = errors + excluded.errors, sum_ms = sum_ms + excluded.sum_ms,
    ${BUCKETS.map((b) => `${b} = ${b} + excluded.${b}`).join(", ")}`;
}

const ROLLUP_MINUTE = rollupStatement("j.value->>'minute'");
const ROLLUP_ALL_TIME = rollupStatement("0");

/** The statements that write one chunk of (distinct) spans: rollups first, then the spans themselves. */
function statements(db: D1Database, spans: readonly Span[]): D1PreparedStatement[] {
  const rollups = JSON.stringify(spans.flatMap((span) => rollupRow(span) ?? []));
  return [
    db.prepare(ROLLUP_MINUTE).bind(rollups),
    db.prepare(ROLLUP_ALL_TIME).bind(rollups),
    db.prepare(INSERT_SPANS).bind(JSON.stringify(spans.map(spanRow))),
  ];
}

/** Groups messages into chunks of at most CHUNK_SPANS distinct spans (a message is never split). */
function chunks(items: Array<{ message: Message<unknown>; spans: Span[] }>) {
  const out: Array<{ messages: Array<Message<unknown>>; spans: Span[] }> = [];
  let current: { messages: Array<Message<unknown>>; spans: Span[] } | undefined;
  const seen = new Set<string>();
  for (const { message, spans } of items) {
    if (!current || (current.spans.length > 0 && current.spans.length + spans.length > CHUNK_SPANS)) {
      current = { messages: [], spans: [] };
      out.push(current);
    }
    current.messages.push(message);
    // A span counted twice in one statement would be rolled up twice (redelivery can repeat a message).
    for (const span of spans) {
      if (seen.has(span.spanId)) continue;
      seen.add(span.spanId);
      current.spans.push(span);
    }
  }
  return out;
}

/** Handles one delivered batch of span messages. */
export async function consumeSpans(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const items: Array<{ message: Message<unknown>; spans: Span[] }> = [];
  for (const message of batch.messages) {
    const spans = spansOf(message.body);
    if (spans.length > 0) items.push({ message, spans });
    else message.ack();
  }
  const exported = env.OTLP_ENDPOINT
    ? exportOtlp(
        items.flatMap((i) => i.spans),
        env.OTLP_ENDPOINT,
        env.OTLP_HEADERS,
      )
    : Promise.resolve();
  for (const chunk of chunks(items)) {
    try {
      await env.DB.batch(statements(env.DB, chunk.spans));
      for (const message of chunk.messages) message.ack();
    } catch {
      for (const message of chunk.messages) {
        message.retry({ delaySeconds: Math.min(MAX_RETRY_DELAY_S, 2 ** message.attempts) });
      }
    }
  }
  await exported;
}
