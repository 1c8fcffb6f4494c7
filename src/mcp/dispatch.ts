/**
 * JSON-RPC method dispatch for an established session (MCP server/* methods).
 * Listings are answered from cached catalogs; calls are forwarded to the
 * owning backend with its original name.
 */
import { guardCall, thenMap, visibleTools, withArguments } from "../plugins/mcp";
import { LruMap } from "../util/lru";
import { catalogEpoch, catalogs } from "./catalog";
import type { Catalog } from "./catalog-types";
import type { McpContext, Outcome } from "./context";
import { buildView, type FederatedView, routeName, routeUri, type ViewEntry } from "./federation";
import { ErrorCode, errorResponse, type JsonRpcRequest, RpcError, resultResponse } from "./jsonrpc";
import { publicUri } from "./names";
import { backendErrorResponse, forward } from "./relay";
import { BackendFailure, notify, request as upstreamRequest } from "./upstream";

/** Items per listing page (MCP server/utilities/pagination: cursors are opaque). */
export const PAGE_SIZE = 500;

/**
 * A view is used without looking at its catalogs for this long: checking is
 * O(backends), and listings must cost the same at 10 and 100 backends
 * (issue 8). Catalogs themselves are refreshed every 5 s (`catalog.ts`), and
 * a list_changed or refresh (`forgetCatalogs`) invalidates views at once.
 */
const VIEW_CHECK_MS = 1_000;

interface CachedView {
  stamp: string;
  view: FederatedView;
  checkedAt: number;
  version: number;
  epoch: number;
}

const views = new LruMap<string, CachedView>(500);

/** The endpoint's merged view for the session's capability profile (cached per config version and catalog stamps). */
export async function federatedView(ctx: McpContext): Promise<FederatedView> {
  const profile = ctx.session.claims.prof;
  const key = `${ctx.endpoint.key}|${profile}`;
  const cached = views.get(key);
  const now = Date.now();
  const epoch = catalogEpoch();
  if (
    cached &&
    cached.version === ctx.config.version &&
    cached.epoch === epoch &&
    now - cached.checkedAt < VIEW_CHECK_MS
  ) {
    return cached.view;
  }
  const { catalogs: found } = await catalogs(ctx.env, ctx.endpoint.backends, profile, ctx.defer);
  let stamp = `${ctx.config.version}`;
  for (const b of ctx.endpoint.backends) stamp += `|${found.get(b.name)?.fetchedAt ?? 0}`;
  const view = cached?.stamp === stamp ? cached.view : buildView(ctx.endpoint, found as Map<string, Catalog>);
  views.set(key, { stamp, view, checkedAt: now, version: ctx.config.version, epoch });
  return view;
}

/** Listing pages as JSON text, per (immutable, cached) entry list and cursor: a warm listing serialises nothing. */
const pages = new WeakMap<readonly ViewEntry[], LruMap<string, { result: Record<string, unknown>; json: string }>>();

/** A listing answer: one page of `entries` under `key`, its JSON cached with the entry list it came from. */
function listing(
  id: JsonRpcRequest["id"],
  entries: readonly ViewEntry[],
  params: Record<string, unknown> | undefined,
  key: string,
): Outcome {
  const cursor = params?.cursor;
  // No cursor is the first page; "c…" keys keep an empty cursor from hitting it. A cursor that
  // is not a string is invalid: page() rejects it and nothing is cached.
  const cacheKey = cursor === undefined ? "" : typeof cursor === "string" ? `c${cursor}` : null;
  let memo = pages.get(entries);
  let hit = cacheKey === null ? undefined : memo?.get(cacheKey);
  if (!hit) {
    const result = page(entries, params, key);
    hit = { result, json: JSON.stringify(result) };
    if (cacheKey !== null) {
      memo ??= new LruMap(16);
      pages.set(entries, memo);
      memo.set(cacheKey, hit);
    }
  }
  return {
    kind: "json",
    body: resultResponse(id, hit.result),
    serialized: `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${hit.json}}`,
  };
}

function page(entries: readonly ViewEntry[], params: Record<string, unknown> | undefined, key: string) {
  const cursor = params?.cursor;
  let offset = 0;
  if (cursor !== undefined) {
    const match = typeof cursor === "string" ? /^o(\d{1,9})$/.exec(cursor) : null;
    if (!match) throw new RpcError(ErrorCode.InvalidParams, "Invalid cursor");
    offset = Number(match[1]);
  }
  const slice = entries.slice(offset, offset + PAGE_SIZE).map((e) => e.item);
  const next = offset + PAGE_SIZE < entries.length ? { nextCursor: `o${offset + PAGE_SIZE}` } : {};
  return { [key]: slice, ...next };
}

