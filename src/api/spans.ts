/**
 * `/api/spans`: recent spans, newest first, and one request's span tree.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../config/db";
import { HttpError } from "../errors";
import { listSpans, traceSpans } from "../observability/queries";
import { apiRouter, commonErrors, jsonResponse, notFound } from "./openapi";

const tags = ["observability"];

const SpanView = z
  .object({
    traceId: z.string(),
    spanId: z.string(),
    parentSpanId: z.string().nullable(),
    name: z.string(),
    start: z.string(),
    durationMs: z.number(),
    status: z.string(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  })
  .openapi("Span");

const SpanQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  tool: z.string().max(200).optional(),
  backend: z.string().max(64).optional(),
  status: z.enum(["ok", "error"]).optional(),
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: "ISO 8601; spans that started since" }),
  cursor: z
    .string()
    .regex(/^\d{1,15}\.[0-9a-f]{16}$/)
    .optional()
    .openapi({ description: "`nextCursor` of the previous page" }),
});

const TraceParam = z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/) });

/** Routes under /api/spans. */
export const spanRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "Recent spans, newest first",
      request: { query: SpanQuery },
      responses: {
        200: jsonResponse(z.object({ spans: z.array(SpanView), nextCursor: z.string().nullable() }), "One page"),
        ...commonErrors,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const [startMs, spanId] = q.cursor ? q.cursor.split(".") : [];
      const page = await listSpans(database(c.env.DB), {
        limit: q.limit,
        ...(q.tool && { tool: q.tool }),
        ...(q.backend && { backend: q.backend }),
        ...(q.status && { status: q.status }),
        ...(q.since && { since: Date.parse(q.since) }),
        ...(startMs && spanId && { cursor: { startMs: Number(startMs), spanId } }),
      });
      return c.json(page, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{traceId}",
      tags,
      summary: "Every span of one request's trace, oldest first",
      request: { params: TraceParam },
      responses: { 200: jsonResponse(z.array(SpanView), "The trace"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const found = await traceSpans(database(c.env.DB), c.req.valid("param").traceId);
      if (found.length === 0) throw new HttpError(404, "not_found", "No spans for this trace");
      return c.json(found, 200);
    },
  );
