/**
 * `/api/backends`: register, list, read, update and remove upstream MCP servers.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { database } from "../config/db";
import { decryptHeaders, keyMaterial } from "../config/header-crypto";
import {
  backendView,
  createBackend,
  deleteBackend,
  getBackendRow,
  listBackends,
  updateBackend,
} from "../config/store/backends";
import { checkBackendUrl, dohResolver } from "../config/url-safety";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { apiRouter, commonErrors, conflict, jsonBody, jsonResponse, noContent, notFound } from "./openapi";
import { Backend, BackendCreate, BackendUpdate, NameParam } from "./schemas";

const DEFAULT_RESOLVER = "https://cloudflare-dns.com/dns-query";

/** 400 when the URL points at a private address and the deployment does not allow that. */
async function assertUrlAllowed(c: Context<AppEnv>, url: string): Promise<void> {
  const allowPrivate = c.env.ALLOW_PRIVATE_BACKENDS === "true";
  const verdict = await checkBackendUrl(url, allowPrivate, dohResolver(c.env.DNS_RESOLVER_URL || DEFAULT_RESOLVER));
  if (!verdict.ok) {
    throw new HttpError(400, "validation_failed", "Invalid request", [
      { path: "url", message: `${verdict.reason}; set ALLOW_PRIVATE_BACKENDS=true to allow it` },
    ]);
  }
}

const tags = ["backends"];

/** Routes under /api/backends. */
export const backendRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Register a backend",
      request: { body: jsonBody(BackendCreate) },
      responses: { 201: jsonResponse(Backend, "The stored backend"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      const input = c.req.valid("json");
      await assertUrlAllowed(c, input.url);
      const view = await createBackend(database(c.env.DB), input, () => keyMaterial(c.env));
      return c.json(view, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List backends",
      responses: { 200: jsonResponse(z.array(Backend), "All backends"), ...commonErrors },
    }),
    async (c) => c.json(await listBackends(database(c.env.DB)), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}",
      tags,
      summary: "Read a backend",
      request: { params: NameParam },
      responses: { 200: jsonResponse(Backend, "The backend"), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(backendView(await getBackendRow(database(c.env.DB), c.req.valid("param").name)), 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{name}",
      tags,
      summary: "Update a backend",
      description: "Fields not given are kept. `headers` replaces the set; the value `********` keeps a stored value.",
      request: { params: NameParam, body: jsonBody(BackendUpdate) },
      responses: { 200: jsonResponse(Backend, "The updated backend"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const patch = c.req.valid("json");
      if (patch.url !== undefined) await assertUrlAllowed(c, patch.url);
      const material = () => keyMaterial(c.env);
      const view = await updateBackend(
        database(c.env.DB),
        c.req.valid("param").name,
        patch,
        async (row) => (row.headersEncrypted ? decryptHeaders(row.headersEncrypted, material()) : {}),
        material,
      );
      return c.json(view, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{name}",
      tags,
      summary: "Remove a backend",
      request: { params: NameParam },
      responses: { ...noContent, ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      await deleteBackend(database(c.env.DB), c.req.valid("param").name);
      return c.body(null, 204);
    },
  );
