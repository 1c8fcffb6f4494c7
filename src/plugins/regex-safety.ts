/**
 * Save-time screening of user-supplied regular expressions against
 * catastrophic backtracking (pure logic).
 *
 * JavaScript's engine backtracks, so a pattern such as `(a+)+$`, `(\w*)*` or
 * `(x+x+)+y` takes exponential time on a crafted input. Such patterns need a
 * quantified group that itself contains a quantifier (star height > 1). This
 * check rejects exactly that shape: any `*`, `+`, `{n,}` or `{n,m}` (m > 1)
 * applied to a group whose contents repeat. Backreferences are rejected too
 * (they make matching NP-hard). Remaining risk (overlapping alternatives
 * under one quantifier) is bounded by the plugins' input-length limits.
 */

export interface RegexVerdict {
  ok: boolean;
  reason?: string;
}

/** Reads a quantifier at `i`; returns its length and whether it repeats (max > 1), or null. */
function quantifierAt(src: string, i: number): { length: number; repeats: boolean } | null {
  const c = src[i];
  let length = 0;
  let repeats = false;
  if (c === "*" || c === "+") {
    length = 1;
    repeats = true;
  } else if (c === "?") {
    length = 1;
  } else if (c === "{") {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
    if (!m) return null;
    length = m[0].length;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
    repeats = max > 1;
  } else {
    return null;
  }
  if (src[i + length] === "?") length++; // lazy
  return { length, repeats };
}

/** True when `source` compiles and has no nested repetition or backreference. */
export function checkRegexSafety(source: string, flags = ""): RegexVerdict {
  try {
    new RegExp(source, flags);
  } catch (err) {
    return {
      ok: false,
      reason: `is not a valid regular expression (${err instanceof Error ? err.message : "syntax"})`,
    };
  }
  // One frame per open group: does anything inside repeat?
  const stack: boolean[] = [false];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === "\\") {
      const next = source[i + 1] ?? "";
      if (/[1-9]/.test(next) || (next === "k" && source[i + 2] === "<")) {
        return { ok: false, reason: "must not use backreferences" };
      }
      i += 2;
      const q = quantifierAt(source, i);
      if (q) {
        if (q.repeats) stack[stack.length - 1] = true;
        i += q.length;
      }
      continue;
    }
    if (c === "[") {
      // Skip the class, honouring escapes and a leading `]`.
      i++;
      if (source[i] === "^") i++;
      if (source[i] === "]") i++;
      while (i < source.length && source[i] !== "]") i += source[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "(") {
      stack.push(false);
      i++;
      if (source[i] === "?") {
        // (?:  (?=  (?!  (?<=  (?<!  (?<name>
        i++;
        if (source[i] === "<" && source[i + 1] !== "=" && source[i + 1] !== "!") {
          while (i < source.length && source[i] !== ">") i++;
        }
        i++;
      }
      continue;
    } else if (c === ")") {
      const inner = stack.pop() ?? false;
      i++;
      const q = quantifierAt(source, i);
      if (q) {
        if (q.repeats && inner) {
          return { ok: false, reason: "must not nest quantifiers (e.g. (a+)+): catastrophic backtracking" };
        }
        if (q.repeats) stack[stack.length - 1] = true;
        i += q.length;
      }
      if (inner) stack[stack.length - 1] = true;
      continue;
    } else {
      i++;
    }
    const q = quantifierAt(source, i);
    if (q) {
      if (q.repeats) stack[stack.length - 1] = true;
      i += q.length;
    }
  }
  return { ok: true };
}
