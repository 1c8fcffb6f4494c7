/**
 * The span queue consumer: writes spans to D1 and maintains rollups, off the
 * request path.
 *
 * Idempotent: the span id is the key (`INSERT OR IGNORE`), and the rollup
 * upserts only count a span whose `rolled_up` flag is still 0, then set it,
 * all in one D1 batch (a transaction). A redelivered message changes nothing.
 * Messages are acknowledged one by one after their chunk commits; a failed
 * chunk is retried with exponential backoff (the queue's `max_retries`, then
 * the dead-letter queue). Malformed messages are acknowledged and dropped.
 * When `OTLP_ENDPOINT` is set, spans are also exported, concurrently and with
 * a timeout, so a slow collector never delays the D1 writes.
 */
import type { Bindings } from "../env";
import { exportOtlp } from "./otlp";
import { bucketIndex, minuteOf, rollupKey } from "./rollups";
import { type Span, SpanSchema } from "./span";

/** Messages per D1 batch: four statements each keeps a batch well under D1's limits. */
const CHUNK = 25;
const MAX_RETRY_DELAY_S = 300;

function statements(db: D1Database, span: Span): D1PreparedStatement[] {
  const a = span.attributes;
  const out = [
    db
      .prepare(
        `INSERT OR IGNORE INTO spans (span_id, trace_id, parent_span_id, name, start_ms, duration_ms, status, method, tool, backend, attributes, rolled_up)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
      )
      .bind(
        span.spanId,
        span.traceId,
        span.parentSpanId,
        span.name,
        span.startMs,
        span.durationMs,
        span.status,
        typeof a.method === "string" ? a.method : null,
        typeof a.tool === "string" ? a.tool : null,
        typeof a.backend === "string" ? a.backend : null,
        JSON.stringify(a),
      ),
  ];
  const key = rollupKey(span);
  if (key) {
    const bucket = `b${bucketIndex(span.durationMs)}`;
    const error = span.status === "error" ? 1 : 0;
    for (const minute of [minuteOf(span.startMs), 0]) {
      out.push(
        db
          .prepare(
            `INSERT INTO span_rollups (minute, kind, name, backend, outcome, count, errors, sum_ms, ${bucket})
             SELECT ?, ?, ?, ?, ?, 1, ?, ?, 1 FROM spans WHERE span_id = ? AND rolled_up = 0
             ON CONFLICT (minute, kind, name, backend, outcome) DO UPDATE SET
               count = count + 1, errors = errors + excluded.errors, sum_ms = sum_ms + excluded.sum_ms,
               ${bucket} = ${bucket} + 1`,
          )
          .bind(minute, key.kind, key.name, key.backend, key.outcome, error, span.durationMs, span.spanId),
      );
    }
  }
  out.push(db.prepare("UPDATE spans SET rolled_up = 1 WHERE span_id = ? AND rolled_up = 0").bind(span.spanId));
  return out;
}

/** Handles one delivered batch of span messages. */
export async function consumeSpans(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const valid: Array<{ message: Message<unknown>; span: Span }> = [];
  for (const message of batch.messages) {
    const parsed = SpanSchema.safeParse(message.body);
    if (parsed.success) valid.push({ message, span: parsed.data });
    else message.ack();
  }
  const exported = env.OTLP_ENDPOINT
    ? exportOtlp(
        valid.map((v) => v.span),
        env.OTLP_ENDPOINT,
        env.OTLP_HEADERS,
      )
    : Promise.resolve();
  for (let i = 0; i < valid.length; i += CHUNK) {
    const chunk = valid.slice(i, i + CHUNK);
    try {
      await env.DB.batch(chunk.flatMap(({ span }) => statements(env.DB, span)));
      for (const { message } of chunk) message.ack();
    } catch {
      for (const { message } of chunk) {
        message.retry({ delaySeconds: Math.min(MAX_RETRY_DELAY_S, 2 ** message.attempts) });
      }
    }
  }
  await exported;
}
