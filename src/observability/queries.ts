/**
 * Reads for `/api/spans` and `/metrics` (admin paths, never the MCP request path).
 */
import { and, asc, desc, eq, gte, lt, or, type SQL } from "drizzle-orm";
import type { Db } from "../config/db";
import { type RollupRow, type SpanRow, spanRollups, spans } from "./schema";

/** Filters for the span listing. */
export interface SpanFilter {
  limit: number;
  tool?: string;
  backend?: string;
  status?: "ok" | "error";
  /** Epoch ms: only spans that started at or after it. */
  since?: number;
  /** Opaque cursor from the previous page: `<startMs>.<spanId>`. */
  cursor?: { startMs: number; spanId: string };
}

/** A span as the API shows it. */
export interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  start: string;
  durationMs: number;
  status: string;
  attributes: Record<string, string | number | boolean>;
}

function view(row: SpanRow): SpanView {
  return {
    traceId: row.traceId,
    spanId: row.spanId,
    parentSpanId: row.parentSpanId,
    name: row.name,
    start: new Date(row.startMs).toISOString(),
    durationMs: Math.round(row.durationMs * 1000) / 1000,
    status: row.status,
    attributes: row.attributes,
  };
}

/** Spans newest first, one page, with the cursor of the next page. */
export async function listSpans(db: Db, f: SpanFilter): Promise<{ spans: SpanView[]; nextCursor: string | null }> {
  const where: SQL[] = [];
  if (f.tool) where.push(eq(spans.tool, f.tool));
  if (f.backend) where.push(eq(spans.backend, f.backend));
  if (f.status) where.push(eq(spans.status, f.status));
  if (f.since !== undefined) where.push(gte(spans.startMs, f.since));
  if (f.cursor) {
    const { startMs, spanId } = f.cursor;
    const older = or(lt(spans.startMs, startMs), and(eq(spans.startMs, startMs), lt(spans.spanId, spanId)));
    if (older) where.push(older);
  }
  const rows = await db
    .select()
    .from(spans)
    .where(and(...where))
    .orderBy(desc(spans.startMs), desc(spans.spanId))
    .limit(f.limit + 1);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    spans: page.map(view),
    nextCursor: rows.length > f.limit && last ? `${last.startMs}.${last.spanId}` : null,
  };
}

/** Every span of one trace, oldest first (bounded). */
export async function traceSpans(db: Db, traceId: string): Promise<SpanView[]> {
  const rows = await db
    .select()
    .from(spans)
    .where(eq(spans.traceId, traceId))
    .orderBy(asc(spans.startMs), asc(spans.spanId))
    .limit(1000);
  return rows.map(view);
}

/** The all-time rollup rows (minute 0), for `/metrics`. */
export async function allTimeRollups(db: Db): Promise<RollupRow[]> {
  return db.select().from(spanRollups).where(eq(spanRollups.minute, 0)).limit(10_000);
}

/** Deletes spans and per-minute rollups older than `days` (the all-time rows stay). */
export async function deleteOlderThan(db: Db, days: number, now = Date.now()): Promise<void> {
  const cutoff = now - days * 86_400_000;
  await db.batch([
    db.delete(spans).where(lt(spans.startMs, cutoff)),
    db
      .delete(spanRollups)
      .where(and(lt(spanRollups.minute, Math.floor(cutoff / 60_000)), gte(spanRollups.minute, 1)) as SQL),
  ]);
}
