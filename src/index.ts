/**
 * Worker entry point: HTTP via Hono, the span queue consumer, and the Durable
 * Object classes (re-exported so wrangler can bind them).
 */
import { createFetch } from "./app";
import { database } from "./config/db";
import { deleteAuditOlderThan } from "./config/store/audit";
import type { Bindings } from "./env";
import { consumeSpans } from "./observability/consumer";
import { deleteOlderThan } from "./observability/queries";

export { BackendDO } from "../durable-objects/backend-do";
export { LegacyClientDO } from "../durable-objects/legacy-client-do";
export { RateLimiterDO } from "../durable-objects/rate-limiter-do";
export { SessionDO } from "../durable-objects/session-do";
export { ShardDO } from "../durable-objects/shard-do";
export { UpstreamTokenDO } from "../durable-objects/upstream-token-do";

const fetch = createFetch();

/** Span retention when `SPAN_RETENTION_DAYS` is unset or invalid. */
const DEFAULT_RETENTION_DAYS = 7;

export default {
  fetch,
  /** Span consumer: D1 rows and rollups (and OTLP export when configured). */
  async queue(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
    await consumeSpans(batch, env);
  },
  /** Daily cron: deletes spans, per-minute rollups and audit records past retention. */
  async scheduled(_controller: ScheduledController, env: Bindings): Promise<void> {
    const days = Number(env.SPAN_RETENTION_DAYS);
    const retention = Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS;
    // The audit log is retained like spans unless AUDIT_RETENTION_DAYS says otherwise.
    const auditDays = Number(env.AUDIT_RETENTION_DAYS);
    const db = database(env.DB);
    await Promise.all([
      deleteOlderThan(db, retention),
      deleteAuditOlderThan(db, Number.isFinite(auditDays) && auditDays > 0 ? auditDays : retention),
    ]);
  },
} satisfies ExportedHandler<Bindings>;
