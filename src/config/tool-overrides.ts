/**
 * The shape of per-server tool overrides at the admin API (README, "Tool
 * overrides"): zod schemas for input and output, and the normalisation of
 * the snake_case spellings the API accepts (`fixed_arguments`,
 * `default_arguments`, `tool_overrides`) to the camelCase ones it stores and
 * answers (README, "Field names"). What needs the backends' catalogs (known
 * tools, collisions, arguments against the input schema) is checked by
 * `api/tool-override-checks.ts`; this module checks only the shape.
 */
import { z } from "@hono/zod-openapi";
import type { FieldIssue } from "../errors";
import { LIMITS } from "./limits";
import type { ToolOverride } from "./snapshot";

/**
 * A valid public tool name: 1-64 characters of `[A-Za-z0-9_./-]` (MCP
 * 2025-11-25 server/tools, "Tool names"). The same rule as
 * `core/names.ts`, restated here because config sits below core.
 */
export const TOOL_NAME = /^[A-Za-z0-9_./-]{1,64}$/;

/** Arguments fixed or defaulted by an override: a bounded object of JSON values. */
const Arguments = z
  .record(z.string().min(1).max(128), z.unknown())
  .refine((a) => Object.keys(a).length <= LIMITS.argumentsPerOverride, {
    message: `at most ${LIMITS.argumentsPerOverride} arguments`,
  })
  .openapi({ example: { owner: "acme", repo: "gateway" } });

/** MCP `ToolAnnotations` (server/tools): hints only, merged over the backend's own. */
const Annotations = z
  .strictObject({
    title: z.string().max(256).optional(),
    readOnlyHint: z.boolean().optional(),
    destructiveHint: z.boolean().optional(),
    idempotentHint: z.boolean().optional(),
    openWorldHint: z.boolean().optional(),
  })
  .openapi({ example: { readOnlyHint: true } });

const deprecatedArguments = (name: string) =>
  Arguments.optional().openapi({ deprecated: true, description: `Deprecated spelling of ${name}` });

/** One override as the API accepts it. */
export const ToolOverrideInput = z
  .strictObject({
    tool: z.string().min(1).max(128).openapi({
      description:
        "The tool's public name on this server without overrides (`github__search`, or `search` with `prefix: false`)",
      example: "github__search",
    }),
    alias: z
      .string()
      .regex(TOOL_NAME, "must be a valid tool name: 1-64 characters of A-Z a-z 0-9 _ . / -")
      .optional()
      .openapi({ description: "Public name instead of `tool` (which is then neither listed nor callable)" }),
    title: z.string().min(1).max(256).optional(),
    description: z.string().min(1).max(LIMITS.overrideDescriptionChars).optional(),
    annotations: Annotations.optional(),
    fixedArguments: Arguments.optional().openapi({
      description:
        "Sent on every call and hidden from the listed inputSchema; a call that sets one is refused (-32602)",
    }),
    defaultArguments: Arguments.optional().openapi({ description: "Sent when the call omits them" }),
    fixed_arguments: deprecatedArguments("fixedArguments"),
    default_arguments: deprecatedArguments("defaultArguments"),
  })
  .openapi("ToolOverrideInput");

/** One override as the API answers it. */
export const ToolOverrideView = z
  .object({
    tool: z.string(),
    alias: z.string().optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
    fixedArguments: z.record(z.string(), z.unknown()).optional(),
    defaultArguments: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("ToolOverride");

/** The `toolOverrides` field of a server (and its deprecated spelling). */
export const toolOverrideFields = {
  toolOverrides: z
    .array(ToolOverrideInput)
    .max(LIMITS.toolOverridesPerServer)
    .optional()
    .openapi({ description: "Per-tool overrides (README, Tool overrides); replaces the whole list on PATCH" }),
  tool_overrides: z
    .array(ToolOverrideInput)
    .max(LIMITS.toolOverridesPerServer)
    .optional()
    .openapi({ deprecated: true, description: "Deprecated spelling of toolOverrides" }),
};

type OverrideInput = z.infer<typeof ToolOverrideInput>;

/** Overrides in the stored spelling, the deprecated spellings used, and shape problems. */
export interface NormalizedOverrides {
  /** undefined: the input did not set overrides. */
  value: ToolOverride[] | undefined;
  deprecated: string[];
  issues: FieldIssue[];
}

function normalizeOne(o: OverrideInput, path: string, deprecated: string[], issues: FieldIssue[]): ToolOverride {
  const pick = (camel: "fixedArguments" | "defaultArguments", snake: "fixed_arguments" | "default_arguments") => {
    if (o[camel] !== undefined && o[snake] !== undefined) {
      issues.push({ path: `${path}.${camel}`, message: `is given twice (as ${camel} and ${snake})` });
    }
    if (o[snake] !== undefined) deprecated.push(`${path}.${snake}`);
    return o[camel] ?? o[snake];
  };
  const fixed = pick("fixedArguments", "fixed_arguments");
  const defaults = pick("defaultArguments", "default_arguments");
  for (const name of Object.keys(fixed ?? {})) {
    if (defaults && Object.hasOwn(defaults, name)) {
      issues.push({ path: `${path}.defaultArguments.${name}`, message: "is also a fixed argument" });
    }
  }
  // Key order is fixed, so the same override always stores and exports as the same text.
  return {
    tool: o.tool,
    ...(o.alias !== undefined && { alias: o.alias }),
    ...(o.title !== undefined && { title: o.title }),
    ...(o.description !== undefined && { description: o.description }),
    ...(o.annotations !== undefined && { annotations: o.annotations }),
    ...(fixed !== undefined && Object.keys(fixed).length > 0 && { fixedArguments: fixed }),
    ...(defaults !== undefined && Object.keys(defaults).length > 0 && { defaultArguments: defaults }),
  };
}

/**
 * The overrides of a server input (`toolOverrides` or, deprecated,
 * `tool_overrides`), in the stored spelling. Checks what needs no catalog:
 * both spellings of one field, an argument both fixed and defaulted, one
 * tool overridden twice, and aliases repeated within the list.
 */
export function normalizeOverrides(
  input: { toolOverrides?: OverrideInput[]; tool_overrides?: OverrideInput[] },
  base = "toolOverrides",
): NormalizedOverrides {
  const deprecated: string[] = [];
  const issues: FieldIssue[] = [];
  if (input.toolOverrides !== undefined && input.tool_overrides !== undefined) {
    issues.push({ path: base, message: "is given twice (as toolOverrides and tool_overrides)" });
  }
  if (input.tool_overrides !== undefined && input.toolOverrides === undefined) deprecated.push("tool_overrides");
  const list = input.toolOverrides ?? input.tool_overrides;
  if (list === undefined) return { value: undefined, deprecated, issues };
  const seenTools = new Map<string, number>();
  const seenAliases = new Map<string, number>();
  const value = list.map((o, i) => {
    const path = `${base}.${i}`;
    const prior = seenTools.get(o.tool);
    if (prior !== undefined)
      issues.push({ path: `${path}.tool`, message: `'${o.tool}' is already overridden by ${base}.${prior}` });
    seenTools.set(o.tool, i);
    if (o.alias !== undefined) {
      const twice = seenAliases.get(o.alias);
      if (twice !== undefined) {
        issues.push({ path: `${path}.alias`, message: `collides with the alias of ${base}.${twice}` });
      }
      seenAliases.set(o.alias, i);
    }
    return normalizeOne(o, path, deprecated, issues);
  });
  return { value, deprecated, issues };
}
