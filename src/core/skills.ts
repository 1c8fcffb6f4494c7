/**
 * The Skills extension's methods (`io.modelcontextprotocol/skills`, SEP-2640)
 * on a federated endpoint, both eras:
 *
 * - `skills/list` is answered from the cached view (`skill-view.ts`): the
 *   skills of the backends the caller may use (teams and visibility narrowed
 *   `endpoint.backends` at the edge), under public URIs, paginated like every
 *   listing, with the 2026 cache hints added by the era adapter.
 * - `skills/get` goes to the backend owning the URI (a server answers for
 *   unlisted skills too: spec, "Getting a Skill"); the entry comes back with
 *   its URIs in public form and everything else as the backend sent it.
 * - `resources/directory/read` (the `directoryRead` setting) is routed like
 *   `resources/read`, the children's URIs made public.
 *
 * Skill files are read with `resources/read`, so the resource plugin hooks
 * and conditions apply to their content; these methods carry only entries
 * and directory listings, like the other listings (no hooks).
 * An unknown URI is -32602 (spec, "Error Handling"); a server without the
 * extension answers -32601 with `data.reason` `"no_skills_backend"`, a
 * directory read of a backend without `directoryRead` `"no_directory_read"`.
 */
import { ErrorCode, type JsonRpcRequest, RpcError } from "../protocol/jsonrpc";
import type { McpContext, Outcome } from "./context";
import { type FederatedView, routeUri } from "./federation";
import { publicUri, splitPublicUri } from "./names";
import { forward } from "./relay";
import { publicSkill } from "./skill-view";
import { federatedView, listing } from "./views";

/** Longest URI echoed back in an error message (client input, bounded). */
const ECHO_MAX = 256;

/** The Skills methods this module answers. */
export const SKILLS_METHODS: ReadonlySet<string> = new Set(["skills/list", "skills/get", "resources/directory/read"]);

function uriParam(request: JsonRpcRequest): string {
  const uri = request.params?.uri;
  if (typeof uri !== "string" || !uri) throw new RpcError(ErrorCode.InvalidParams, "Missing or invalid 'uri'");
  return uri;
}

function noSkills(method: string): never {
  throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${method}`, {
    reason: "no_skills_backend",
    detail: "no backend of this server that the caller may use offers the io.modelcontextprotocol/skills extension",
  });
}

/** The backend and original URI of a skill's `SKILL.md`, or null when no backend of the endpoint serves it. */
function routeSkill(ctx: McpContext, view: FederatedView, uri: string): { backend: string; uri: string } | null {
  const skills = view.skills;
  if (ctx.endpoint.prefix) {
    const split = splitPublicUri(uri);
    return split && skills.backends.has(split.backend) ? split : null;
  }
  const listed = skills.byUri.get(uri);
  if (listed) return { backend: listed.backend, uri: listed.original };
  const routed = routeUri(ctx.endpoint, uri, view);
  if (routed && skills.backends.has(routed.backend)) return routed;
  // An unlisted skill: only a server with one skills backend knows where to ask.
  const [only, ...others] = skills.backends.keys();
  return only !== undefined && others.length === 0 ? { backend: only, uri } : null;
}

async function getSkill(ctx: McpContext, view: FederatedView, request: JsonRpcRequest): Promise<Outcome> {
  const uri = uriParam(request);
  const route = routeSkill(ctx, view, uri);
  if (!route) {
    throw new RpcError(ErrorCode.InvalidParams, `No skill is served at ${uri.slice(0, ECHO_MAX)}`, {
      uri: uri.slice(0, ECHO_MAX),
    });
  }
  const prefix = ctx.endpoint.prefix;
  const sent = { ...request, params: { ...request.params, uri: route.uri } };
  return forward(ctx, route.backend, sent, (result) => {
    const skill = result.skill;
    if (!prefix || typeof skill !== "object" || skill === null) return result;
    return { ...result, skill: publicSkill(route.backend, skill as Record<string, unknown>, true) };
  });
}

async function readDirectory(ctx: McpContext, view: FederatedView, request: JsonRpcRequest): Promise<Outcome> {
  const uri = uriParam(request);
  const route = routeUri(ctx.endpoint, uri, ctx.endpoint.prefix ? null : view);
  const settings = route && view.skills.backends.get(route.backend);
  if (!route || !settings) {
    throw new RpcError(ErrorCode.InvalidParams, `Not a directory resource: ${uri.slice(0, ECHO_MAX)}`, {
      uri: uri.slice(0, ECHO_MAX),
    });
  }
  if (settings.directoryRead !== true) {
    throw new RpcError(ErrorCode.MethodNotFound, "Method not found: resources/directory/read", {
      reason: "no_directory_read",
      detail: `backend '${route.backend}' does not declare directoryRead`,
    });
  }
  const prefix = ctx.endpoint.prefix;
  const sent = { ...request, params: { ...request.params, uri: route.uri } };
  return forward(ctx, route.backend, sent, (result) => {
    if (!prefix || !Array.isArray(result.resources)) return result;
    const resources = result.resources.map((r: unknown) =>
      typeof r === "object" && r !== null && typeof (r as { uri?: unknown }).uri === "string"
        ? { ...r, uri: publicUri(route.backend, (r as { uri: string }).uri, true) }
        : r,
    );
    return { ...result, resources };
  });
}

/** Answers a Skills method (one of SKILLS_METHODS). */
export async function skillsMethod(ctx: McpContext, request: JsonRpcRequest): Promise<Outcome> {
  const view = await federatedView(ctx);
  if (view.skills.backends.size === 0) noSkills(request.method);
  switch (request.method) {
    case "skills/list":
      return listing(ctx, request, view.skills.entries, "skills");
    case "skills/get":
      return getSkill(ctx, view, request);
    default:
      return readDirectory(ctx, view, request);
  }
}
