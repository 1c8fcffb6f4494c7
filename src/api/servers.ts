/**
 * `/api/servers`: virtual servers, each served at `/servers/:name/mcp`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../config/db";
import { NameParam, Server, ServerCreate, ServerUpdate } from "../config/shapes";
import type { ServerConfig } from "../config/snapshot";
import { createServer, deleteServer, getServer, listServers, updateServer } from "../config/store/servers";
import { ownershipFor } from "./access";
import { apiRouter, commonErrors, conflict, jsonBody, jsonResponse, noContent, notFound } from "./openapi";
import { assertNoNameConflicts } from "./server-conflicts";

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
      const input = c.req.valid("json");
      const check = (s: ServerConfig) => assertNoNameConflicts(c, s);
      return c.json(await createServer(database(c.env.DB), input, check, await ownershipFor(c, input)), 201);
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
        await updateServer(database(c.env.DB), c.req.valid("param").name, c.req.valid("json"), (s) =>
          assertNoNameConflicts(c, s),
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
