/**
 * `/api/tokens`: API tokens. The secret is in the creation response only.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../config/db";
import { IdParam } from "../config/shapes";
import { createToken, deleteToken, listTokens } from "../config/store/tokens";
import { Token, TokenCreate, TokenCreated } from "../config/token-shapes";
import { HttpError } from "../errors";
import { creationTeam } from "./access";
import { apiRouter, commonErrors, conflict, jsonBody, jsonResponse, noContent, notFound } from "./openapi";

const tags = ["tokens"];

/** Routes under /api/tokens. */
export const tokenRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Create an API token",
      request: { body: jsonBody(TokenCreate) },
      responses: {
        201: jsonResponse(TokenCreated, "The token, with its secret (shown once)"),
        ...commonErrors,
        ...conflict,
      },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const team = await creationTeam(c, input.team);
      if (input.role === "platform_admin" ? team !== null || !c.get("principal").platformAdmin : input.role && !team) {
        throw new HttpError(400, "validation_failed", "Invalid request", [
          {
            path: "role",
            message:
              input.role === "platform_admin"
                ? "platform_admin tokens have no team and only platform admins create them"
                : "a team role needs a team",
          },
        ]);
      }
      return c.json(await createToken(database(c.env.DB), { ...input, ...(team !== null && { team }) }), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List API tokens (without secrets)",
      responses: { 200: jsonResponse(z.array(Token), "All tokens"), ...commonErrors },
    }),
    async (c) => c.json(await listTokens(database(c.env.DB)), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags,
      summary: "Revoke an API token",
      request: { params: IdParam },
      responses: { ...noContent, ...commonErrors, ...notFound },
    }),
    async (c) => {
      await deleteToken(database(c.env.DB), c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
