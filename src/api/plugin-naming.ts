/**
 * The camelCase boundary of `/api/plugins` (see `naming.ts`): plugin configs
 * and conditions are accepted in camelCase (and, deprecated, in the
 * snake_case the kinds' schemas use inside), answered in camelCase, and the
 * JSON Schemas published for each kind name camelCase fields. Field errors
 * from the kinds' schemas are renamed back, so a 400 names the field as the
 * caller should spell it.
 */
import { z } from "@hono/zod-openapi";
import type { FieldIssue } from "../errors";
import { ConditionSchema } from "../plugins/conditions";
import type { PluginKind } from "../plugins/types";
import { publicMessage, type Renamed, snakeToCamel, toInternal, toPublic } from "./naming";

/** Config fields the gateway sets itself; never input, never published. */
const INTERNAL_CONFIG_KEYS = new Set(["headers_sealed"]);

const knownByKind = new Map<string, ReadonlySet<string>>();

/** The internal (snake_case) top-level config fields of a kind, from its own schema. */
export function configKeys(kind: PluginKind): ReadonlySet<string> {
  let known = knownByKind.get(kind.kind);
  if (!known) {
    const schema = z.toJSONSchema(kind.schema, { io: "input", unrepresentable: "any" }) as {
      properties?: Record<string, unknown>;
    };
    known = new Set(Object.keys(schema.properties ?? {}));
    knownByKind.set(kind.kind, known);
  }
  return known;
}

const CONDITION_KEYS: ReadonlySet<string> = new Set(Object.keys(ConditionSchema.shape));

const patterns = ConditionSchema.shape.server_ids;
const deprecated = (name: string) =>
  patterns.openapi({ deprecated: true, description: `Deprecated spelling of ${name}` });

/** One condition object as the API accepts it: camelCase fields, or their deprecated snake_case spellings. */
export const ConditionInput = z
  .strictObject({
    serverIds: patterns.openapi({ description: "Backend or virtual server names (globs: * and ?)" }),
    tools: ConditionSchema.shape.tools,
    prompts: ConditionSchema.shape.prompts,
    resources: ConditionSchema.shape.resources,
    userPatterns: patterns.openapi({ description: "API token names (`admin`, `anonymous`; globs)" }),
    server_ids: deprecated("serverIds"),
    user_patterns: deprecated("userPatterns"),
  })
  .refine((c) => Object.keys(c).length > 0, "a condition needs at least one field")
  .refine((c) => !(c.serverIds && c.server_ids), { message: "is given twice", path: ["serverIds"] })
  .refine((c) => !(c.userPatterns && c.user_patterns), { message: "is given twice", path: ["userPatterns"] });

/** Conditions in the stored (snake_case) spelling, and the deprecated spellings used. */
export function conditionsToInternal(conditions: readonly Record<string, unknown>[] | null | undefined): {
  value: Record<string, unknown>[] | null | undefined;
  deprecated: string[];
} {
  if (!conditions) return { value: conditions, deprecated: [] };
  const used: string[] = [];
  const value = conditions.map((c, i) => {
    const renamed = toInternal(c, CONDITION_KEYS, `conditions.${i}`);
    used.push(...renamed.deprecated);
    return renamed.value;
  });
  return { value, deprecated: used };
}

/** Stored conditions as the API answers them. */
export function conditionsToPublic(stored: readonly unknown[] | null): Record<string, unknown>[] | null {
  if (!stored) return null;
  return stored.map((c) =>
    typeof c === "object" && c !== null ? toPublic(c as Record<string, unknown>, CONDITION_KEYS) : {},
  );
}

/** A config from the caller in the kind's internal spelling (fields the gateway sets are dropped). */
export function configToInternal(kind: PluginKind, config: Record<string, unknown>): Renamed {
  const renamed = toInternal(config, configKeys(kind), "config");
  for (const key of INTERNAL_CONFIG_KEYS) delete renamed.value[key];
  return renamed;
}

/** A stored config (already through the kind's `view`) as the API answers it. */
export function configToPublic(kind: PluginKind | undefined, stored: Record<string, unknown>): Record<string, unknown> {
  return kind ? toPublic(stored, configKeys(kind)) : stored;
}

/** A field issue from a kind's schema or checks, with the path and message in the public spelling. */
export function publicIssue(kind: PluginKind, issue: FieldIssue): FieldIssue {
  const known = configKeys(kind);
  const [head, first, ...rest] = issue.path.split(".");
  const path =
    head === "config" && first !== undefined
      ? ["config", known.has(first) ? snakeToCamel(first) : first, ...rest].join(".")
      : issue.path;
  return { path, message: publicMessage(issue.message, known) };
}

/**
 * A kind's config JSON Schema as published: top-level properties and
 * `required` in camelCase, gateway-set fields left out, and snake_case names
 * in descriptions renamed.
 */
export function publicConfigSchema(kind: PluginKind): Record<string, unknown> {
  const known = configKeys(kind);
  const schema = z.toJSONSchema(kind.schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown> & {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    if (INTERNAL_CONFIG_KEYS.has(key)) continue;
    const description = typeof value.description === "string" ? publicMessage(value.description, known) : undefined;
    properties[snakeToCamel(key)] = description === undefined ? value : { ...value, description };
  }
  return {
    ...schema,
    properties,
    ...(schema.required && { required: schema.required.filter((k) => !INTERNAL_CONFIG_KEYS.has(k)).map(snakeToCamel) }),
  };
}
