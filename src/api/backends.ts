/**
 * `/api/backends`: register, list, read, update and remove upstream MCP
 * servers; read a backend's health; refresh its catalog. Every change is
 * also told to the backend's Durable Object (health schedule, breaker,
 * catalogs), which never reads D1 itself.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { backendConfig, ringOrNull } from "../config/d1-source";
import { database } from "../config/db";
import { keyRing, openHeaders } from "../config/header-crypto";
import {
  Backend,
  BackendCreate,
  BackendHealth,
  BackendUpdate,
  CatalogRefresh,
  ErrorResponse,
  NameParam,
} from "../config/shapes";
import type { BackendConfig } from "../config/snapshot";
import {
  backendView,
  createBackend,
  credentialsState,
  deleteBackend,
  getBackendRow,
  listBackends,
  updateBackend,
} from "../config/store/backends";
import { listConnections } from "../config/store/connections";
import { checkBackendUrl, dohResolver } from "../config/url-safety";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { upstreamTokenObject } from "../stubs";
import { ownershipFor } from "./access";
import {
  backendHealth,
  cachedCatalog,
  catalogCounts,
  refreshBackend,
  removeBackend,
  syncBackend,
} from "./backend-lifecycle";
import { apiRouter, commonErrors, conflict, jsonBody, jsonResponse, noContent, notFound } from "./openapi";
import { openApiColumns } from "./openapi-backend";
import { assertRegistrable } from "./upstream-registration-check";

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

/** The stored backend as the request path and its DO see it (headers decrypted); 404 if unknown. */
async function loadBackend(c: Context<AppEnv>, name: string): Promise<BackendConfig> {
  const row = await getBackendRow(database(c.env.DB), name);
  return backendConfig(row, row.headersEncrypted ? await ringOrNull(c.env) : null);
}

/** Opens stored headers with this deployment's keys, never throwing (see `openHeaders`). */
function opener(c: Context<AppEnv>) {
  return async (sealed: string) => openHeaders(sealed, await ringOrNull(c.env));
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
      await assertRegistrable(c, input.auth, input.url);
      const openapi = await openApiColumns(c, input.transport ?? "streamable-http", input.openapi);
      const view = await createBackend(
        database(c.env.DB),
        input,
        () => keyRing(c.env),
        await ownershipFor(c, input),
        openapi,
      );
      const backend = await loadBackend(c, view.name);
      await syncBackend(c.env, backend);
      // Discover its catalog now, so the first listing finds it (best effort, after the response).
      if (backend.enabled) c.executionCtx.waitUntil(refreshBackend(c.env, backend));
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
    async (c) => c.json(await listBackends(database(c.env.DB), opener(c)), 200),
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
    async (c) => {
      const row = await getBackendRow(database(c.env.DB), c.req.valid("param").name);
      return c.json(backendView(row, await credentialsState(row, opener(c))), 200);
    },
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
      const name = c.req.valid("param").name;
      if (patch.auth && patch.auth.clientId === undefined)
        await assertRegistrable(c, patch.auth, patch.url ?? (await getBackendRow(database(c.env.DB), name)).url);
      // A changed transport or document is checked (and a document URL fetched again) as on create.
      let openapi: Awaited<ReturnType<typeof openApiColumns>> | undefined;
      if (patch.transport !== undefined || patch.openapi !== undefined) {
        const current = await getBackendRow(database(c.env.DB), name);
        openapi = await openApiColumns(c, patch.transport ?? current.transport, patch.openapi ?? current.openapi);
      }
      const view = await updateBackend(database(c.env.DB), name, patch, opener(c), () => keyRing(c.env), openapi);
      const backend = await loadBackend(c, view.name);
      await syncBackend(c.env, backend);
      // New operations are a new tool list: re-list now rather than when the cached catalog ages out.
      if (openapi?.openapi && backend.enabled) c.executionCtx.waitUntil(refreshBackend(c.env, backend));
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
      const { name } = c.req.valid("param");
      const holders = await listConnections(database(c.env.DB), { backend: name });
      await deleteBackend(database(c.env.DB), name);
      await removeBackend(c.env, name);
      // Its users' upstream tokens go with it (revoked at the authorization server where it can).
      const configured = c.get("config").backends.get(name);
      for (const h of holders) await upstreamTokenObject(c.env, h.subject).revoke(name, configured);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}/health",
      tags,
      summary: "A backend's health",
      description:
        "Circuit breaker state and the last and next health probe (an MCP `ping`, or `server/discover` for a 2026-07-28 backend, every `healthIntervalSeconds` ±20%). Times are ISO 8601 or null; `retryAt` is present while the breaker is not closed.",
      request: { params: NameParam },
      responses: {
        200: jsonResponse(BackendHealth, "The backend's health"),
        ...commonErrors,
        ...notFound,
        503: jsonResponse(ErrorResponse, "The backend's Durable Object could not be reached"),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      await getBackendRow(database(c.env.DB), name);
      const health = await backendHealth(c.env, name).catch(() => {
        // The backend's Durable Object threw or is overloaded: the gateway's fault, not the caller's.
        throw new HttpError(503, "service_unavailable", `Backend '${name}' health is unavailable right now; retry`);
      });
      return c.json(health, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}/catalog",
      tags,
      summary: "What a backend's cached catalog holds",
      description:
        "Counts of the tools, prompts, resources and resource templates the backend's Durable Object has cached for a client without sampling, elicitation or roots (discovered now if nothing is cached yet). 502 if there is no catalog and the backend fails.",
      request: { params: NameParam },
      responses: {
        200: jsonResponse(CatalogRefresh, "The cached catalog's counts"),
        ...commonErrors,
        ...notFound,
        502: jsonResponse(ErrorResponse, "No catalog is cached and the backend failed"),
      },
    }),
    async (c) => {
      const backend = await loadBackend(c, c.req.valid("param").name);
      const answer = await cachedCatalog(c.env, backend);
      if (!answer.ok) throw new HttpError(502, "bad_gateway", answer.error, { backend: backend.name });
      const fetchedAt = new Date(answer.catalog.fetchedAt).toISOString();
      const protocolEra = answer.catalog.era === "modern" ? "2026-07-28" : "2025";
      return c.json({ backend: backend.name, ...catalogCounts(answer.catalog), fetchedAt, protocolEra } as const, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{name}/refresh",
      tags,
      summary: "Re-discover a backend's catalog now",
      description:
        "Probes the backend's protocol era again and fetches its tools, prompts, resources and resource templates now (joining a refresh already under way), and answers with the era and the counts a client without sampling, elicitation or roots sees. 502 if the backend fails; the previous catalog is kept.",
      request: { params: NameParam },
      responses: {
        200: jsonResponse(CatalogRefresh, "What the backend offers now"),
        ...commonErrors,
        ...notFound,
        502: jsonResponse(ErrorResponse, "The backend failed; `message` says how"),
      },
    }),
    async (c) => {
      const backend = await loadBackend(c, c.req.valid("param").name);
      const answer = await refreshBackend(c.env, backend);
      if (!answer.ok) {
        throw new HttpError(502, "bad_gateway", answer.error, { backend: backend.name });
      }
      const fetchedAt = new Date(answer.catalog.fetchedAt).toISOString();
      const protocolEra = answer.catalog.era === "modern" ? "2026-07-28" : "2025";
      return c.json({ backend: backend.name, ...catalogCounts(answer.catalog), fetchedAt, protocolEra } as const, 200);
    },
  );
