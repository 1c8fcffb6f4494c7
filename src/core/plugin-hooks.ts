/**
 * Where the plugin chain meets dispatch, as two plain steps around a
 * forwarded call: `beforeCall` runs the pre hooks of `tools/call`,
 * `prompts/get` and `resources/read` (and may answer at once, e.g. a cache
 * hit), and the `after` it returns runs the post hooks on the backend's
 * result. `visibleTools` filters `tools/list`. Everything else about plugins
 * stays in `src/plugins/`.
 *
 * Client-visible errors (JSON-RPC, gateway range):
 * - `-32011` the request was stopped by a plugin in enforce mode; `data` is
 *   `{plugin, hook, code, description, details?}` (e.g. `code: "PII_DETECTED"`).
 * - `-32012` a plugin failed (threw or timed out) in enforce mode with
 *   `on_error: "fail"`; `data` is `{plugin, hook, code: "PLUGIN_ERROR" | "PLUGIN_TIMEOUT"}`.
 * No stack trace or error text from a plugin ever reaches the client.
 */

import { chainFor, userName } from "../plugins/chain";
import { applies, type CompiledChain } from "../plugins/compile";
import type { MatchTarget } from "../plugins/conditions";
import { type Blocked, type Recorded, runHook } from "../plugins/executor";
import { ENTITY_HOOKS, type Entity, HOOK_SPECS, type HookName, type RequestContext } from "../plugins/types";
import type { CatalogItem } from "../protocol/catalog-types";
import { type JsonRpcId, RpcError, resultResponse } from "../protocol/jsonrpc";
import { LruMap } from "../util/lru";
import type { McpContext, Outcome } from "./context";
import type { ViewEntry } from "./federation";

/** The method a guarded entity's call is (for the era's result shaping). */
const ENTITY_METHOD: Record<Entity, string> = {
  tool: "tools/call",
  prompt: "prompts/get",
  resource: "resources/read",
};

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
  /** A tool called by its alias: the public name the alias stands for (conditions match it too). */
  aliasOf?: string;
  backend: string;
  /** The tool's catalog entry, looked up only if a plugin asks (schema_guard, response_cache). */
  tool?: () => Promise<CatalogItem | undefined>;
}

/** Runs the post hooks on a backend's result; throws RpcError to answer with an error instead. */
export type AfterHooks = (result: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** What the pre hooks decided: answer now, or send `value` and run `after` on the result. */
export type BeforeCall = { reply: Outcome } | { reply?: undefined; value: unknown; after?: AfterHooks };

/** Backend params: the backend's own name, and the arguments only if a plugin changed them. */
export function withArguments(params: Record<string, unknown> | undefined, name: string, args: unknown, next: unknown) {
  return { ...params, name, ...(next !== args && { arguments: next }) };
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

/** The caller's teams and roles as conditions match them (memoized per principal object). */
const callerFacts = new WeakMap<object, { teams: string[]; roles: string[]; key: string }>();

function factsOf(ctx: McpContext) {
  const p = ctx.caller.principal;
  if (!p) return undefined;
  let facts = callerFacts.get(p);
  if (!facts) {
    const teams = [...p.teams.keys()].sort();
    const roles = [...new Set([...(p.platformAdmin ? ["platform_admin"] : []), ...p.teams.values()])].sort();
    facts = { teams, roles, key: `${teams.join(",")}\0${roles.join(",")}` };
    callerFacts.set(p, facts);
  }
  return facts;
}

function matchTarget(
  ctx: McpContext,
  t: { entity: Entity; name: string; original: string; backend: string; aliasOf?: string },
) {
  const facts = factsOf(ctx);
  return {
    entity: t.entity,
    name: t.name,
    original: t.original,
    ...(t.aliasOf !== undefined && { aliasOf: t.aliasOf }),
    backend: t.backend,
    server: ctx.endpoint.server?.name ?? null,
    user: ctx.caller.principal?.name ?? userName(ctx.config, ctx.caller.subject),
    subject: ctx.caller.subject,
    ...(facts && { teams: facts.teams, roles: facts.roles }),
    backendTeam: ctx.config.backends.get(t.backend)?.team ?? null,
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
 * URI). Without applicable plugins it is `{value}` and costs one memoized
 * lookup (design rule 6).
 */
export async function beforeCall(
  ctx: McpContext,
  id: JsonRpcId,
  target: CallTarget,
  value: unknown,
): Promise<BeforeCall> {
  const chain = chainFor(ctx.config, ctx.env);
  if (!chain) return { value };
  const hooks = ENTITY_HOOKS[target.entity];
  const match = matchTarget(ctx, target);
  const pre = chain.select(hooks.pre, match);
  const post = chain.select(hooks.post, match);
  if (pre.length === 0 && post.length === 0) return { value };

  const rc = requestContext(ctx, target, match);
  const postSpec = HOOK_SPECS[hooks.post];
  const runPost = async (result: Record<string, unknown>, after?: number) => {
    const run = await runHook(post, postSpec, result, rc, after);
    spanEvents(ctx, run.recorded, run.blocked);
    record(run.recorded, match);
    if (run.blocked) throw blockedError(hooks.post, run.blocked);
    return run.value as Record<string, unknown>;
  };
  const after = post.length > 0 ? (result: Record<string, unknown>) => runPost(result) : undefined;
  if (pre.length === 0) return { value, after };

  const run = await runHook(pre, HOOK_SPECS[hooks.pre], value, rc);
  spanEvents(ctx, run.recorded, run.blocked);
  record(run.recorded, match);
  if (run.blocked) throw blockedError(hooks.pre, run.blocked);
  if (run.respond) {
    // A cache hit: the post hooks after the cache's band still run on the stored result.
    const result = post.length > 0 ? await runPost(run.respond.result, run.respond.priority) : run.respond.result;
    return { reply: { kind: "json", body: resultResponse(id, ctx.era.result(ENTITY_METHOD[target.entity], result)) } };
  }
  return { value: run.value, after };
}

/** Filtered listings per listing array, config version and user (bounded). */
const visible = new WeakMap<readonly ViewEntry[], LruMap<string, readonly ViewEntry[]>>();

function hidden(chain: CompiledChain, match: MatchTarget): boolean {
  for (const p of chain.listFilters) {
    if (applies(p, match) && p.instance.listsTool?.(match.name, match.original, match.aliasOf) === false) return true;
  }
  return false;
}

/** `tools/list` without the tools an enforce-mode tool_filter denies to this caller. */
export function visibleTools(ctx: McpContext, entries: readonly ViewEntry[]): readonly ViewEntry[] {
  const chain = chainFor(ctx.config, ctx.env);
  if (!chain || chain.listFilters.length === 0) return entries;
  const user = ctx.caller.principal?.name ?? userName(ctx.config, ctx.caller.subject);
  const key = `${chain.version}\0${user}\0${factsOf(ctx)?.key ?? ""}`;
  let memo = visible.get(entries);
  const cached = memo?.get(key);
  if (cached) return cached;
  const out = entries.filter(
    (e) =>
      !hidden(
        chain,
        matchTarget(ctx, {
          entity: "tool",
          name: String(e.item.name ?? ""),
          original: e.original,
          backend: e.backend,
          ...(e.aliasOf !== undefined && { aliasOf: e.aliasOf }),
        }),
      ),
  );
  if (!memo) {
    memo = new LruMap(64);
    visible.set(entries, memo);
  }
  memo.set(key, out);
  return out;
}
