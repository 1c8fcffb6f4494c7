/**
 * The admin REST API under `/api`, and its OpenAPI 3.1 document.
 */
import { bodyLimit } from "hono/body-limit";
import { requireAdmin } from "../auth/require-admin";
import { LIMITS } from "../config/limits";
import { HttpError } from "../errors";
import { requireJson } from "../middleware/require-json";
import { auditRoutes, auditTrail } from "./audit";
import { backendRoutes } from "./backends";
import { configRoutes } from "./config";
import { connectionRoutes, myConnectionRoutes, requireCaller } from "./connections";
import { accessGuard } from "./guard";
import { keyRoutes } from "./keys";
import { apiRouter } from "./openapi";
import { pluginRoutes } from "./plugins";
import { serverRoutes } from "./servers";
import { spanRoutes } from "./spans";
import { statsRoutes } from "./stats";
import { teamRoutes } from "./teams";
import { tokenRoutes } from "./tokens";

/** Builds the `/api` sub-application. */
export function adminApi() {
  const api = apiRouter();

  // The document describes the API, holds no secrets, and is what teams generate clients from.
  api.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "MCP edge gateway admin API", version: "1" },
    // Paths in the document are relative to /api, where this router is mounted.
    servers: [{ url: "/api" }],
    security: [{ bearer: [] }],
  });
  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

  api.use(
    "*",
    bodyLimit({
      maxSize: LIMITS.bodyBytes,
      onError: () => {
        throw new HttpError(413, "payload_too_large", `Request body exceeds ${LIMITS.bodyBytes} bytes`);
      },
    }),
  );
  api.use("*", requireAdmin());
  api.use("*", requireJson());
  // Teams and visibility on every route, then the audit record of every write that succeeded.
  api.use("*", accessGuard());
  api.use("*", auditTrail());

  api.route("/backends", backendRoutes);
  api.route("/servers", serverRoutes);
  api.route("/tokens", tokenRoutes);
  api.route("/spans", spanRoutes);
  api.route("/stats", statsRoutes);
  api.route("/plugins", pluginRoutes);
  api.route("/keys", keyRoutes);
  api.route("/teams", teamRoutes);
  api.route("/audit", auditRoutes);
  api.route("/config", configRoutes);
  api.route("/connections", connectionRoutes);
  return api;
}

/** `/api/me`: what any signed-in caller may do for themselves (their upstream OAuth connections). */
export function meApi() {
  const me = apiRouter();
  me.use("*", requireCaller());
  me.route("/connections", myConnectionRoutes);
  return me;
}