function stringParam(params: Record<string, unknown> | undefined, key: string): string {
  const value = params?.[key];
  if (typeof value !== "string" || !value) throw new RpcError(ErrorCode.InvalidParams, `Missing or invalid '${key}'`);
  return value;
}

/** Resource URIs in read results are rewritten to their public form. */
function publicContents(backend: string, prefix: boolean) {
  return (result: Record<string, unknown>) => {
    if (!prefix || !Array.isArray(result.contents)) return result;
    return {
      ...result,
      contents: result.contents.map((c: unknown) =>
        typeof c === "object" && c !== null && typeof (c as { uri?: unknown }).uri === "string"
          ? { ...c, uri: publicUri(backend, (c as { uri: string }).uri, prefix) }
          : c,
      ),
    };
  };
}

/** The catalog entry of a public tool name (plugins that need the tool's schema or annotations). */
function toolEntry(ctx: McpContext, name: string) {
  return async () => (await federatedView(ctx)).toolsByName.get(name)?.item;
}

/** Forwards a tool call or prompt fetch through the plugin chain's pre and post hooks on its arguments. */
function forwardNamed(
  ctx: McpContext,
  request: JsonRpcRequest,
  entity: "tool" | "prompt",
  name: string,
  route: { backend: string; name: string },
): Promise<Outcome> {
  const params = request.params;
  const args = params?.arguments ?? {};
  const target = { entity, name, original: route.name, backend: route.backend };
  return guardCall(
    ctx,
    request.id,
    entity === "tool" ? { ...target, tool: toolEntry(ctx, name) } : target,
    args,
    (next, map) =>
      forward(ctx, route.backend, { ...request, params: withArguments(params, route.name, args, next) }, map),
  );
}

async function routeTool(ctx: McpContext, name: string) {
  const index = ctx.endpoint.prefix ? null : (await federatedView(ctx)).toolsByName;
  const route = routeName(ctx.endpoint, name, index);
  if (!route) throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
  return route;
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
  if (!route) throw new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`);
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
        await send(backend, method, params, await ctx.session.upstream(backend));
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
  try {
    switch (method) {
      case "ping":
        return json({});
      case "tools/list":
        return listing(id, visibleTools(ctx, (await federatedView(ctx)).tools), params, "tools");
      case "prompts/list":
        return listing(id, (await federatedView(ctx)).prompts, params, "prompts");
      case "resources/list":
        return listing(id, (await federatedView(ctx)).resources, params, "resources");
      case "resources/templates/list":
        return listing(id, (await federatedView(ctx)).resourceTemplates, params, "resourceTemplates");
      case "tools/call": {
        // Plugin hook point: tool_pre_invoke on `arguments`, tool_post_invoke on the result.
        const name = stringParam(params, "name");
        return await forwardNamed(ctx, request, "tool", name, await routeTool(ctx, name));
      }
      case "prompts/get": {
        // Plugin hook point: prompt_pre_fetch on `arguments`, prompt_post_fetch on the messages.
        const name = stringParam(params, "name");
        return await forwardNamed(ctx, request, "prompt", name, await routePrompt(ctx, name));
      }
      case "resources/read": {
        const uri = stringParam(params, "uri");
        const first = await routeResource(ctx, uri);
        const target = { entity: "resource", name: uri, original: first.uri, backend: first.backend } as const;
        // Plugin hook point: resource_pre_fetch on the URI (a rewritten URI is routed again), resource_post_fetch on contents.
        return await guardCall(ctx, id, target, uri, async (next, map) => {
          const route = next === uri ? first : await routeResource(ctx, String(next));
          const contents = publicContents(route.backend, ctx.endpoint.prefix);
          return forward(
            ctx,
            route.backend,
            { ...request, params: { ...params, uri: route.uri } },
            thenMap(contents, map),
          );
        });
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
      case "logging/setLevel": {
        stringParam(params, "level");
        await broadcast(ctx, async (...args) => void (await upstreamRequest(...args)), method, params);
        return json({});
      }
      default:
        throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${method}`);
    }
  } catch (err) {
    if (err instanceof RpcError) return { kind: "json", body: errorResponse(id, err.code, err.message, err.data) };
    if (err instanceof BackendFailure) return { kind: "json", body: backendErrorResponse(id, err) };
    throw err;
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
  }
}
