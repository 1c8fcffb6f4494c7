/**
 * Worker entry point: HTTP via Hono, the span queue consumer, and the Durable
 * Object classes (re-exported so wrangler can bind them).
 */
import { createApp } from "./app";
import type { Bindings } from "./env";

export { BackendDO } from "../durable-objects/backend-do";
export { RateLimiterDO } from "../durable-objects/rate-limiter-do";
export { SessionDO } from "../durable-objects/session-do";

const app = createApp();

export default {
  fetch: app.fetch,
  /**
   * Span consumer. The observability issue turns these into D1 rows and
   * rollups; until then spans are acknowledged so the queue never backs up.
   */
  async queue(batch: MessageBatch<unknown>): Promise<void> {
    batch.ackAll();
  },
} satisfies ExportedHandler<Bindings>;
