/**
 * `tool_filter`: allows or denies tools by name or glob pattern. A pattern
 * matches a tool's public name (`alpha__echo`), its name at the backend
 * (`echo`) or, for a tool a server aliased, the public name the alias stands for; globs compile to RE2 (conditions.ts), linear in the name. In enforce mode the tools it denies are also left out of
 * `tools/list`, so clients never see what they cannot call.
 */
import { z } from "zod";
import { compileMatcher, type Matcher, matcherProblem, matches } from "../conditions";
import { commonSettings } from "../settings";
import { defineKind } from "../types";

const Patterns = z
  .array(z.string().min(1).max(256))
  .min(1)
  .max(1000)
  .superRefine((patterns, ctx) => {
    if (patterns.length > 1000) return; // already an issue; not worth compiling
    const problem = matcherProblem(patterns);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const schema = z
  .strictObject({
    allow: Patterns.optional().describe("Only these tools (names or globs: * and ?) may be called"),
    deny: Patterns.optional().describe("These tools may not be called (wins over allow)"),
    ...commonSettings(),
  })
  .refine((c) => c.allow !== undefined || c.deny !== undefined, {
    message: "set allow, deny or both",
    path: ["allow"],
  });

export const toolFilter = defineKind({
  kind: "tool_filter",
  description: "Allows or denies tools by name or glob; denied tools are hidden from tools/list.",
  hooks: ["tool_pre_invoke"],
  defaultHooks: ["tool_pre_invoke"],
  schema,
  create(config) {
    const allow = config.allow ? compileMatcher(config.allow) : null;
    const deny = config.deny ? compileMatcher(config.deny) : null;
    // Every name of the tool counts: the public one, the backend's, and the one an alias stands for.
    const any = (m: Matcher, name: string, original: string, aliasOf?: string) =>
      matches(m, name) || matches(m, original) || (aliasOf !== undefined && matches(m, aliasOf));
    const permitted = (name: string, original: string, aliasOf?: string) =>
      (!allow || any(allow, name, original, aliasOf)) && !(deny && any(deny, name, original, aliasOf));
    return {
      modifies: () => false,
      listsTool: permitted,
      run(_hook, _value, ctx) {
        if (permitted(ctx.name, ctx.original, ctx.aliasOf)) return undefined;
        return { violation: { code: "TOOL_NOT_ALLOWED", description: `Tool '${ctx.name}' is not allowed` } };
      },
    };
  },
});
