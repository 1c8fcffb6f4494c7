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
  // One pass on the request path (up to LIMITS.backends): kept and left out together.
  const kept: Endpoint["backends"] = [];
  const left: string[] = [];
  for (const b of endpoint.backends) {
    if (canUse(principal, b)) kept.push(b);
    else left.push(b.name);
  }
  if (left.length === 0) return endpoint;
  return { ...endpoint, backends: kept, access: `!${left.join(",")}` };
}
