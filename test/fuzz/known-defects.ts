/**
 * KNOWN_DEFECTS: inputs that currently get a 5xx because of defects being
 * fixed on other branches. The `npm test` properties skip exactly these
 * inputs so the suite stays green meanwhile; `npm run fuzz` still sends them
 * and reports each failing case under its defect's name.
 *
 * When a fix is merged, delete its entry: the properties then cover those
 * inputs again, with the same strict invariants as everything else.
 *
 * Defects these generators cannot reach have their own regression tests: a
 * changed ENCRYPTION_KEY/ADMIN_TOKEN (test/e2e/keys.test.ts), session
 * termination and revocation across isolates (test/e2e/consistency.test.ts),
 * regex ReDoS (test/workers/plugins-regex.test.ts).
 */
import type { FuzzCase } from "./model.ts";

/** One defect: who is fixing it and which generated inputs it affects. */
export interface KnownDefect {
  name: string;
  owner: string;
  matches(c: FuzzCase): boolean;
}

/** Empty: every defect the hardening issue listed is fixed (CONNECT, answered by workerd itself, is not generated). */
export const KNOWN_DEFECTS: readonly KnownDefect[] = [];

/** The known defect a case runs into, if any. */
export function knownDefect(c: FuzzCase): KnownDefect | undefined {
  return KNOWN_DEFECTS.find((d) => d.matches(c));
}
