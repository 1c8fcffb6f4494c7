/**
 * `/api/stats`: calls, errors and p50/p99 latency of backend calls per
 * minute, per backend or per tool, from the span rollups (the console's
 * dashboard draws its charts from this route alone).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../config/db";
import { HttpError } from "../errors";
import { MAX_MINUTES, toolRollups, toSeries } from "../observability/stats";
import { apiRouter, commonErrors, jsonResponse } from "./openapi";

const tags = ["observability"];

const Point = z.object({
  t: z.string().openapi({ description: "Start of the minute (ISO 8601)" }),
  calls: z.number().int(),
  errors: z.number().int(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

const Series = z
  .object({
    backend: z.string(),
    tool: z.string().optional().openapi({ description: "Present when grouped by tool" }),
    calls: z.number().int(),
    errors: z.number().int(),
    p50Ms: z.number().nullable(),
    p99Ms: z.number().nullable(),
    points: z.array(Point).openapi({ description: "Minutes with calls, oldest first" }),
  })
  .openapi("StatsSeries");

const StatsQuery = z.strictObject({
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "ISO 8601; default one hour before `until`" }),
  until: z.iso.datetime({ offset: true }).optional().openapi({ description: "ISO 8601; default now" }),
  by: z.enum(["backend", "tool"]).default("backend"),
  backend: z.string().max(64).optional().openapi({ description: "Only this backend's calls" }),
});

/** Routes under /api/stats. */
export const statsRoutes = apiRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags,
    summary: "Backend calls per minute: calls, errors, p50 and p99 latency, per backend or per tool",
    description:
      "From the per-minute rollups the span consumer writes (spans arrive a few seconds after the calls). Latency percentiles are estimated from the latency histogram (bucket bounds 5 ms … 10 s). At most 24 hours per query.",
    request: { query: StatsQuery },
    responses: {
      200: jsonResponse(
        z.object({ since: z.string(), until: z.string(), series: z.array(Series) }),
        "Series, busiest first",
      ),
      ...commonErrors,
    },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const until = q.until ? Date.parse(q.until) : Date.now();
    const since = q.since ? Date.parse(q.since) : until - 3_600_000;
    const fromMinute = Math.floor(since / 60_000);
    const toMinute = Math.floor(until / 60_000);
    if (toMinute < fromMinute || toMinute - fromMinute > MAX_MINUTES) {
      throw new HttpError(400, "validation_failed", "Invalid request", [
        { path: "since", message: `must be before until and at most ${MAX_MINUTES / 60} hours earlier` },
      ]);
    }
    const rows = await toolRollups(database(c.env.DB), fromMinute, toMinute, q.backend);
    return c.json(
      { since: new Date(since).toISOString(), until: new Date(until).toISOString(), series: toSeries(rows, q.by) },
      200,
    );
  },
);
