/**
 * Walking JSON payloads (pure logic): the text-scanning plugins look at every
 * string value, except binary payloads (`blob`, and `data` of image/audio
 * content), which are base64 and would only produce false positives and
 * corrupted media.
 *
 * `mapStrings` is copy on write: containers are copied only along the path to
 * a changed string, and an unchanged payload comes back as the same object.
 */

/** Deeper payloads are refused (a plugin failure) rather than risk the stack. */
export const MAX_DEPTH = 64;

export class TooDeep extends Error {
  constructor() {
    super(`payload nested deeper than ${MAX_DEPTH} levels`);
    this.name = "TooDeep";
  }
}

function isBinaryKey(container: Record<string, unknown>, key: string): boolean {
  if (key === "blob") return true;
  return key === "data" && (container.type === "image" || container.type === "audio");
}

/** Replaces strings through `fn`; returns `value` itself when nothing changed. */
export function mapStrings(value: unknown, fn: (s: string) => string, depth = 0): unknown {
  if (typeof value === "string") return fn(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = mapStrings(value[i], fn, depth + 1);
      if (next !== value[i]) {
        out ??= value.slice();
        out[i] = next;
      }
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key in record) {
    if (!Object.hasOwn(record, key) || isBinaryKey(record, key)) continue;
    const next = mapStrings(record[key], fn, depth + 1);
    if (next !== record[key]) {
      out ??= { ...record };
      out[key] = next;
    }
  }
  return out ?? value;
}

/** Calls `fn` for every string until it returns true; true when it did. */
export function someString(value: unknown, fn: (s: string) => boolean, depth = 0): boolean {
  if (typeof value === "string") return fn(value);
  if (typeof value !== "object" || value === null) return false;
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) {
    for (const item of value) if (someString(item, fn, depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key) || isBinaryKey(record, key)) continue;
    if (someString(record[key], fn, depth + 1)) return true;
  }
  return false;
}

/** UTF-8 byte length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // A surrogate pair: 4 bytes for 2 UTF-16 units.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/**
 * Size of a parsed JSON value in bytes as it would travel, without
 * serialising it: strings by UTF-8 length (plus quotes), numbers and literals
 * by their own length, separators counted. Stops as soon as the running total
 * exceeds `limit` (returns a value above it), so a huge payload costs no more
 * than the limit. An estimate within a few bytes per item, which is what a
 * size guard needs; escapes inside strings are not counted.
 */
export function estimateJsonBytes(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let total = 0;
  const visit = (v: unknown, depth: number): void => {
    if (total > limit) return;
    if (typeof v === "string") {
      total += 2 + utf8Length(v);
      return;
    }
    if (typeof v === "number") {
      total += String(v).length;
      return;
    }
    if (typeof v === "boolean" || v === null || v === undefined) {
      total += v === false ? 5 : 4;
      return;
    }
    if (depth > MAX_DEPTH) throw new TooDeep();
    if (Array.isArray(v)) {
      total += 2 + v.length;
      for (const item of v) {
        visit(item, depth + 1);
        if (total > limit) return;
      }
      return;
    }
    if (typeof v === "object") {
      total += 2;
      const record = v as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        total += key.length + 4;
        visit(record[key], depth + 1);
        if (total > limit) return;
      }
    }
  };
  visit(value, 0);
  return total;
}
