/**
 * The Hono application: health, the admin API and the MCP endpoints.
 */
import { Hono } from "hono";
import { adminApi } from "./api";
import { loadConfig } from "./config/middleware";
import type { AppEnv } from "./env";
import { HttpError, handleError } from "./errors";
import { mcpRoutes } from "./mcp/routes";

/** Builds the Worker's HTTP application. */
export function createApp() {
  const app = new Hono<AppEnv>();

  app.get("/health", (c) => c.json({ status: "ok" }));

  app.use("/api/*", loadConfig());
  app.route("/api", adminApi());

  app.route("/", mcpRoutes());

  app.notFound(() => {
    throw new HttpError(404, "not_found", "No such route");
  });
  app.onError(handleError);
  return app;
}
