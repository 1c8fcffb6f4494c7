/**
 * `/api/config`: configuration as code. `GET /export` answers the whole
 * configuration as one versioned `ConfigDocument`; `POST /import` validates
 * a document as a whole, shows the changes per object (`dryRun=true`) or
 * applies them in one D1 batch with one config version bump, so a failed
 * import changes nothing. `npm run config -- export|diff|apply` wraps both.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { backendConfig, ringOrNull } from "../config/d1-source";
import { database } from "../config/db";
import { readAllRows, writeImport } from "../config/store/import";
import { HttpError } from "../errors";
import { removeBackend, syncBackend } from "./backend-lifecycle";
import { ConfigDocument } from "./config-document";
import { exportDocument } from "./config-export";
import { planImport } from "./config-import";
import { apiRouter, commonErrors, conflict, fieldIssues, jsonBody, jsonResponse } from "./openapi";

const tags = ["config"];

const Section = z.object({
  created: z.array(z.string()),
  updated: z.array(z.object({ name: z.string(), fields: z.array(z.string()) })),
  deleted: z.array(z.string()),
  unchanged: z.number().int(),
});

const ImportResult = z
  .object({
    mode: z.enum(["merge", "replace"]),
    dryRun: z.boolean(),
    applied: z.boolean().openapi({ description: "True when something was written (never on a dry run)" }),
    changes: z.object({ backends: Section, servers: Section, plugins: Section, tokens: Section }),
  })
  .openapi("ConfigImportResult");

const ImportQuery = z.strictObject({
  mode: z
    .enum(["merge", "replace"])
    .default("merge")
    .openapi({ description: "merge: create and update; replace: also delete what the document does not list" }),
  dryRun: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "true: validate and show the changes, write nothing" }),
});

/** Routes under /api/config. */
export const configRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/export",
      tags,
      summary: "The whole configuration as one versioned document",
      description:
        "Backends, virtual servers, plugins and API tokens' metadata, sorted by name. Never a secret: header values are `{secretRef}` references, tokens carry the SHA-256 of their secret (the secret is never stored).",
      responses: { 200: jsonResponse(ConfigDocument, "The configuration document"), ...commonErrors },
    }),
    async (c) => c.json(exportDocument(await readAllRows(database(c.env.DB))), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/import",
      tags,
      summary: "Validate, diff and apply a configuration document",
      description:
        "The whole document is validated first; a 400 names every problem by its path in the document. A document from a newer schema version is refused. `dryRun=true` answers the changes without writing. Otherwise every change is written in one D1 batch with one config version bump: all or nothing. An unfilled `{secretRef}` keeps the value the gateway stores for that header.",
      request: { query: ImportQuery, body: jsonBody(ConfigDocument) },
      responses: { 200: jsonResponse(ImportResult, "What changed (or would)"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      const { mode, dryRun } = c.req.valid("query");
      const doc = c.req.valid("json");
      const db = database(c.env.DB);
      const plan = await planImport(c, doc, await readAllRows(db), mode);
      const applied = dryRun === "true" ? false : await writeImport(db, plan.write);
      if (applied) {
        // The Durable Objects never read D1: tell them, as the single-object routes do (best effort, after the commit).
        const ring = await ringOrNull(c.env);
        for (const row of plan.write.put.backends) await syncBackend(c.env, await backendConfig(row, ring));
        for (const name of plan.removed) await removeBackend(c.env, name);
      }
      return c.json({ mode, dryRun: dryRun === "true", applied, changes: plan.changes }, 200);
    },
    (result): undefined => {
      if (result.success) return undefined;
      const issues = fieldIssues(result.error);
      // A document from a newer schema version may hold anything: refuse it for that reason alone.
      const newer = issues.find((i) => i.path === "schemaVersion" && i.message.includes("newer"));
      if (newer) throw new HttpError(400, "validation_failed", "The document is from a newer schema version", [newer]);
      throw new HttpError(400, "validation_failed", "Invalid request", issues);
    },
  );
