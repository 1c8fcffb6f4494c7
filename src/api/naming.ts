/**
 * Field naming at the admin API's boundary (README, "Field names").
 *
 * Every field the API accepts and returns is camelCase (`timeoutMs`,
 * `windowSeconds`, `serverIds`). Plugin configs and conditions were
 * snake_case before (`window_seconds`, `timeout_ms`, `server_ids`); those
 * spellings are still accepted for a deprecation period, and the answer then
 * names them in a `Deprecation` header pair. Inside, the plugin kinds keep
 * their snake_case schemas and stored configs keep their spelling (no data
 * migration): this module maps between the two spellings, at the boundary
 * only, guided by the set of field names a schema knows (never blindly, so a
 * header name such as `X_Api_Key` inside a config is never renamed).
 */
import type { Context } from "hono";
import type { FieldIssue } from "../errors";

/** `window_seconds` → `windowSeconds`. */
export function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `windowSeconds` → `window_seconds`. */
export function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** An input object in the internal spelling, the deprecated spellings it used, and fields given twice. */
export interface Renamed {
  value: Record<string, unknown>;
  /** Deprecated spellings used, as public paths (`config.window_seconds`). */
  deprecated: string[];
  issues: FieldIssue[];
}

/**
 * Renames the keys of one input object to the internal (snake_case) names
 * in `known`: a camelCase key whose snake_case form is known becomes it; a
 * known snake_case key is kept and reported as deprecated; any other key is
 * kept as given (the strict schema behind refuses unknown ones, by the name
 * the caller used). Giving both spellings of a field is an issue. Built with
 * `Object.fromEntries`, so a `__proto__` key stays an ordinary (refused) key.
 */
export function toInternal(input: Record<string, unknown>, known: ReadonlySet<string>, path: string): Renamed {
  const out = new Map<string, unknown>();
  const deprecated: string[] = [];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(input)) {
    let internal = key;
    if (known.has(key)) {
      if (snakeToCamel(key) !== key) deprecated.push(`${path}.${key}`);
    } else if (known.has(camelToSnake(key))) {
      internal = camelToSnake(key);
    }
    if (out.has(internal)) {
      const name = snakeToCamel(internal);
      issues.push({ path: `${path}.${name}`, message: `is given twice (as ${name} and ${internal})` });
      continue;
    }
    out.set(internal, value);
  }
  return { value: Object.fromEntries(out), deprecated, issues };
}

/** The public (camelCase) form of a stored object: known snake_case keys renamed, others as they are. */
export function toPublic(stored: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(stored).map(([k, v]) => [known.has(k) ? snakeToCamel(k) : k, v]));
}

/** A message with every known snake_case field name in it replaced by its camelCase name. */
export function publicMessage(message: string, known: ReadonlySet<string>): string {
  return message.replace(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g, (m) => (known.has(m) ? snakeToCamel(m) : m));
}

/**
 * Answers that used deprecated spellings say so: `Deprecation: true` and
 * `Mcpgw-Deprecated-Fields` listing each old spelling with its new name.
 */
export function markDeprecated(c: Context, deprecated: readonly string[]): void {
  if (deprecated.length === 0) return;
  c.header("Deprecation", "true");
  c.header(
    "Mcpgw-Deprecated-Fields",
    deprecated
      .slice(0, 20)
      .map((p) => `${p}=${snakeToCamel(p.split(".").at(-1) ?? p)}`)
      .join(", "),
  );
}
