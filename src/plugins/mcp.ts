/**
 * Where the plugin chain meets the MCP edge: `dispatch.ts` calls `guardCall`
 * around `tools/call`, `prompts/get` and `resources/read`, and
 * `visibleTools` on `tools/list`. Everything else about plugins stays in
 * this directory.
 *
 * Client-visible errors (JSON-RPC, gateway range):
 * - `-32011` the request was stopped by a plugin in enforce mode; `data` is
 *   `{plugin, hook, code, description, details?}` (e.g. `code: "PII_DETECTED"`).
 * - `-32012` a plugin failed (threw or timed out) in enforce mode with
 *   `on_error: "fail"`; `data` is `{plugin, hook, code: "PLUGIN_ERROR" | "PLUGIN_TIMEOUT"}`.
 * No stack trace or error text from a plugin ever reaches the client.
 */
import type { CatalogItem } from "../mcp/catalog-types";
import type { McpContext, Outcome } from "../mcp/context";
import type { ViewEntry } from "../mcp/federation";
import { type JsonRpcId, RpcError, resultResponse } from "../mcp/jsonrpc";
import { LruMap } from "../util/lru";
import { chainFor, userName } from "./chain";
import type { CompiledChain } from "./compile";
import { appliesTo, type MatchTarget } from "./conditions";
import { type Blocked, type Recorded, runHook } from "./executor";
import { ENTITY_HOOKS, type Entity, HOOK_SPECS, type HookName, type RequestContext } from "./types";

export const PluginErrorCode = {
  /** A plugin in enforce mode found a violation. */
  Violation: -32011,
  /** A plugin in enforce mode with `on_error: "fail"` threw or timed out. */
  Failure: -32012,
} as const;

/** What a guarded call is about. */
export interface CallTarget {
  entity: Entity;
  /** Public name or URI. */
  name: string;
  /** Name or URI at the backend. */
  original: string;
  backend: string;
  /** The tool's catalog entry, looked up only if a plugin asks (schema_guard, response_cache). */
  tool?: () => Promise<CatalogItem | undefined>;
}

