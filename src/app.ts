/**
 * The Hono application: health, the admin API, the admin console and the MCP endpoints.
 */
import { Hono } from "hono";
import { getPath } from "hono/utils/url";
import { adminApi, meApi } from "./api";
import { upstreamOAuthRoutes } from "./api/upstream-oauth";
import { authorizationServerRoutes } from "./auth/oauth/login";
import { metadataRoutes } from "./auth/oauth/metadata-routes";
import { requireAdmin, requirePlatformAdmin } from "./auth/require-admin";
import { database } from "./config/db";
import { configCache, loadConfig } from "./config/middleware";
import { consoleRoutes } from "./console/routes";
import { legacySseRoutes } from "./edge/legacy-sse-routes";
import { mcpRoutes } from "./edge/routes";
import type { AppEnv } from "./env";
import { HttpError, handleError } from "./errors";
import { breakerGauges, renderMetrics } from "./observability/metrics";
import { allTimeRollups } from "./observability/queries";

/** The Streamable HTTP endpoints: `/mcp` and `/servers/:name/mcp` (Hono's `:name` is one path segment). */
const MCP_PATH = /^\/(?:mcp|servers\/[^/]+\/mcp)$/;

/**
 * The Worker's fetch handler: MCP requests go straight to the MCP routes'
 * own small app. Routed through the whole application, every MCP request was
 * matched against the admin API's ~40 routes too, which put Hono on its
 * slower trie router (issue 15); the answers are the same either way (the
 * MCP app is also mounted below, with its own `onError`).
 */
export function createFetch(): ReturnType<typeof createApp>["fetch"] {
  const app = createApp();
  const mcp = mcpRoutes();
  return (request, env, ctx) => (MCP_PATH.test(getPath(request)) ? mcp.fetch : app.fetch)(request, env, ctx);
}

/** Builds the Worker's HTTP application. */
export function createApp() {
  const app = new Hono<AppEnv>();

  app.get("/health", (c) => c.json({ status: "ok" }));

  // Prometheus scrape: admin credentials, read from the consumer's rollups (never the request path).
  app.get("/metrics", loadConfig(), requireAdmin(), requirePlatformAdmin(), async (c) => {
    const [rows, breakers] = await Promise.all([
      allTimeRollups(database(c.env.DB)),
      breakerGauges(c.env, [...c.get("config").backends.values()]),
    ]);
    return c.text(renderMetrics(rows, breakers, configCache.reads), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });

  // RFC 9728 metadata: where OAuth clients learn how to get a token for an endpoint.
  app.route("/", metadataRoutes());
  // The built-in authorization server (404 unless OAUTH_LOGIN_ISSUER and OAUTH_KV are configured).
  app.route("/", authorizationServerRoutes());

  // Upstream OAuth: the consent pages a URL-mode elicitation points at (README, "Upstream OAuth").
  app.route("/", upstreamOAuthRoutes());

  app.use("/api/*", loadConfig());
  // Before the admin API's own guard: every signed-in user manages their own connections.
  app.route("/api/me", meApi());
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
