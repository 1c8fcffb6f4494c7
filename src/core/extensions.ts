/**
 * What the gateway does with capabilities and methods it does not federate
 * itself (issue 21: never silently dropped). The policy, in both eras:
 *
 * - **Pass-through** on a virtual server with `prefix: false` whose caller
 *   may use exactly one backend: nothing needs renaming there, so the
 *   backend's own capabilities are advertised as it declared them
 *   (`experimental`, `extensions` and any other key), and any method the
 *   gateway does not know is forwarded to that backend unchanged (breaker,
 *   spans, timeouts and era bridging as for every call), its result passed
 *   back as it came. Unknown client notifications are forwarded too. No
 *   plugin hook runs on them: hooks are defined on tools, prompts and
 *   resources, and an unknown payload means nothing to a plugin.
 * - **Refusal** everywhere else (`/mcp`, prefixed servers, several backends):
 *   an unknown method is answered -32601 with `data.reason`
 *   `"not_federated"` (HTTP 404 in the 2026 era), because the gateway could
 *   not know which backend owns it nor how to rename what it carries.
 *   Unknown capabilities are therefore not advertised there, so a client
 *   does not call what would be refused. Unknown notifications have no way
 *   to be refused (JSON-RPC) and are not forwarded.
 *
 * Extensions the gateway federates itself are advertised on every endpoint
 * that has them: today the Skills extension (`skills.ts`).
 */
import { SKILLS_EXTENSION } from "../protocol/extensions";
import { ErrorCode, type JsonRpcRequest, RpcError } from "../protocol/jsonrpc";
import { notify } from "../upstream/http";
import type { McpContext, Outcome } from "./context";
import type { FederatedView } from "./federation";
import { forward } from "./relay";
import { SKILLS_METHODS, skillsMethod } from "./skills";
import { authorizedBackend } from "./upstream-auth";
import { federatedView } from "./views";

/** Capability keys the gateway merges itself (`capabilities.ts`); everything else is an unknown capability. */
const FEDERATED_KEYS = new Set(["tools", "prompts", "resources", "completions", "logging"]);

/** Client notifications of the core protocol: handled by `dispatch` or meaningless to a backend, never passed through. */
const CORE_NOTIFICATIONS = new Set([
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
]);

/** Longest method name echoed back in an error (client input, bounded). */
const ECHO_MAX = 256;

/**
 * The capabilities beyond the core ones that `view` advertises: on a
 * pass-through endpoint every other key of its backend as declared; else
 * only the extensions the gateway federates (Skills: `directoryRead` when
 * any skills backend declares it; a directory read of one that does not is
 * refused with a reason).
 */
export function extensionCapabilities(view: FederatedView): Record<string, unknown> {
  if (view.passthrough !== null) {
    return Object.fromEntries(Object.entries(view.capabilities).filter(([key]) => !FEDERATED_KEYS.has(key)));
  }
  if (view.skills.backends.size === 0) return {};
  const directoryRead = [...view.skills.backends.values()].some((settings) => settings.directoryRead === true);
  return { extensions: { [SKILLS_EXTENSION]: directoryRead ? { directoryRead: true } : {} } };
}

/** Answers a method `dispatch` does not know: Skills, pass-through, or -32601 with the reason. */
export async function extensionMethod(ctx: McpContext, request: JsonRpcRequest): Promise<Outcome> {
  if (SKILLS_METHODS.has(request.method)) return skillsMethod(ctx, request);
  const only = (await federatedView(ctx)).passthrough;
  if (only !== null) return forward(ctx, only, request);
  const method = request.method.slice(0, ECHO_MAX);
  throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${method}`, {
    reason: "not_federated",
    detail:
      "the gateway passes methods it does not know only to the single backend of a virtual server with prefix: false",
  });
}

/** A client notification `dispatch` does not know: forwarded on a pass-through endpoint (best effort), else not sent. */
export async function extensionNotification(
  ctx: McpContext,
  method: string,
  params: Record<string, unknown> | undefined,
): Promise<void> {
  if (CORE_NOTIFICATIONS.has(method)) return;
  const only = (await federatedView(ctx)).passthrough;
  const configured = ctx.endpoint.backends.find((b) => b.name === only);
  if (!configured) return;
  try {
    const backend = await authorizedBackend(ctx, configured, { quiet: true });
    await notify(backend, method, params, await ctx.upstreams.open(backend));
  } catch {
    // A notification has no answer to carry a failure; the backend's breaker sees calls, not this.
  }
}
