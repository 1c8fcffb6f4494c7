/**
 * Public names of federated tools, prompts and resources (pure logic).
 *
 * - Tools and prompts: `<backend>__<name>` on prefixed endpoints. Public names
 *   must be 1-64 characters of `[A-Za-z0-9_./-]` (MCP 2025-11-25 server/tools,
 *   "Tool names"); a name that cannot be expressed is left out of listings.
 * - Resources: `mcpgw://<backend>/<original uri>` on prefixed endpoints. The
 *   original URI follows the first `/` after the backend verbatim, so templates
 *   keep working (`mcpgw://files/file:///{path}`) and routing is unambiguous.
 *   An MCP App's `ui://` resource keeps its scheme, `ui://mcpgw.<backend>/<rest>`:
 *   the Apps extension (SEP-1865, "UI Resource Format") says its URI MUST start
 *   with `ui://`, and hosts check that before they render a tool's view.
 * - Server-to-client request ids: `mcpgw:<backend>:<json of the upstream id>`,
 *   so ids from two backends never collide at the client and any isolate can
 *   route the client's answer back without shared state.
 */
import { RE2JS } from "re2js";

const SEPARATOR = "__";
const NAME_RE = /^[A-Za-z0-9_./-]{1,64}$/;
const RESOURCE_PREFIX = "mcpgw://";
const UI_SCHEME = "ui://";
/** `ui://` + this + backend: backend names are `[a-z0-9-]`, so the host part stays a valid reg-name. */
const UI_PREFIX = "ui://mcpgw.";
const REQUEST_ID_PREFIX = "mcpgw:";

/** True when `name` is a valid public tool/prompt name. */
export function isValidPublicName(name: string): boolean {
  return NAME_RE.test(name);
}

/** The public name of a backend's tool or prompt, or null if it cannot be expressed. */
export function publicName(backend: string, name: string, prefix: boolean): string | null {
  const candidate = prefix ? `${backend}${SEPARATOR}${name}` : name;
  return isValidPublicName(candidate) ? candidate : null;
}

/** Splits a prefixed public name into backend and original name, or null. */
export function splitPublicName(publicName: string): { backend: string; name: string } | null {
  const at = publicName.indexOf(SEPARATOR);
  if (at <= 0) return null;
  const name = publicName.slice(at + SEPARATOR.length);
  return name ? { backend: publicName.slice(0, at), name } : null;
}

/** The public URI of a backend's resource (or template). */
export function publicUri(backend: string, uri: string, prefix: boolean): string {
  if (!prefix) return uri;
  if (uri.startsWith(UI_SCHEME) && uri.length > UI_SCHEME.length) {
    return `${UI_PREFIX}${backend}/${uri.slice(UI_SCHEME.length)}`;
  }
  return `${RESOURCE_PREFIX}${backend}/${uri}`;
}

/** Splits a prefixed public URI (either form) into backend and original URI, or null. */
export function splitPublicUri(uri: string): { backend: string; uri: string } | null {
  const ui = uri.startsWith(UI_PREFIX);
  if (!ui && !uri.startsWith(RESOURCE_PREFIX)) return null;
  const rest = uri.slice((ui ? UI_PREFIX : RESOURCE_PREFIX).length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return null;
  const original = rest.slice(slash + 1);
  return { backend: rest.slice(0, slash), uri: ui ? `${UI_SCHEME}${original}` : original };
}

/** Request/progress ids as JSON-RPC allows them. */
export type JsonRpcId = string | number;

/** The id the client sees for a request that `backend` sent with `id`. */
export function gatewayRequestId(backend: string, id: JsonRpcId): string {
  return `${REQUEST_ID_PREFIX}${backend}:${JSON.stringify(id)}`;
}

/** Reverses `gatewayRequestId`, or null if the id was not issued by the gateway. */
export function splitGatewayRequestId(id: unknown): { backend: string; id: JsonRpcId } | null {
  if (typeof id !== "string" || !id.startsWith(REQUEST_ID_PREFIX)) return null;
  const rest = id.slice(REQUEST_ID_PREFIX.length);
  const colon = rest.indexOf(":");
  if (colon <= 0) return null;
  try {
    const original: unknown = JSON.parse(rest.slice(colon + 1));
    if (typeof original !== "string" && typeof original !== "number") return null;
    return { backend: rest.slice(0, colon), id: original };
  } catch {
    return null;
  }
}

/** A compiled resource template: `test` says whether a URI matches it. */
export interface TemplateMatcher {
  test(uri: string): boolean;
}

/**
 * Matches a URI against an RFC 6570 level-1 template (`{var}` = one or more
 * characters other than `/`), which is what resource templates use in practice.
 * The template comes from a backend and the URI from a client, so matching
 * runs on RE2 (linear time): with JavaScript's backtracking engine a template
 * such as `{a}-{b}-{c}` and a long crafted URI froze the isolate (design rule 5).
 * Null when the template is too large for RE2 (then it matches nothing).
 */
export function templateMatcher(template: string): TemplateMatcher | null {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/]+" : part ? RE2JS.quote(part) : ""))
    .join("");
  try {
    const compiled = RE2JS.compile(pattern);
    return { test: (uri) => compiled.matches(uri) };
  } catch {
    return null;
  }
}
