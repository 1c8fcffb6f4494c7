/**
 * Compiling the stored plugin list into a chain (pure logic, once per config
 * version, design rule 6): configs parsed, instances created, conditions
 * compiled, every hook's plugins sorted into priority bands. At request time
 * selecting a request's plugins is one memoized lookup.
 *
 * A stored plugin that cannot be built (unknown kind, a config that no longer
 * parses) is not dropped silently: it becomes a plugin that always fails, so
 * its `on_error` decides, and an enforce-mode guardrail fails closed.
 */
import type { PluginConfig } from "../config/snapshot";
import { LruMap } from "../util/lru";
import { type Band, filterBands, toBands } from "./bands";
import {
  appliesTo,
  type CompiledConditions,
  type Condition,
  ConditionsSchema,
  compileConditions,
  type MatchTarget,
} from "./conditions";
import { readSettings } from "./settings";
import { HOOKS, type HookName, type OnError, type PluginInstance, type PluginKind } from "./types";

/** One plugin, ready to run. */
export interface CompiledPlugin {
  name: string;
  kind: string;
  mode: "enforce" | "permissive";
  priority: number;
  timeoutMs: number;
  onError: OnError;
  hooks: ReadonlySet<HookName>;
  conditions: CompiledConditions;
  /** Owning team: the plugin applies only to calls to that team's backends. */
  team: string | null;
  instance: PluginInstance;
}

/** True when the plugin applies to the target: its team's backends only, then its conditions. */
export function applies(p: CompiledPlugin, t: MatchTarget): boolean {
  if (p.team !== null && (t.backendTeam ?? null) !== p.team) return false;
  return appliesTo(p.conditions, t);
}

/** The compiled chain of one config version. */
export interface CompiledChain {
  version: number;
  /** Every hook's plugins, in bands (before conditions). */
  bands: Readonly<Record<HookName, readonly Band<CompiledPlugin>[]>>;
  /** Enforce-mode plugins that hide tools from listings (tool_filter on tool_pre_invoke). */
  listFilters: readonly CompiledPlugin[];
  /** The bands of `hook` whose plugins apply to `target` (memoized). */
  select(hook: HookName, target: MatchTarget): readonly Band<CompiledPlugin>[];
}

/** Distinct request shapes remembered per chain; a miss only re-runs the condition match. */
const SELECT_MEMO_SIZE = 4_096;

class BrokenPlugin implements PluginInstance {
  modifies(): boolean {
    return false;
  }
  run(): never {
    throw new Error("plugin configuration is invalid");
  }
}

/** The stored hooks that exist and that the kind implements (a kind that dropped a hook never sees it). */
function hooksOf(p: PluginConfig, kinds: ReadonlyMap<string, PluginKind>): Set<HookName> {
  const supported = kinds.get(p.kind)?.hooks ?? HOOKS;
  return new Set(p.hooks.filter((h): h is HookName => (supported as readonly string[]).includes(h)));
}

function build(p: PluginConfig, kinds: ReadonlyMap<string, PluginKind>): PluginInstance {
  const kind = kinds.get(p.kind);
  if (!kind) return new BrokenPlugin();
  const parsed = kind.parse(p.config);
  if (!parsed.success) return new BrokenPlugin();
  try {
    return kind.create(parsed.data, p.name);
  } catch {
    return new BrokenPlugin();
  }
}

function conditionsOf(p: PluginConfig): CompiledConditions | "invalid" {
  const parsed = ConditionsSchema.safeParse(p.conditions ?? []);
  return parsed.success ? compileConditions(parsed.data as Condition[]) : "invalid";
}

/** Compiles the plugins of a snapshot; disabled plugins and unknown hooks are left out. */
export function compileChain(
  version: number,
  plugins: readonly PluginConfig[],
  kinds: ReadonlyMap<string, PluginKind>,
): CompiledChain {
  const compiled: CompiledPlugin[] = [];
  for (const p of plugins) {
    if (p.mode === "disabled") continue;
    const settings = readSettings(p.config);
    const conditions = conditionsOf(p);
    compiled.push({
      name: p.name,
      kind: p.kind,
      mode: p.mode,
      priority: p.priority,
      timeoutMs: settings.timeoutMs,
      onError: settings.onError,
      hooks: hooksOf(p, kinds),
      conditions: conditions === "invalid" ? null : conditions,
      team: p.team ?? null,
      instance: conditions === "invalid" ? new BrokenPlugin() : build(p, kinds),
    });
  }

  const bands = {} as Record<HookName, Band<CompiledPlugin>[]>;
  for (const hook of HOOKS) {
    bands[hook] = toBands(
      compiled.filter((p) => p.hooks.has(hook)),
      (p) => p.instance.modifies(hook),
    );
  }
  const listFilters = compiled.filter(
    (p) => p.mode === "enforce" && p.hooks.has("tool_pre_invoke") && typeof p.instance.listsTool === "function",
  );

  // Hooks whose plugins have no conditions need no per-request matching at all.
  const unconditional = new Set(
    HOOKS.filter((hook) => compiled.every((p) => !p.hooks.has(hook) || (p.conditions === null && p.team === null))),
  );
  const memo = new LruMap<string, readonly Band<CompiledPlugin>[]>(SELECT_MEMO_SIZE);
  const select = (hook: HookName, t: MatchTarget): readonly Band<CompiledPlugin>[] => {
    const all = bands[hook];
    if (all.length === 0 || unconditional.has(hook)) return all;
    const who = `${t.user}\0${t.teams?.join(",") ?? ""}\0${t.roles?.join(",") ?? ""}\0${t.backendTeam ?? ""}`;
    const key = `${hook}\0${t.backend}\0${t.server ?? ""}\0${who}\0${t.name}\0${t.original}\0${t.aliasOf ?? ""}`;
    let hit = memo.get(key);
    if (!hit) {
      hit = filterBands(all, (p) => applies(p, t));
      memo.set(key, hit);
    }
    return hit;
  };
  return { version, bands, listFilters, select };
}
