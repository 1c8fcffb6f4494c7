/**
 * `/api/plugins`: plugin instances, and `/api/plugins/kinds`: the built-in
 * kinds with their config schemas (JSON Schema, from the same zod schemas
 * that validate configs).
 *
 * A plugin is validated as a whole before it is stored: the kind must exist,
 * every hook must be one the kind implements, `config` must match the kind's
 * schema (400 naming each field as `config.<path>`), and kinds with save-time
 * checks run them (e.g. a webhook URL's address). Every write bumps the
 * config version, so each isolate recompiles its chain within about a second.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { database } from "../config/db";
import type { PluginRow } from "../config/schema";
import { NameParam, Slug } from "../config/shapes";
import {
  deletePlugin,
  getPluginRow,
  insertPlugin,
  listPluginRows,
  type PluginFields,
  replacePlugin,
} from "../config/store/plugins";
import type { AppEnv } from "../env";
import { type FieldIssue, HttpError } from "../errors";
import { BUILTIN_KINDS } from "../plugins/kinds";
import { ConfigIssues, HOOKS, type HookName, type PluginKind } from "../plugins/types";
import { markDeprecated } from "./naming";
import { apiRouter, commonErrors, conflict, fieldIssues, jsonBody, jsonResponse, noContent, notFound } from "./openapi";
import {
  ConditionInput,
  conditionsToInternal,
  conditionsToPublic,
  configToInternal,
  configToPublic,
  publicConfigSchema,
  publicIssue,
} from "./plugin-naming";

const Hook = z.enum(HOOKS);
const Mode = z.enum(["enforce", "permissive", "disabled"]);

const pluginFields = {
  kind: z
    .string()
    .min(1)
    .max(64)
    .openapi({ description: "A built-in kind (GET /api/plugins/kinds)", example: "pii_filter" }),
  mode: Mode.optional().openapi({ description: "Default enforce" }),
  priority: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .optional()
    .openapi({ description: "Lower runs first; equal priorities form a band. Default 100" }),
  hooks: z
    .array(Hook)
    .min(1)
    .max(HOOKS.length)
    .refine((a) => new Set(a).size === a.length, "must not repeat hooks")
    .optional()
    .openapi({ description: "Default: the kind's default hooks" }),
  conditions: z
    .array(ConditionInput)
    .max(20)
    .nullable()
    .optional()
    .openapi({ description: "OR across objects, AND within one; omitted or null = always" }),
  config: z.record(z.string(), z.unknown()).optional().openapi({
    description:
      "The kind's settings plus timeoutMs and onError, in camelCase (snake_case spellings are deprecated); validated against the kind's schema",
  }),
};

const PluginName = Slug.refine((n) => n !== "kinds", "is reserved");

export const PluginCreate = z.strictObject({ name: PluginName, ...pluginFields }).openapi("PluginCreate");
export const PluginUpdate = z
  .strictObject(pluginFields)
  .partial()
  .openapi("PluginUpdate", { description: "Fields not given are kept; `config` replaces the whole config" });

export const Plugin = z
  .object({
    name: z.string(),
    kind: z.string(),
    mode: Mode,
    priority: z.number().int(),
    hooks: z.array(Hook),
    conditions: z.array(z.record(z.string(), z.array(z.string()))).nullable(),
    config: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Plugin");

export const PluginKindInfo = z
  .object({
    kind: z.string(),
    description: z.string(),
    hooks: z.array(Hook),
    defaultHooks: z.array(Hook),
    configSchema: z.record(z.string(), z.unknown()).openapi({ description: "JSON Schema (draft 2020-12) of `config`" }),
  })
  .openapi("PluginKind");

type PluginView = z.infer<typeof Plugin>;

/** A stored plugin as the API shows it (camelCase, secrets redacted). */
export function pluginView(row: PluginRow): PluginView {
  const kind = BUILTIN_KINDS.get(row.kind);
  return {
    name: row.name,
    kind: row.kind,
    mode: row.mode,
    priority: row.priority,
    hooks: row.hooks as HookName[],
    conditions: conditionsToPublic(row.conditions) as PluginView["conditions"],
    config: configToPublic(kind, kind ? kind.view(row.config) : row.config),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const invalid = (issues: FieldIssue[]) => new HttpError(400, "validation_failed", "Invalid request", issues);

/** A whole plugin before validation, in the stored spelling. */
export interface Draft {
  kind: string;
  mode: PluginRow["mode"];
  priority: number;
  hooks: readonly HookName[] | undefined;
  conditions: PluginRow["conditions"];
  config: Record<string, unknown>;
}

/** Validates a whole plugin against its kind and returns the fields to store (config sealed). */
export async function validated(
  c: Context<AppEnv>,
  draft: Draft,
  previousConfig: Record<string, unknown> | null,
): Promise<Omit<PluginFields, "name">> {
  const kind: PluginKind | undefined = BUILTIN_KINDS.get(draft.kind);
  if (!kind) {
    throw invalid([
      { path: "kind", message: `unknown kind '${draft.kind}'; known: ${[...BUILTIN_KINDS.keys()].join(", ")}` },
    ]);
  }
  const issues: FieldIssue[] = [];
  const hooks = draft.hooks ?? kind.defaultHooks;
  hooks.forEach((h, i) => {
    if (!kind.hooks.includes(h)) {
      issues.push({
        path: `hooks.${i}`,
        message: `'${h}' is not supported by kind '${kind.kind}' (supported: ${kind.hooks.join(", ")})`,
      });
    }
  });
  if (kind.requiredTogether.some((h) => !hooks.includes(h))) {
    issues.push({ path: "hooks", message: `kind '${kind.kind}' needs all of ${kind.requiredTogether.join(", ")}` });
  }
  const configIssue = (i: FieldIssue) => publicIssue(kind, { path: `config.${i.path}`, message: i.message });
  const parsed = kind.parse(draft.config);
  if (!parsed.success) {
    for (const issue of fieldIssues(parsed.error)) {
      issues.push(issue.path === "(body)" ? { path: "config", message: issue.message } : configIssue(issue));
    }
  }
  if (issues.length > 0 || !parsed.success) throw invalid(issues);
  const checks = await kind.check(parsed.data, c.env);
  if (checks.length > 0) throw invalid(checks.map(configIssue));
  let config: Record<string, unknown>;
  try {
    config = await kind.seal(parsed.data, previousConfig, c.env);
  } catch (err) {
    if (err instanceof ConfigIssues) throw invalid(err.issues.map(configIssue));
    throw err;
  }
  return {
    kind: kind.kind,
    mode: draft.mode,
    priority: draft.priority,
    hooks: [...hooks],
    conditions: draft.conditions,
    config,
  };
}

/** The caller's config and conditions in the stored spelling (400 for a field given in both spellings). */
export function internalParts(
  c: Context<AppEnv>,
  kindName: string,
  config: Record<string, unknown> | undefined,
  conditions: readonly Record<string, unknown>[] | null | undefined,
) {
  const kind = BUILTIN_KINDS.get(kindName);
  const renamed = config && kind ? configToInternal(kind, config) : { value: config, deprecated: [], issues: [] };
  if (renamed.issues.length > 0) throw invalid(renamed.issues);
  const renamedConditions = conditionsToInternal(conditions);
  markDeprecated(c, [...renamed.deprecated, ...renamedConditions.deprecated]);
  return { config: renamed.value, conditions: renamedConditions.value };
}

const tags = ["plugins"];

/** Routes under /api/plugins. */
export const pluginRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/kinds",
      tags,
      summary: "List the built-in plugin kinds and their config schemas",
      responses: { 200: jsonResponse(z.array(PluginKindInfo), "Every kind"), ...commonErrors },
    }),
    (c) =>
      c.json(
        [...BUILTIN_KINDS.values()].map((k) => ({
          kind: k.kind,
          description: k.description,
          hooks: [...k.hooks],
          defaultHooks: [...k.defaultHooks],
          configSchema: publicConfigSchema(k),
        })),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Create a plugin instance",
      request: { body: jsonBody(PluginCreate) },
      responses: { 201: jsonResponse(Plugin, "The stored plugin"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const parts = internalParts(c, input.kind, input.config, input.conditions);
      const fields = await validated(
        c,
        {
          kind: input.kind,
          mode: input.mode ?? "enforce",
          priority: input.priority ?? 100,
          hooks: input.hooks,
          conditions: parts.conditions ?? null,
          config: parts.config ?? {},
        },
        null,
      );
      return c.json(pluginView(await insertPlugin(database(c.env.DB), { name: input.name, ...fields })), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List plugins in execution order (priority, then name)",
      responses: { 200: jsonResponse(z.array(Plugin), "All plugins"), ...commonErrors },
    }),
    async (c) => c.json((await listPluginRows(database(c.env.DB))).map(pluginView), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{name}",
      tags,
      summary: "Read a plugin",
      request: { params: NameParam },
      responses: { 200: jsonResponse(Plugin, "The plugin"), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(pluginView(await getPluginRow(database(c.env.DB), c.req.valid("param").name)), 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{name}",
      tags,
      summary: "Update a plugin",
      description: "Fields not given are kept. `config` replaces the whole config; `********` keeps a stored secret.",
      request: { params: NameParam, body: jsonBody(PluginUpdate) },
      responses: { 200: jsonResponse(Plugin, "The updated plugin"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const db = database(c.env.DB);
      const current = await getPluginRow(db, c.req.valid("param").name);
      const patch = c.req.valid("json");
      const parts = internalParts(c, patch.kind ?? current.kind, patch.config, patch.conditions);
      const fields = await validated(
        c,
        {
          kind: patch.kind ?? current.kind,
          mode: patch.mode ?? current.mode,
          priority: patch.priority ?? current.priority,
          // A new kind without new hooks gets that kind's defaults.
          hooks:
            patch.hooks ??
            (patch.kind !== undefined && patch.kind !== current.kind ? undefined : (current.hooks as HookName[])),
          conditions: parts.conditions === undefined ? current.conditions : parts.conditions,
          config: parts.config ?? current.config,
        },
        current.config,
      );
      return c.json(pluginView(await replacePlugin(db, current, fields)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{name}",
      tags,
      summary: "Remove a plugin",
      request: { params: NameParam },
      responses: { ...noContent, ...commonErrors, ...notFound },
    }),
    async (c) => {
      await deletePlugin(database(c.env.DB), c.req.valid("param").name);
      return c.body(null, 204);
    },
  );
