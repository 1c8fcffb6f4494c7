/**
 * JSON-RPC method dispatch (MCP server/* methods), era-neutral. Listings are
 * answered from cached views (`views.ts`); calls are forwarded to the owning
 * backend with its original name, with the plugin hooks as plain steps before
 * and after. Failures are thrown; the edge answers them in its era's terms.
 */
import { ErrorCode, type JsonRpcRequest, RpcError, resultResponse } from "../protocol/jsonrpc";
import { notify, request as upstreamRequest } from "../upstream/http";
import { assertAppVisible, visibleResources } from "./apps";
import type { McpContext, Outcome } from "./context";
import { isMetaTool, metaTool, metaToolEntries } from "./discovery/meta-tools";
import { extensionMethod, extensionNotification } from "./extensions";
import { routeName, routeUri } from "./federation";
import { legacyTools } from "./legacy-view";
import { overriddenArguments, overrideIndex, type ResolvedTool, resolveTool } from "./overrides";
import { beforeCall, visibleTools, withArguments } from "./plugin-hooks";
import { callReferences, readReferences } from "./reference-calls";
import { forward } from "./relay";
import { listTasks, taskCall, taskRequest } from "./tasks";
import { federatedView, listing } from "./views";

function stringParam(params: Record<string, unknown> | undefined, key: string): string {
  const value = params?.[key];
  if (typeof value !== "string" || !value) throw new RpcError(ErrorCode.InvalidParams, `Missing or invalid '${key}'`);
  return value;
}

/** The catalog entry of a public tool name (plugins that need the tool's schema or annotations). */
function toolEntry(ctx: McpContext, name: string) {
  return async () => {
    const entry = (await federatedView(ctx)).toolsByName.get(name);
    return entry?.full ?? entry?.item;
  };
}

/** Forwards a tool call or prompt fetch through the plugin chain's pre and post hooks on its arguments. */
async function forwardNamed(
  ctx: McpContext,
  request: JsonRpcRequest,
  entity: "tool" | "prompt",
  name: string,
  route: { backend: string; name: string; aliasOf?: string },
): Promise<Outcome> {
  const params = request.params;
  const args = params?.arguments ?? {};
  const target = {
    entity,
    name,
    original: route.name,
    backend: route.backend,
    ...(route.aliasOf !== undefined && { aliasOf: route.aliasOf }),
  };
  const hooked = await beforeCall(
    ctx,
    request.id,
    entity === "tool" ? { ...target, tool: toolEntry(ctx, name) } : target,
    args,
  );
  if (hooked.reply) return hooked.reply;
  // References the client sends back go in in the backend's form, and come out public (reference-calls.ts).
  const refs = await callReferences(ctx, entity, route.backend, route.name, hooked.after);
  const sent = { ...request, params: withArguments(params, route.name, args, refs.args(hooked.value)) };
  if (entity === "prompt") return forward(ctx, route.backend, sent, refs.result);
  const call = await taskCall(ctx, name, route.backend, sent, refs.result);
  return forward(ctx, route.backend, call.request, call.after);
}

/**
 * `tools/call`. In search mode the meta-tools answer here, and `call_tool`
 * becomes the very `tools/call` a list-mode client would send (same id and
 * `_meta`), so it takes the one path every call takes.
 */
async function callTool(ctx: McpContext, request: JsonRpcRequest): Promise<Outcome> {
  let name = stringParam(request.params, "name");
  if (ctx.endpoint.discovery === "search" && isMetaTool(name)) {
    const meta = await metaTool(ctx, name, request.params?.arguments);
    if (!meta.call) {
      return { kind: "json", body: resultResponse(request.id, ctx.era.result("tools/call", meta.result)) };
    }
    name = meta.call.name;
    request = { ...request, params: { ...request.params, ...meta.call } };
    // The request's span names the tool that ran, not the meta-tool (per-tool metrics stay true).
    ctx.spans.root.set({ tool: name });
  }
  // Plugin hook point: tool_pre_invoke on `arguments`, tool_post_invoke on the result.
  const route = await routeTool(ctx, name);
  return await forwardNamed(ctx, overridden(request, name, route), "tool", name, route);
}

async function routeTool(ctx: McpContext, name: string): Promise<{ backend: string; name: string } & ResolvedTool> {
  // An alias stands for its tool; a name an alias replaced is unknown (overrides.ts).
  const resolved = resolveTool(overrideIndex(ctx.endpoint.server), name);
  let route: { backend: string; name: string } | null = null;
  if (resolved && ctx.endpoint.prefix) route = routeName(ctx.endpoint, resolved.key, null);
  else if (resolved) {
    // Without prefixes the view knows every listed name, aliases included, with `tools` applied.
    const entry = (await federatedView(ctx)).toolsByName.get(name);
    route = entry ? { backend: entry.backend, name: entry.original } : null;
  }
  if (!route || !resolved) throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
  return { ...route, ...resolved };
}

/** A tools/call with its override's fixed and default arguments applied. */
function overridden(request: JsonRpcRequest, name: string, route: ResolvedTool): JsonRpcRequest {
  if (!route.override) return request;
  const args = overriddenArguments(route.override, request.params?.arguments, name);
  return args === request.params?.arguments ? request : { ...request, params: { ...request.params, arguments: args } };
}

