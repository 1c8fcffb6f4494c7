/**
 * Save-time checks of a virtual server's tool overrides (README, "Tool
 * overrides"), beyond their shape (`config/tool-overrides.ts`): each
 * overridden tool exists, no alias takes another tool's public name, and
 * fixed and default arguments fit the tool's input schema. A failure is one
 * 400 naming every problem by its path (`toolOverrides.0.alias`), raised
 * before anything is written.
 *
 * Catalogs come from the backends' Durable Objects for the widest capability
 * profile, as for name conflicts (`server-conflicts.ts`). A backend whose
 * catalog cannot be fetched now is not held against the save: its tools'
 * overrides are stored with the checks that need no catalog (backend known,
 * names valid, no collisions with what is known), and the rest is checked
 * on the next save. Operators must be able to edit a server while one of its
 * backends is down.
 */
import type { Context } from "hono";
import type { ServerConfig, ToolOverride } from "../config/snapshot";
import { catalogs } from "../core/catalog";
import { resolveEndpoint } from "../core/federation";
import { publicName, splitPublicName } from "../core/names";
import type { AppEnv } from "../env";
import { type FieldIssue, HttpError } from "../errors";
import { schemaErrors } from "../plugins/kinds/schema-guard";
import type { CatalogItem } from "../protocol/catalog-types";
import { ALL_PROFILES } from "../protocol/profiles";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Problems of one fixed or default argument against the tool's inputSchema.
 * When the schema declares `properties`, the name must be one of them (a
 * typo is far likelier than a deliberate undeclared argument); its value is
 * validated against that property's schema with the project's JSON Schema
 * validator (@cfworker/json-schema, as `schema_guard` uses), with the root's
 * `$defs` so local references resolve. A schema the validator cannot use is
 * not held against the save (the backend remains the judge of its input).
 */
function argumentProblem(tool: CatalogItem, name: string, value: unknown): string | null {
  const schema = tool.inputSchema;
  if (!isObject(schema) || !isObject(schema.properties)) return null;
  if (!Object.hasOwn(schema.properties, name)) {
    return `is not an argument of tool '${String(tool.name)}' (its inputSchema declares ${Object.keys(schema.properties).slice(0, 20).join(", ") || "none"})`;
  }
  const property = schema.properties[name];
  if (property === false) return `is not accepted by the tool's inputSchema`;
  if (!isObject(property)) return null;
  try {
    const rooted = {
      ...property,
      ...(schema.$defs !== undefined && { $defs: schema.$defs }),
      ...(schema.definitions !== undefined && { definitions: schema.definitions }),
      ...(schema.$schema !== undefined && { $schema: schema.$schema }),
    };
    const errors = schemaErrors(rooted, value);
    if (!errors) return null;
    const where = errors.map((e) => `${e.keyword} at ${e.location || "/"}`).join(", ");
    return `does not fit the tool's inputSchema (${where})`;
  } catch {
    return null;
  }
}

/** Every problem of `server`'s overrides; empty when they can be saved. */
export async function overrideIssues(c: Context<AppEnv>, server: ServerConfig): Promise<FieldIssue[]> {
  const overrides = server.toolOverrides;
  const issues: FieldIssue[] = [];
  const add = (i: number, field: string, message: string) =>
    issues.push({ path: `toolOverrides.${i}${field ? `.${field}` : ""}`, message });
  const aliases = new Map(overrides.flatMap((o, i) => (o.alias !== undefined ? [[o.alias, i] as const] : [])));
  server.tools?.forEach((t, j) => {
    const i = aliases.get(t);
    if (i !== undefined && overrides[i]?.tool !== t) {
      issues.push({
        path: `tools.${j}`,
        message: `names the alias of toolOverrides.${i}; \`tools\` lists names before aliases ('${overrides[i]?.tool}')`,
      });
    }
  });
  if (overrides.length === 0) return issues;

  const config = c.get("config");
  const endpoint = resolveEndpoint({ ...config, servers: new Map([[server.name, server]]) }, server.name);
  if (!endpoint) return issues;
  const members = new Set(server.backends ?? [...config.backends.keys()]);
  const widest = ALL_PROFILES[ALL_PROFILES.length - 1] ?? "";
  const found = await catalogs(c.env, endpoint.backends, widest, (w) => c.executionCtx.waitUntil(w));
  const complete = endpoint.backends.every((b) => found.catalogs.has(b.name));

  // Public names the server exposes without overrides (first backend by name wins, as in buildView).
  const names = new Map<string, { backend: string; item: CatalogItem }>();
  for (const b of [...endpoint.backends].sort((x, y) => x.name.localeCompare(y.name))) {
    for (const item of found.catalogs.get(b.name)?.tools ?? []) {
      const name = typeof item.name === "string" ? publicName(b.name, item.name, endpoint.prefix) : null;
      if (name && !names.has(name) && (!endpoint.tools || endpoint.tools.has(name))) {
        names.set(name, { backend: b.name, item });
      }
    }
  }

  overrides.forEach((o, i) => {
    if (endpoint.tools && !endpoint.tools.has(o.tool)) {
      add(i, "tool", `'${o.tool}' is not exposed by this server's \`tools\``);
      return;
    }
    const split = endpoint.prefix ? splitPublicName(o.tool) : null;
    let known = names.get(o.tool);
    if (endpoint.prefix && (!split || !members.has(split.backend))) {
      add(
        i,
        "tool",
        `unknown tool '${o.tool}': on this server tool names are <backend>__<name> with one of its backends`,
      );
      known = undefined;
    } else if (!known) {
      // Unknown for sure only when the catalog that would hold it was read.
      const readable = split ? found.catalogs.has(split.backend) : complete;
      if (readable) add(i, "tool", `unknown tool '${o.tool}': no backend of this server offers it`);
    }
    if (o.alias !== undefined && o.alias !== o.tool) aliasProblems(o.alias, i, names, members, endpoint.prefix, add);
    if (known) argumentProblems(o, i, known.item, add);
  });
  return issues;
}

function aliasProblems(
  alias: string,
  i: number,
  names: ReadonlyMap<string, { backend: string }>,
  members: ReadonlySet<string>,
  prefix: boolean,
  add: (i: number, field: string, message: string) => void,
): void {
  const taken = names.get(alias);
  if (taken) add(i, "alias", `'${alias}' collides with the public name of a tool of backend '${taken.backend}'`);
  const split = prefix ? splitPublicName(alias) : null;
  // Reserved even while that backend's catalog is unknown, so routing stays unambiguous when it appears.
  if (!taken && split && members.has(split.backend)) {
    add(i, "alias", `'${alias}' has the form of a public name of backend '${split.backend}'; choose another`);
  }
}

function argumentProblems(
  o: ToolOverride,
  i: number,
  tool: CatalogItem,
  add: (i: number, field: string, message: string) => void,
): void {
  for (const [field, args] of [
    ["fixedArguments", o.fixedArguments],
    ["defaultArguments", o.defaultArguments],
  ] as const) {
    for (const [name, value] of Object.entries(args ?? {})) {
      const problem = argumentProblem(tool, name, value);
      if (problem) add(i, `${field}.${name}`, problem);
    }
  }
}

/** Throws 400 naming every problem of the server's overrides (run before the server is written). */
export async function assertValidOverrides(c: Context<AppEnv>, server: ServerConfig): Promise<void> {
  const issues = await overrideIssues(c, server);
  if (issues.length > 0) throw new HttpError(400, "validation_failed", "Invalid tool overrides", issues);
}
