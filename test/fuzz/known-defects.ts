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

export const KNOWN_DEFECTS: readonly KnownDefect[] = [
  {
    // Not the gateway's: workerd hands CONNECT to a Worker's `connect()` socket handler, never to
    // `fetch`, and answers 500 itself when there is none (a handler would first answer "200" and open
    // a tunnel, which a gateway must not offer). test/e2e/http-methods.test.ts pins that CONNECT
    // never tunnels.
    name: "CONNECT method → 500 from workerd, before the Worker runs",
    owner: "runtime (workerd)",
    matches: (c) => c.method === "CONNECT",
  },
];

/** The known defect a case runs into, if any. */
export function knownDefect(c: FuzzCase): KnownDefect | undefined {
  return KNOWN_DEFECTS.find((d) => d.matches(c));
}
