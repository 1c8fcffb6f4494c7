/**
 * What of an endpoint a caller may use (teams and visibility, `auth/access.ts`),
 * decided once per request from the config snapshot (no I/O). The endpoint
 * handed to the core keeps only the backends the caller may use, so a
 * listing shows exactly what a call may reach: `tools/list`, `prompts/list`
 * and `resources/list` are built from these backends, and `tools/call`
 * routes only to them (both read `endpoint.backends`).
 */
import { canSee, canUse } from "../auth/access";
import type { Principal } from "../auth/principal";
import type { Endpoint } from "../core/federation";

/**
 * The caller's view of `endpoint`: `hidden` when it may not see the virtual
 * server at all (answered like an unknown server), `read-only` when it may
 * see but not use it (a viewer). `access` names the left-out backends, so
 * cached views are shared by every caller with the same subset.
 */
export function callerEndpoint(endpoint: Endpoint, principal: Principal): Endpoint | "hidden" | "read-only" {
  if (principal.platformAdmin) return endpoint;
  if (endpoint.server && !canUse(principal, endpoint.server)) {
    return canSee(principal, endpoint.server) ? "read-only" : "hidden";
  }
  const kept = endpoint.backends.filter((b) => canUse(principal, b));
  if (kept.length === endpoint.backends.length) return endpoint;
  const left = endpoint.backends.filter((b) => !kept.includes(b)).map((b) => b.name);
  return { ...endpoint, backends: kept, access: `!${left.join(",")}` };
}
