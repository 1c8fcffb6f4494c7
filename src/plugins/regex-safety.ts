/**
 * Every regular expression that configuration supplies runs on RE2 (the
 * re2js port): matching time is linear in the input whatever the pattern, so
 * no pattern/input pair can freeze an isolate. JavaScript's backtracking
 * engine cannot promise that, and a synchronous match cannot be interrupted
 * by a plugin's `timeout_ms`; screening patterns for "bad shapes" misses
 * cases such as `(x|x)*y`, so this module relies on the engine instead.
 *
 * Operator patterns (regex_replace) are written in JavaScript syntax and
 * translated with re2js' own `translateRegExp`. RE2 has no backreferences and
 * no lookaround (both need backtracking); those are refused at save time with
 * a reason rather than left to a parse error, and `\k<name>` is caught here
 * because the translation would otherwise read it as the literal `k<name>`.
 */
import { RE2JS } from "re2js";

/** A compiled linear-time pattern. */
export type LinearRegex = RE2JS;

export type RegexVerdict = { ok: true; regex: LinearRegex } | { ok: false; reason: string };

/**
 * JavaScript flags and their RE2 equivalents. `u` needs none: RE2 always
 * matches by code point and always understands `\p{…}`. `g` is implied by
 * the callers (regex_replace replaces every match).
 */
const FLAG_BITS: Readonly<Record<string, number>> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  u: 0,
};

/** Names a JavaScript-only construct (outside character classes) RE2 cannot run, or null. */
function unsupportedConstruct(source: string): string | null {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const next = source[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(next) || (next === "k" && source[i + 2] === "<"))) {
        return "must not use backreferences (\\1, \\k<name>): RE2 matches in linear time and has none";
      }
      i++;
    } else if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") {
      inClass = true;
    } else if (c === "(" && source[i + 1] === "?") {
      const kind = source.slice(i + 2, i + 4);
      if (kind.startsWith("=") || kind.startsWith("!")) {
        return "must not use lookahead ((?=…), (?!…)): RE2 matches in linear time and has none";
      }
      if (kind === "<=" || kind === "<!") {
        return "must not use lookbehind ((?<=…), (?<!…)): RE2 matches in linear time and has none";
      }
    }
  }
  return null;
}

/**
 * Compiles an operator-supplied pattern (JavaScript syntax, flags from
 * `imsu`) for RE2. Never throws: an unusable pattern comes back with the
 * reason, for a 400 naming the field.
 */
export function compileUserRegex(source: string, flags: string): RegexVerdict {
  const unsupported = unsupportedConstruct(source);
  if (unsupported) return { ok: false, reason: unsupported };
  let bits = 0;
  for (const flag of flags) {
    const bit = FLAG_BITS[flag];
    if (bit === undefined) return { ok: false, reason: `flag '${flag}' is not supported (use i, m, s, u)` };
    bits |= bit;
  }
  try {
    return { ok: true, regex: RE2JS.compile(RE2JS.translateRegExp(source), bits) };
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^error parsing regexp: /, "") : "syntax";
    return { ok: false, reason: `is not a valid RE2 regular expression (${detail})` };
  }
}

/**
 * Compiles a pattern the gateway assembled itself in RE2 syntax (quoted
 * terms, globs). Throws only when it is too large for RE2 (`expression too
 * large`), which callers check at save time.
 */
export function linearRegex(source: string, flags = 0): LinearRegex {
  return RE2JS.compile(source, flags);
}

/** `text` as an RE2 pattern matching exactly that text. */
export function quoteLiteral(text: string): string {
  return RE2JS.quote(text);
}

/**
 * Replaces every match of `regex` in `input` with `replacement`, expanded as
 * `String.prototype.replace` does (`$1`, `$<name>`, `$&`, `` $` ``, `$'`,
 * `$$`). A string without a match is returned as is after one pass of RE2's
 * DFA, the cheapest way to say "no match".
 */
export function replaceAll(regex: LinearRegex, input: string, replacement: string): string {
  if (!regex.test(input)) return input;
  return regex.matcher(input).replaceAll(replacement);
}
