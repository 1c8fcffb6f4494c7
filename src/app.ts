/**
 * The Hono application: health, the admin API, the admin console and the MCP endpoints.
 */
import { Hono } from "hono";
import { adminApi } from "./api";
import { requireAdmin } from "./auth/require-admin";
import { database } from "./config/db";
import { configCache, loadConfig } from "./config/middleware";
import { consoleRoutes } from "./console/routes";
import { legacySseRoutes } from "./edge/legacy-sse-routes";
import { mcpRoutes } from "./edge/routes";
import type { AppEnv } from "./env";
import { HttpError, handleError } from "./errors";
import { breakerGauges, renderMetrics } from "./observability/metrics";
import { allTimeRollups } from "./observability/queries";

/** Builds the Worker's HTTP application. */
export function createApp() {
  const app = new Hono<AppEnv>();

  app.get("/health", (c) => c.json({ status: "ok" }));

  // Prometheus scrape: admin credentials, read from the consumer's rollups (never the request path).
  app.get("/metrics", loadConfig(), requireAdmin(), async (c) => {
    const [rows, breakers] = await Promise.all([
      allTimeRollups(database(c.env.DB)),
      breakerGauges(c.env, [...c.get("config").backends.values()]),
    ]);
    return c.text(renderMetrics(rows, breakers, configCache.reads), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  app.use("/api/*", loadConfig());
  app.route("/api", adminApi());

  // The admin console (README, "Admin console"): pages and assets; it works through /api only.
  app.use("/admin/*", loadConfig());
  app.route("/admin", consoleRoutes());
  app.get("/admin/", (c) => c.redirect("/admin", 301));

  app.route("/", mcpRoutes());
  app.route("/", legacySseRoutes());

  app.notFound(() => {
    throw new HttpError(404, "not_found", "No such route");
  });
  app.onError(handleError);
  return app;
}
