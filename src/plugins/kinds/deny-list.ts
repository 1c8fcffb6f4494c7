/**
 * `deny_list`: stops requests (or results) that contain any of a list of
 * words or phrases, case-insensitively. All terms compile into one regular
 * expression per config version; phrases match across any run of whitespace.
 */
import { z } from "zod";
import { commonSettings } from "../settings";
import { defineKind, HOOKS } from "../types";
import { someString } from "../walk";

/** A term as a pattern: every syntax character escaped (only those: the `u` flag rejects other escapes). */
function termSource(term: string): string {
  return term
    .trim()
    .split(/\s+/)
    .map((w) => w.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"))
    .join("\\s+");
}

/** One case-insensitive expression for all terms; `word` mode requires non-letter boundaries. */
export function denyPattern(terms: readonly string[], match: "word" | "substring"): RegExp {
  const body = [...terms]
    .sort((a, b) => b.length - a.length)
    .map(termSource)
    .join("|");
  return match === "word"
    ? new RegExp(`(?<![\\p{L}\\p{N}_])(?:${body})(?![\\p{L}\\p{N}_])`, "iu")
    : new RegExp(`(?:${body})`, "iu");
}

const schema = z
  .strictObject({
    words: z
      .array(z.string().trim().min(1).max(200))
      .min(1)
      .max(1000)
      .describe("Words or phrases to deny (case-insensitive)"),
    match: z
      .enum(["word", "substring"])
      .default("word")
      .describe("word: only whole words/phrases; substring: anywhere, also inside words"),
    ...commonSettings(),
  })
  .superRefine((config, ctx) => {
    // Built once here as well, so a term that cannot compile is a 400 at save time, not a failing plugin.
    try {
      denyPattern(config.words, config.match);
    } catch {
      ctx.addIssue({ code: "custom", path: ["words"], message: "cannot be compiled into a pattern" });
    }
  });

export const denyList = defineKind({
  kind: "deny_list",
  description: "Blocks payloads containing any listed word or phrase (case-insensitive).",
  hooks: HOOKS,
  defaultHooks: ["tool_pre_invoke", "prompt_pre_fetch"],
  schema,
  create(config) {
    const pattern = denyPattern(config.words, config.match);
    return {
      modifies: () => false,
      run(_hook, value) {
        if (!someString(value, (s) => pattern.test(s))) return undefined;
        return { violation: { code: "DENIED_CONTENT", description: "The payload contains a denied term" } };
      },
    };
  },
});
