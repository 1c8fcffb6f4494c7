/**
 * KNOWN_DEFECTS: inputs that currently get a 5xx because of defects being
 * fixed on other branches. The `npm test` properties skip exactly these
 * inputs so the suite stays green meanwhile; `npm run fuzz` still sends them
 * and reports each failing case under its defect's name.
 *
 * When a fix is merged, delete its entry: the properties then cover those
 * inputs again, with the same strict invariants as everything else.
 *
 * Known defects these generators do not reach, so no entry: a changed
 * ENCRYPTION_KEY/ADMIN_TOKEN (a deployment change, not a request), session
 * termination/revocation propagation across isolates (timing, not input),
 * and regex ReDoS in plugins (a catastrophic pattern is slow, not a 5xx,
 * on a local workerd without a CPU limit).
 */
import type { FuzzCase } from "./model.ts";

/** One defect: who is fixing it and which generated inputs it affects. */
export interface KnownDefect {
  name: string;
  owner: string;
  matches(c: FuzzCase): boolean;
}

function jsonBody(c: FuzzCase): unknown {
  return c.body.kind === "json" ? c.body.value : undefined;
}

function field(value: unknown, ...path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Requests the gateway forwards to a backend (a batch holding one fails). */
const FORWARDED = new Set([
  "tools/call",
  "prompts/get",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
]);

/** A URL string `new URL` throws on (the schema's refinements parse it unguarded). */
function unparsableUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    new URL(value);
    return false;
  } catch {
    return true;
  }
}

export const KNOWN_DEFECTS: readonly KnownDefect[] = [
  {
    name: "invalid backend/webhook URL → 500",
    owner: "helper fixing src/api/schemas.ts and src/config/url-safety.ts",
    matches: (c) =>
      c.surface === "admin" &&
      /^\/api\/(backends|plugins)/.test(c.path) &&
      (unparsableUrl(field(jsonBody(c), "url")) || unparsableUrl(field(jsonBody(c), "config", "url"))),
  },
  {
    name: "CONNECT method → 500",
    owner: "helper fixing src/api/schemas.ts and src/config/url-safety.ts",
    matches: (c) => c.method === "CONNECT",
  },
  {
    name: "2025-03-26 batch containing a forwarded call → 500 with id null",
    owner: "lead (src/mcp/routes.ts)",
    matches: (c) => {
      const body = jsonBody(c);
      return (
        c.surface === "mcp" &&
        Array.isArray(body) &&
        body.some(
          (m) => typeof m === "object" && m !== null && FORWARDED.has(String((m as { method?: unknown }).method)),
        )
      );
    },
  },
];

/** The known defect a case runs into, if any. */
export function knownDefect(c: FuzzCase): KnownDefect | undefined {
  return KNOWN_DEFECTS.find((d) => d.matches(c));
}
