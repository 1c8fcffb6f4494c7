/**
 * `deny_list`: stops requests (or results) that contain any of a list of
 * words or phrases, case-insensitively. All terms compile into one RE2
 * pattern per config version (linear time: a backtracking engine tries every
 * term at every position, which for 1000 terms sharing a long prefix is
 * billions of steps on one long string); phrases match across any run of
 * whitespace.
 */
import { z } from "zod";
import { type LinearRegex, linearRegex, quoteLiteral } from "../regex-safety";
import { commonSettings } from "../settings";
import { defineKind, HOOKS } from "../types";
import { someString } from "../walk";

/** JavaScript's `\s` (RE2's is ASCII only): tab, LF, VT, FF, CR, BOM, line/paragraph separators and Zs. */
const SPACE = "[\\t\\n\\x{0B}\\f\\r\\x{FEFF}\\x{2028}\\x{2029}\\p{Zs}]+";
/** Anything but a letter, digit or `_` (in any script): what may surround a whole word. */
const NOT_WORD_CHAR = "[^\\p{L}\\p{N}_]";

/** A term as a pattern: each word quoted, the gaps between words any whitespace. */
function termSource(term: string): string {
  return term.trim().split(/\s+/).map(quoteLiteral).join(SPACE);
}

/**
 * One case-insensitive pattern for all terms. In `word` mode the characters
 * around a term must not be word characters; RE2 has no lookaround, so the
 * boundary characters are consumed instead, which is the same test for a
 * yes/no match.
 */
export function denyPattern(terms: readonly string[], match: "word" | "substring"): LinearRegex {
  const body = `(?i:${terms.map(termSource).join("|")})`;
  return linearRegex(match === "word" ? `(?:^|${NOT_WORD_CHAR})${body}(?:$|${NOT_WORD_CHAR})` : body);
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
