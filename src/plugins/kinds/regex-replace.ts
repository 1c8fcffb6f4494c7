/**
 * `regex_replace`: search-and-replace over every string of the payload with
 * operator-supplied regular expressions. Patterns run on RE2 (regex-safety.ts),
 * so matching is linear in the input whatever the pattern; patterns RE2
 * cannot run (backreferences, lookaround) are refused at save time. Rules apply
 * only to strings up to `max_input_chars`; a longer string is a violation,
 * never a silent skip, so a policy cannot be bypassed by padding.
 */
import { z } from "zod";
import { compileUserRegex, type LinearRegex, replaceAll } from "../regex-safety";
import { commonSettings } from "../settings";
import { defineKind, HOOKS } from "../types";
import { mapStrings, someString } from "../walk";

const Rule = z.strictObject({
  pattern: z
    .string()
    .min(1)
    .max(500)
    .describe("Regular expression in JavaScript syntax, run by RE2 (no backreferences or lookaround)"),
  replacement: z.string().max(1000).describe("Replacement; $1, $<name> and $& refer to the match"),
  flags: z
    .string()
    // Linear checks only: a backreference here would itself be quadratic on a long string.
    .regex(/^[imsu]{0,4}$/, "must be distinct flags from i, m, s, u")
    .refine((f) => new Set(f).size === f.length, "must be distinct flags from i, m, s, u")
    .default("")
    .describe("Extra flags (g is always on)"),
});

const schema = z
  .strictObject({
    rules: z.array(Rule).min(1).max(50),
    max_input_chars: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(100_000)
      .describe("Longest string the rules run on; a longer one is a violation"),
    ...commonSettings(),
  })
  .superRefine((config, ctx) => {
    config.rules.forEach((rule, i) => {
      const verdict = compileUserRegex(rule.pattern, rule.flags);
      if (!verdict.ok) ctx.addIssue({ code: "custom", path: ["rules", i, "pattern"], message: verdict.reason });
    });
  });

export const regexReplace = defineKind({
  kind: "regex_replace",
  description: "Rewrites strings with regular expressions, matched in linear time (RE2).",
  hooks: HOOKS,
  defaultHooks: ["tool_pre_invoke", "tool_post_invoke"],
  schema,
  create(config) {
    const rules: Array<{ re: LinearRegex; replacement: string }> = [];
    for (const r of config.rules) {
      const verdict = compileUserRegex(r.pattern, r.flags);
      // The schema refused such a rule already; a stored one that no longer compiles fails the plugin.
      if (!verdict.ok) throw new Error(`rule pattern ${verdict.reason}`);
      rules.push({ re: verdict.regex, replacement: r.replacement });
    }
    const max = config.max_input_chars;
    const apply = (s: string) => {
      let out = s;
      for (const r of rules) out = replaceAll(r.re, out, r.replacement);
      return out;
    };
    return {
      modifies: () => true,
      run(_hook, value) {
        if (someString(value, (s) => s.length > max)) {
          return {
            violation: {
              code: "INPUT_TOO_LONG",
              description: `A string is longer than the ${max} characters regex_replace may scan`,
              details: { max_input_chars: max },
            },
          };
        }
        const out = mapStrings(value, apply);
        return out === value ? undefined : { modified: out };
      },
    };
  },
});