/** Rewrites a backend's result; throws RpcError to answer with an error instead. */
export type ResultMapper = (result: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** Sends the (possibly modified) pre-hook field to the backend; `mapResult` runs the post hooks. */
export type GuardedCall = (value: unknown, mapResult: ResultMapper | undefined) => Promise<Outcome>;

/** Backend params: the backend's own name, and the arguments only if a plugin changed them. */
export function withArguments(params: Record<string, unknown> | undefined, name: string, args: unknown, next: unknown) {
  return { ...params, name, ...(next !== args && { arguments: next }) };
}

/** `first` (e.g. public resource URIs), then the plugins' post hooks when there are any. */
export function thenMap(
  first: (result: Record<string, unknown>) => Record<string, unknown>,
  then: ResultMapper | undefined,
): (result: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>> {
  return then ? (result) => then(first(result)) : first;
}

/** The JSON-RPC error for a stopped request. */
export function blockedError(hook: HookName, b: Blocked): RpcError {
  if (b.kind === "violation") {
    return new RpcError(PluginErrorCode.Violation, `Blocked by plugin '${b.plugin}': ${b.description}`, {
      plugin: b.plugin,
      hook,
      code: b.code,
      description: b.description,
      ...(b.details && { details: b.details }),
    });
  }
  return new RpcError(PluginErrorCode.Failure, b.description, { plugin: b.plugin, hook, code: b.code });
}

/**
 * Records what did not stop a request (permissive violations, ignored
 * failures) as one structured log line. The observability work turns these
 * into span events; nothing here is awaited.
 */
/**
 * Records a hook run's violations and failures as `plugin` spans (name and
 * code only), so `/api/spans` and `/metrics` show them. Clean runs record
 * nothing: a span per plugin per call would cost more than the plugins.
 */
function spanEvents(ctx: McpContext, events: readonly Recorded[], blocked: Blocked | undefined): void {
  for (const e of events) ctx.spans.start("plugin", { plugin: e.plugin, violation: e.code }).end("error");
  if (blocked) ctx.spans.start("plugin", { plugin: blocked.plugin, violation: blocked.code }).end("error");
}

function record(events: readonly Recorded[], target: MatchTarget): void {
  if (events.length === 0) return;
  console.warn(
    JSON.stringify({
      msg: "plugin events",
      entity: target.entity,
      name: target.name,
      backend: target.backend,
      user: target.user,
      events,
    }),
  );
}

function matchTarget(ctx: McpContext, t: { entity: Entity; name: string; original: string; backend: string }) {
  return {
    entity: t.entity,
    name: t.name,
    original: t.original,
    backend: t.backend,
    server: ctx.endpoint.server?.name ?? null,
    user: userName(ctx.config, ctx.session.claims.sub),
  } satisfies MatchTarget;
}

/**
 * Longest wait for a tool's catalog entry. A warm isolate has it in memory; a
 * cold one asks the backend's Durable Object once. Past this the tool counts
 * as not catalogued (schema_guard's `require_catalog` decides).
 */
const CATALOG_LOOKUP_MS = 500;

function lookupTool(lookup: () => Promise<CatalogItem | undefined>): Promise<CatalogItem | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), CATALOG_LOOKUP_MS);
  });
  return Promise.race([lookup().catch(() => undefined), deadline]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

function requestContext(ctx: McpContext, target: CallTarget, match: MatchTarget): RequestContext {
  let state: Map<string, unknown> | undefined;
  let tool: Promise<CatalogItem | undefined> | undefined;
  return {
    ...match,
    endpoint: ctx.endpoint.key,
    requestBytes: ctx.requestBytes,
    env: ctx.env,
    tool: () => {
      tool ??= target.tool ? lookupTool(target.tool) : Promise.resolve(undefined);
      return tool;
    },
    getState: (plugin, key) => state?.get(`${plugin}\0${key}`),
    setState: (plugin, key, value) => {
      state ??= new Map();
      state.set(`${plugin}\0${key}`, value);
    },
  };
}

/**
 * Runs the entity's pre hooks on `value` (tool/prompt arguments or resource
 * URI), then `call` with the result and a mapper that runs the post hooks on
 * the backend's result. Without applicable plugins it is `call(value)`.
 */
export async function guardCall(
  ctx: McpContext,
  id: JsonRpcId,
  target: CallTarget,
  value: unknown,
  call: GuardedCall,
): Promise<Outcome> {
  const chain = chainFor(ctx.config, ctx.env);
  if (!chain) return call(value, undefined);
  const hooks = ENTITY_HOOKS[target.entity];
  const match = matchTarget(ctx, target);
  const pre = chain.select(hooks.pre, match);
  const post = chain.select(hooks.post, match);
  if (pre.length === 0 && post.length === 0) return call(value, undefined);

  const rc = requestContext(ctx, target, match);
  const postSpec = HOOK_SPECS[hooks.post];
  const runPost = async (result: Record<string, unknown>, after?: number) => {
    const run = await runHook(post, postSpec, result, rc, after);
    spanEvents(ctx, run.recorded, run.blocked);
    record(run.recorded, match);
    if (run.blocked) throw blockedError(hooks.post, run.blocked);
    return run.value as Record<string, unknown>;
  };

  let current = value;
  if (pre.length > 0) {
    const run = await runHook(pre, HOOK_SPECS[hooks.pre], value, rc);
    spanEvents(ctx, run.recorded, run.blocked);
    record(run.recorded, match);
    if (run.blocked) throw blockedError(hooks.pre, run.blocked);
    if (run.respond) {
      const result = post.length > 0 ? await runPost(run.respond.result, run.respond.priority) : run.respond.result;
      return { kind: "json", body: resultResponse(id, result) };
    }
    current = run.value;
  }
  return call(current, post.length > 0 ? (result) => runPost(result) : undefined);
}

/** Filtered listings per listing array, config version and user (bounded). */
const visible = new WeakMap<readonly ViewEntry[], LruMap<string, readonly ViewEntry[]>>();

function hidden(chain: CompiledChain, match: MatchTarget): boolean {
  for (const p of chain.listFilters) {
    if (appliesTo(p.conditions, match) && p.instance.listsTool?.(match.name, match.original) === false) return true;
  }
  return false;
}

/** `tools/list` without the tools an enforce-mode tool_filter denies to this caller. */
export function visibleTools(ctx: McpContext, entries: readonly ViewEntry[]): readonly ViewEntry[] {
  const chain = chainFor(ctx.config, ctx.env);
  if (!chain || chain.listFilters.length === 0) return entries;
  const user = userName(ctx.config, ctx.session.claims.sub);
  const key = `${chain.version}\0${user}`;
  let memo = visible.get(entries);
  const cached = memo?.get(key);
  if (cached) return cached;
  const out = entries.filter(
    (e) =>
      !hidden(
        chain,
        matchTarget(ctx, { entity: "tool", name: String(e.item.name ?? ""), original: e.original, backend: e.backend }),
      ),
  );
  if (!memo) {
    memo = new LruMap(64);
    visible.set(entries, memo);
  }
  memo.set(key, out);
  return out;
}