async function routePrompt(ctx: McpContext, name: string) {
  const index = ctx.endpoint.prefix ? null : (await federatedView(ctx)).promptsByName;
  const route = routeName({ ...ctx.endpoint, tools: null }, name, index);
  if (!route) throw new RpcError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  return route;
}

async function routeResource(ctx: McpContext, uri: string) {
  const view = ctx.endpoint.prefix ? null : await federatedView(ctx);
  const route = routeUri(ctx.endpoint, uri, view);
  if (!route) throw new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
  return route;
}

/** Sends a message to every backend of the endpoint in this session (best effort). */
async function broadcast(
  ctx: McpContext,
  send: typeof notify,
  method: string,
  params: Record<string, unknown> | undefined,
) {
  await Promise.all(
    ctx.endpoint.backends.map(async (backend) => {
      try {
        await send(backend, method, params, await ctx.upstreams.open(backend));
      } catch {
        // Backends without the feature ignore it; one failure never blocks the others.
      }
    }),
  );
}

/** Handles one request of an established session. */
export async function dispatch(ctx: McpContext, request: JsonRpcRequest): Promise<Outcome> {
  const { id, method, params } = request;
  const json = (result: Record<string, unknown>): Outcome => ({ kind: "json", body: resultResponse(id, result) });
  switch (method) {
    case "ping":
      return json({});
    case "tools/list":
      // Search mode lists the meta-tools only; their cache hints are a listing's, like the catalog's (era adapter).
      if (ctx.endpoint.discovery === "search") return listing(ctx, request, metaToolEntries(), "tools");
      return listing(ctx, request, visibleTools(ctx, legacyTools(ctx, (await federatedView(ctx)).tools)), "tools");
    case "prompts/list":
      return listing(ctx, request, (await federatedView(ctx)).prompts, "prompts");
    case "resources/list":
      return listing(ctx, request, visibleResources(ctx, await federatedView(ctx)), "resources");
    case "resources/templates/list":
      return listing(ctx, request, (await federatedView(ctx)).resourceTemplates, "resourceTemplates");
    case "tools/call":
      return await callTool(ctx, request);
    case "prompts/get": {
      // Plugin hook point: prompt_pre_fetch on `arguments`, prompt_post_fetch on the messages.
      const name = stringParam(params, "name");
      return await forwardNamed(ctx, request, "prompt", name, await routePrompt(ctx, name));
    }
    case "resources/read": {
      const uri = stringParam(params, "uri");
      await assertAppVisible(ctx, uri);
      const first = await routeResource(ctx, uri);
      const target = { entity: "resource", name: uri, original: first.uri, backend: first.backend } as const;
      // Plugin hook point: resource_pre_fetch on the URI (a rewritten URI is routed again), resource_post_fetch on contents.
      const hooked = await beforeCall(ctx, id, target, uri);
      if (hooked.reply) return hooked.reply;
      const route = hooked.value === uri ? first : await routeResource(ctx, String(hooked.value));
      const sent = { ...request, params: { ...params, uri: route.uri } };
      return forward(ctx, route.backend, sent, readReferences(ctx, route.backend, hooked.after));
    }
    case "resources/subscribe":
    case "resources/unsubscribe": {
      const route = await routeResource(ctx, stringParam(params, "uri"));
      return await forward(ctx, route.backend, { ...request, params: { ...params, uri: route.uri } });
    }
    case "completion/complete": {
      const ref = params?.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
      if (ref?.type === "ref/prompt" && typeof ref.name === "string") {
        const route = await routePrompt(ctx, ref.name);
        return await forward(ctx, route.backend, {
          ...request,
          params: { ...params, ref: { ...ref, name: route.name } },
        });
      }
      if (ref?.type === "ref/resource" && typeof ref.uri === "string") {
        const route = await routeResource(ctx, ref.uri);
        return await forward(ctx, route.backend, {
          ...request,
          params: { ...params, ref: { ...ref, uri: route.uri } },
        });
      }
      throw new RpcError(ErrorCode.InvalidParams, "Invalid completion reference");
    }
    case "tasks/get":
    case "tasks/update":
    case "tasks/result":
    case "tasks/cancel":
      return await taskRequest(ctx, request);
    case "tasks/list":
      return await listTasks(ctx, request);
    case "logging/setLevel": {
      stringParam(params, "level");
      await broadcast(ctx, async (...args) => void (await upstreamRequest(...args)), method, params);
      return json({});
    }
    default:
      // Skills, then the unknown-method policy (pass-through or a -32601 naming why: extensions.ts).
      return await extensionMethod(ctx, request);
  }
}

/** Handles a client notification (no response). */
export async function dispatchNotification(
  ctx: McpContext,
  method: string,
  params: Record<string, unknown> | undefined,
): Promise<void> {
  if (method === "notifications/cancelled" || method === "notifications/roots/list_changed") {
    // The gateway forwards the client's request ids unchanged, so a cancellation is
    // meaningful to whichever backend has that request; the others ignore it.
    ctx.defer(broadcast(ctx, notify, method, params));
  } else {
    ctx.defer(extensionNotification(ctx, method, params));
  }
}
