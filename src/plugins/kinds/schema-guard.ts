/**
 * `schema_guard`: validates tool arguments against the tool's own
 * `inputSchema` from the catalog, and `structuredContent` against its
 * `outputSchema`, with @cfworker/json-schema (no code generation, so it runs
 * on workerd, where `new Function` is not allowed). Validators are built once
 * per schema object and reused while the catalog entry lives.
 *
 * The dialect is the schema's `$schema` if it names a known draft, else
 * 2020-12 (MCP 2025-11-25's default). Violations name the failing locations
 * and keywords, never the values. The catalog lookup is bounded (core/plugin-hooks.ts):
 * a tool not catalogued in time passes unless `require_catalog` is set.
 */
import { type Schema, Validator } from "@cfworker/json-schema";
import { z } from "zod";
import { commonSettings } from "../settings";
import { defineKind } from "../types";

type Draft = "4" | "7" | "2019-09" | "2020-12";

function draftOf(schema: Record<string, unknown>): Draft {
  const id = typeof schema.$schema === "string" ? schema.$schema : "";
  if (id.includes("draft-04")) return "4";
  if (id.includes("draft-07") || id.includes("draft-06")) return "7";
  if (id.includes("2019-09")) return "2019-09";
  return "2020-12";
}

const validators = new WeakMap<object, Validator>();

function validatorFor(schema: Record<string, unknown>): Validator {
  let v = validators.get(schema);
  if (!v) {
    v = new Validator(schema as Schema, draftOf(schema), false);
    validators.set(schema, v);
  }
  return v;
}

/** Validates `instance`; the first few failing locations and keywords, or null when valid. */
export function schemaErrors(
  schema: Record<string, unknown>,
  instance: unknown,
): Array<{ location: string; keyword: string }> | null {
  const result = validatorFor(schema).validate(instance);
  if (result.valid) return null;
  // The deepest errors say the most; parents repeat them ("properties" failed because "type" did).
  const leaves = result.errors.filter(
    (e) => !result.errors.some((o) => o !== e && o.keywordLocation.startsWith(`${e.keywordLocation}/`)),
  );
  return leaves.slice(0, 5).map((e) => ({ location: e.instanceLocation, keyword: e.keyword }));
}

function isSchema(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const schema = z.strictObject({
  arguments: z.boolean().default(true).describe("Validate arguments against inputSchema"),
  structured_content: z.boolean().default(true).describe("Validate structuredContent against outputSchema"),
  require_catalog: z
    .boolean()
    .default(false)
    .describe("Treat a tool missing from the catalog (not yet fetched) as a violation instead of letting it through"),
  ...commonSettings(),
});

export const schemaGuard = defineKind({
  kind: "schema_guard",
  description: "Validates tool arguments against inputSchema and structuredContent against outputSchema.",
  hooks: ["tool_pre_invoke", "tool_post_invoke"],
  defaultHooks: ["tool_pre_invoke", "tool_post_invoke"],
  schema,
  create(config) {
    return {
      modifies: () => false,
      async run(hook, value, ctx) {
        if (hook.phase === "pre" ? !config.arguments : !config.structured_content) return undefined;
        const tool = await ctx.tool();
        if (!tool) {
          if (!config.require_catalog) return undefined;
          return {
            violation: { code: "SCHEMA_UNAVAILABLE", description: `The schema of tool '${ctx.name}' is not known yet` },
          };
        }
        if (hook.phase === "pre") {
          if (!isSchema(tool.inputSchema)) return undefined;
          const errors = schemaErrors(tool.inputSchema, value);
          if (!errors) return undefined;
          return {
            violation: {
              code: "INVALID_ARGUMENTS",
              description: `The arguments do not match the inputSchema of tool '${ctx.name}'`,
              details: { errors },
            },
          };
        }
        const result = value as Record<string, unknown>;
        if (!isSchema(tool.outputSchema) || result.isError === true) return undefined;
        if (result.structuredContent === undefined) {
          return {
            violation: {
              code: "MISSING_STRUCTURED_CONTENT",
              description: `Tool '${ctx.name}' declares an outputSchema but returned no structuredContent`,
            },
          };
        }
        const errors = schemaErrors(tool.outputSchema, result.structuredContent);
        if (!errors) return undefined;
        return {
          violation: {
            code: "INVALID_STRUCTURED_CONTENT",
            description: `The structuredContent does not match the outputSchema of tool '${ctx.name}'`,
            details: { errors },
          },
        };
      },
    };
  },
});
