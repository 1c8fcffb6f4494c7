/**
 * `/api/servers`: virtual servers, each served at `/servers/:name/mcp`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { database } from "../config/db";
import { NameParam, Server, ServerCreate, ServerUpdate } from "../config/shapes";
import type { ServerConfig } from "../config/snapshot";
import { createServer, deleteServer, getServer, listServers, updateServer } from "../config/store/servers";
import { normalizeOverrides } from "../config/tool-overrides";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { ownershipFor } from "./access";
import { markDeprecated } from "./naming";
import { apiRouter, commonErrors, conflict, jsonBody, jsonResponse, noContent, notFound } from "./openapi";
import { assertNoNameConflicts } from "./server-conflicts";
import { assertValidOverrides } from "./tool-override-checks";

/**
 * A server input with its tool overrides in the stored spelling (snake_case
 * accepted, answered with `Deprecation`); 400 on shape problems.
 */
function normalized<T extends { toolOverrides?: unknown; tool_overrides?: unknown }>(
  c: Context<AppEnv>,
  input: T & Parameters<typeof normalizeOverrides>[0],
) {
  const { toolOverrides: _camel, tool_overrides: _snake, ...rest } = input;
  const overrides = normalizeOverrides(input);
  if (overrides.issues.length > 0) {
    throw new HttpError(400, "validation_failed", "Invalid tool overrides", overrides.issues);
  }
  markDeprecated(c, overrides.deprecated);
  return { ...rest, ...(overrides.value !== undefined && { toolOverrides: overrides.value }) };
}

/** Every save-time check of a server as it would be stored: name conflicts (409), then its overrides (400). */
function checks(c: Context<AppEnv>) {
  return async (server: ServerConfig) => {
    await assertNoNameConflicts(c, server);
    await assertValidOverrides(c, server);
  };
}

const tags = ["servers"];

/** Routes under /api/servers. */
export const serverRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Create a virtual server",
      request: { body: jsonBody(ServerCreate) },
      responses: { 201: jsonResponse(Server, "The stored server"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      const input = normalized(c, c.req.valid("json"));
      return c.json(await createServer(database(c.env.DB), input, checks(c), await ownershipFor(c, input)), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List virtual servers",
      responses: { 200: jsonResponse(z.array(Server), "All servers"), ...commonErrors },
    }),
    async (c) => c.json(await listServers(database(c.env.DB)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}",
      tags,
      summary: "Read a virtual server",
      request: { params: NameParam },
      responses: { 200: jsonResponse(Server, "The server"), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(await getServer(database(c.env.DB), c.req.valid("param").name), 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{name}",
      tags,
      summary: "Update a virtual server",
      request: { params: NameParam, body: jsonBody(ServerUpdate) },
      responses: { 200: jsonResponse(Server, "The updated server"), ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) =>
      c.json(
        await updateServer(
          database(c.env.DB),
          c.req.valid("param").name,
          normalized(c, c.req.valid("json")),
          checks(c),
        ),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{name}",
      tags,
      summary: "Remove a virtual server",
      request: { params: NameParam },
      responses: { ...noContent, ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      await deleteServer(database(c.env.DB), c.req.valid("param").name);
      return c.body(null, 204);
    },
  );
