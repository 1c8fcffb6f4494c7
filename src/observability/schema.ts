/**
 * D1 tables written by the span queue consumer (never by the request path).
 *
 * `spans` is keyed by span id, so a redelivered message is a no-op; the
 * rollup upserts are idempotent too, because they only count spans not yet
 * stored, in the transaction that stores them (`consumer.ts`). `rolled_up`
 * is always 1 since then; it stays so no migration rewrites the table.
 * `span_rollups` holds per-minute aggregates, plus all-time rows at
 * `minute = 0` that retention never deletes (Prometheus counters must not go
 * backwards).
 */
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One finished span. Attributes are a bounded JSON object, never arguments, results or secrets. */
export const spans = sqliteTable(
  "spans",
  {
    spanId: text("span_id").primaryKey(),
    traceId: text("trace_id").notNull(),
    parentSpanId: text("parent_span_id"),
    name: text("name").notNull(),
    startMs: integer("start_ms").notNull(),
    durationMs: real("duration_ms").notNull(),
    status: text("status", { enum: ["ok", "error"] }).notNull(),
    method: text("method"),
    tool: text("tool"),
    backend: text("backend"),
    attributes: text("attributes", { mode: "json" }).$type<Record<string, string | number | boolean>>().notNull(),
    rolledUp: integer("rolled_up").notNull().default(0),
  },
  (t) => [
    index("spans_start_idx").on(t.startMs),
    index("spans_trace_idx").on(t.traceId),
    index("spans_tool_idx").on(t.tool, t.startMs),
    index("spans_backend_idx").on(t.backend, t.startMs),
  ],
);

/** Latency histogram bucket upper bounds (ms); the last bucket is +Inf. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

/** Per-minute (and all-time, minute 0) aggregates by kind: request, tool, plugin. */
export const spanRollups = sqliteTable(
  "span_rollups",
  {
    minute: integer("minute").notNull(),
    kind: text("kind").notNull(),
    name: text("name").notNull(),
    backend: text("backend").notNull().default(""),
    outcome: text("outcome").notNull().default(""),
    count: integer("count").notNull().default(0),
    errors: integer("errors").notNull().default(0),
    sumMs: real("sum_ms").notNull().default(0),
    b0: integer("b0").notNull().default(0),
    b1: integer("b1").notNull().default(0),
    b2: integer("b2").notNull().default(0),
    b3: integer("b3").notNull().default(0),
    b4: integer("b4").notNull().default(0),
    b5: integer("b5").notNull().default(0),
    b6: integer("b6").notNull().default(0),
    b7: integer("b7").notNull().default(0),
    b8: integer("b8").notNull().default(0),
    b9: integer("b9").notNull().default(0),
    b10: integer("b10").notNull().default(0),
    b11: integer("b11").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.minute, t.kind, t.name, t.backend, t.outcome] })],
);

export type SpanRow = typeof spans.$inferSelect;
export type RollupRow = typeof spanRollups.$inferSelect;
