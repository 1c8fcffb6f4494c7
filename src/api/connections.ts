/**
 * Upstream OAuth connections (README, "Upstream OAuth"): a user lists and
 * revokes their own (`/api/me/connections`, any authenticated caller, for
 * themselves only), a platform admin anyone's (`/api/connections`).
 * Revoking deletes the sealed tokens from the user's object, revokes them at
 * the authorization server (RFC 7009, best effort) and drops this isolate's
 * cached copy; other isolates drop theirs within a minute (their cache's
 * bound), and the server's revocation ends the token's use upstream at once.
 * No answer ever carries a token.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bearerSecret } from "../auth/authenticate";
import { authenticateCaller } from "../auth/caller";
import { gatewayOrigin, resourceId } from "../auth/oauth/resource";
import { database } from "../config/db";
import type { ConfigSnapshot } from "../config/snapshot";
import { listConnections, removeConnection } from "../config/store/connections";
import { forgetUpstreamToken } from "../core/upstream-auth";
import type { AppEnv, Bindings } from "../env";
import { HttpError } from "../errors";
import { upstreamTokenObject } from "../stubs";
import { apiRouter, commonErrors, jsonResponse } from "./openapi";

const tags = ["connections"];

const Connection = z
  .object({
    backend: z.string(),
    scope: z.string().nullable(),
    expiresAt: z.number().int().nullable().openapi({ description: "When the current access token expires (epoch ms)" }),
    connectedAt: z.number().int(),
    refreshedAt: z.number().int().nullable(),
  })
  .openapi("UpstreamConnection");

const IndexedConnection = z
  .object({ user: z.string(), backend: z.string(), createdAt: z.string(), updatedAt: z.string() })
  .openapi("IndexedUpstreamConnection");

const Revoked = z.object({ revoked: z.literal(true) }).openapi("ConnectionRevoked");

const BackendParam = z.object({ backend: z.string().min(1).max(128) });

/**
 * Deletes `subject`'s connection to `backend` everywhere it is kept; false
 * when there was none.
 */
async function revokeConnection(
  env: Bindings,
  config: ConfigSnapshot,
  subject: string,
  backend: string,
): Promise<boolean> {
  const configured = config.backends.get(backend);
  const held = await upstreamTokenObject(env, subject).revoke(backend, configured);
  const indexed = await removeConnection(database(env.DB), subject, backend);
  if (configured) forgetUpstreamToken(subject, configured);
  return held || indexed;
}

/**
 * Any authenticated caller (API token, OAuth token for the gateway's MCP
 * endpoint or its API, ADMIN_TOKEN): the principal is whose connections these are.
 */
export function requireCaller(): MiddlewareHandler<AppEnv> {
  return async function requireCallerMiddleware(c, next) {
    const secret = bearerSecret(c.req.header("authorization"));
    if (!secret) throw new HttpError(401, "unauthorized", "Missing bearer token");
    const origin = gatewayOrigin(c.env, c.req.url);
    let result = await authenticateCaller(secret, c.env, c.get("config"), resourceId(origin, "/mcp"), origin);
    if ("failure" in result)
      result = await authenticateCaller(secret, c.env, c.get("config"), resourceId(origin, "/api"), origin);
    if ("failure" in result) throw new HttpError(401, "unauthorized", "Invalid or expired token");
    if (result.principal.kind === "anonymous") throw new HttpError(403, "forbidden", "Sign in first");
    c.set("principal", result.principal);
    await next();
  };
}

/** `/api/me/connections`: the caller's own connections. */
export const myConnectionRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "Your upstream OAuth connections (never the tokens)",
      responses: { 200: jsonResponse(z.object({ connections: z.array(Connection) }), "Connections"), ...commonErrors },
    }),
    async (c) => {
      const connections = await upstreamTokenObject(c.env, c.get("principal").subject).list();
      return c.json({ connections }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{backend}",
      tags,
      summary: "Revoke your connection to a backend",
      request: { params: BackendParam },
      responses: { 200: jsonResponse(Revoked, "Revoked"), ...commonErrors },
    }),
    async (c) => {
      const { backend } = c.req.valid("param");
      if (!(await revokeConnection(c.env, c.get("config"), c.get("principal").subject, backend)))
        throw new HttpError(404, "not_found", `No connection to '${backend}'`);
      return c.json({ revoked: true as const }, 200);
    },
  );

const Filter = z.object({
  user: z.string().min(1).max(512).optional(),
  backend: z.string().min(1).max(128).optional(),
});

/** `/api/connections`: every user's connections (platform admins; `guard.ts`). */
export const connectionRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "Who has connected which backend (never the tokens)",
      request: { query: Filter },
      responses: {
        200: jsonResponse(z.object({ connections: z.array(IndexedConnection) }), "Connections"),
        ...commonErrors,
      },
    }),
    async (c) => {
      const { user, backend } = c.req.valid("query");
      const rows = await listConnections(database(c.env.DB), {
        ...(user !== undefined && { subject: user }),
        ...(backend !== undefined && { backend }),
      });
      return c.json({ connections: rows.map(({ subject, ...rest }) => ({ user: subject, ...rest })) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/",
      tags,
      summary: "Revoke a user's connection to a backend",
      request: { query: z.object({ user: z.string().min(1).max(512), backend: z.string().min(1).max(128) }) },
      responses: { 200: jsonResponse(Revoked, "Revoked"), ...commonErrors },
    }),
    async (c) => {
      const { user, backend } = c.req.valid("query");
      if (!(await revokeConnection(c.env, c.get("config"), user, backend)))
        throw new HttpError(404, "not_found", `No connection of '${user}' to '${backend}'`);
      return c.json({ revoked: true as const }, 200);
    },
  );
