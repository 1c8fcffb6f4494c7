import { env } from "cloudflare:workers";
import { z } from "zod";
import type { PluginConfig } from "../../src/config/snapshot";
import { type CompiledChain, compileChain } from "../../src/plugins/compile";
import { BUILTIN_KINDS } from "../../src/plugins/kinds";
import {
  defineKind,
  HOOK_SPECS,
  HOOKS,
  type HookName,
  type PluginInstance,
  type PluginKind,
  type PluginResult,
  type RequestContext,
} from "../../src/plugins/types";
import type { CatalogItem } from "../../src/protocol/catalog-types";

/** A request context as the edge builds it, with overridable fields. */
export function fakeContext(over: Partial<RequestContext> & { catalog?: CatalogItem } = {}): RequestContext {
  const state = new Map<string, unknown>();
  const { catalog, ...rest } = over;
  return {
    entity: "tool",
    name: "alpha__echo",
    original: "echo",
    backend: "alpha",
    server: null,
    endpoint: "*",
    user: "tester",
    requestBytes: 100,
    env,
    tool: async () => catalog,
    getState: (plugin, key) => state.get(`${plugin}\0${key}`),
    setState: (plugin, key, value) => void state.set(`${plugin}\0${key}`, value),
    ...rest,
  };
}

/** A built-in plugin instance from a config (throws on an invalid config). */
export function builtin(kind: string, config: Record<string, unknown>, name = "p"): PluginInstance {
  const k = BUILTIN_KINDS.get(kind);
  if (!k) throw new Error(`no kind ${kind}`);
  const parsed = k.parse(config);
  if (!parsed.success) throw new Error(`invalid config: ${parsed.error.message}`);
  return k.create(parsed.data, name);
}

/** Runs one hook of a built-in plugin. */
export async function runOnce(
  plugin: PluginInstance,
  hook: HookName,
  value: unknown,
  ctx: RequestContext = fakeContext(),
): Promise<PluginResult | undefined> {
  return plugin.run(HOOK_SPECS[hook], value, ctx);
}

/** Config issues' paths for a kind. */
export function configIssues(kind: string, config: unknown): string[] {
  const k = BUILTIN_KINDS.get(kind);
  if (!k) throw new Error(`no kind ${kind}`);
  const parsed = k.parse(config);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join("."));
}

/** A scripted test kind: `behaviour` decides what each run does. */
export type Behaviour = (
  value: unknown,
  ctx: RequestContext,
) => PluginResult | undefined | Promise<PluginResult | undefined>;

export function testKinds(behaviours: Record<string, { modifies?: boolean; run: Behaviour }>): Map<string, PluginKind> {
  const kinds = new Map<string, PluginKind>(BUILTIN_KINDS);
  for (const [name, b] of Object.entries(behaviours)) {
    kinds.set(
      name,
      defineKind({
        kind: name,
        description: "test",
        hooks: HOOKS,
        defaultHooks: HOOKS,
        schema: z.looseObject({}),
        create: () => ({ modifies: () => b.modifies ?? false, run: (_hook, value, ctx) => b.run(value, ctx) }),
      }),
    );
  }
  return kinds;
}

/** A stored plugin config with defaults. */
export function stored(over: Partial<PluginConfig> & { name: string; kind: string }): PluginConfig {
  return { mode: "enforce", priority: 100, hooks: ["tool_pre_invoke"], conditions: null, config: {}, ...over };
}

export function chain(plugins: PluginConfig[], kinds: ReadonlyMap<string, PluginKind>): CompiledChain {
  return compileChain(1, plugins, kinds);
}

export const TARGET = {
  entity: "tool" as const,
  name: "alpha__echo",
  original: "echo",
  backend: "alpha",
  server: null,
  user: "tester",
};
