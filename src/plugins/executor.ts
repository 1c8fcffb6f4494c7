/**
 * Running one hook over its selected bands.
 *
 * - Bands run in priority order. In a band, inspect-only plugins start
 *   together on the band's input; modifying plugins then run one by one in
 *   name order, each on the previous one's output (bands.ts).
 * - The payload is never copied for a plugin: every plugin gets the same
 *   value; a modifying plugin returns a new value and only then does the
 *   payload change (copy on write).
 * - enforce: a violation stops the request (the first violating plugin by
 *   name within the band is reported). permissive: it is recorded and the
 *   request continues. Modifications apply in both modes.
 * - A plugin that throws, times out (`timeout_ms`) or returns a value of the
 *   wrong type has failed: in enforce mode with `on_error: "fail"` the request
 *   stops with a plugin error; otherwise the failure is recorded and the
 *   plugin is skipped. Nothing a plugin throws reaches the client.
 * - Synchronous plugins cost no promise or timer; only plugins that return a
 *   promise are raced against their timeout.
 */
import type { Band } from "./bands";
import type { CompiledPlugin } from "./compile";
import type { HookSpec, MaybePromise, PluginResult, RequestContext, Violation } from "./types";

/** Why a request was stopped. */
export interface Blocked {
  plugin: string;
  kind: "violation" | "error";
  code: string;
  description: string;
  details?: Record<string, unknown>;
}

/** A violation or failure that did not stop the request (permissive mode, or `on_error: "ignore"`). */
export interface Recorded {
  plugin: string;
  hook: string;
  kind: "violation" | "error";
  code: string;
}

export interface HookRun {
  /** The hook field after every modification. */
  value: unknown;
  blocked?: Blocked;
  /** A pre hook answered the call itself (response_cache); `priority` is the answering band's. */
  respond?: { result: Record<string, unknown>; priority: number };
  recorded: Recorded[];
}

type Settled = { ok: true; result: PluginResult | undefined } | { ok: false; code: "PLUGIN_ERROR" | "PLUGIN_TIMEOUT" };

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}

function failed(plugin: CompiledPlugin, err: unknown): Settled {
  const timeout = err instanceof PluginTimeout;
  // Server log only: the client sees the plugin's name and a code, never the error.
  console.error(
    "plugin failed",
    plugin.name,
    timeout ? "timeout" : err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : "unknown",
  );
  return { ok: false, code: timeout ? "PLUGIN_TIMEOUT" : "PLUGIN_ERROR" };
}

class PluginTimeout extends Error {}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PluginTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

function validModification(hook: HookSpec, value: unknown): boolean {
  if (hook.field === "uri") return typeof value === "string" && value.length > 0;
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checked(plugin: CompiledPlugin, hook: HookSpec, result: PluginResult | undefined): Settled {
  if (result?.modified !== undefined && !validModification(hook, result.modified)) {
    return failed(plugin, new Error(`invalid ${hook.field} returned`));
  }
  return { ok: true, result };
}

/** Calls one plugin, isolating every failure. */
function invoke(plugin: CompiledPlugin, hook: HookSpec, value: unknown, ctx: RequestContext): MaybePromise<Settled> {
  let out: MaybePromise<PluginResult | undefined>;
  try {
    out = plugin.instance.run(hook, value, ctx);
  } catch (err) {
    return failed(plugin, err);
  }
  if (!isPromise(out)) return checked(plugin, hook, out);
  return withTimeout(out, plugin.timeoutMs).then(
    (r) => checked(plugin, hook, r),
    (err: unknown) => failed(plugin, err),
  );
}

interface Outcome {
  plugin: CompiledPlugin;
  settled: Settled;
}

function describeFailure(plugin: CompiledPlugin, code: string): Violation {
  return {
    code,
    description:
      code === "PLUGIN_TIMEOUT"
        ? `Plugin '${plugin.name}' did not finish within ${plugin.timeoutMs} ms`
        : `Plugin '${plugin.name}' failed`,
  };
}

/**
 * Runs `bands` for `hook` on `value`. `afterPriority` skips bands at or below
 * it (a response_cache hit resumes the post chain after the cache's band).
 */
export async function runHook(
  bands: readonly Band<CompiledPlugin>[],
  hook: HookSpec,
  value: unknown,
  ctx: RequestContext,
  afterPriority = Number.NEGATIVE_INFINITY,
): Promise<HookRun> {
  const recorded: Recorded[] = [];
  let current = value;
  for (const band of bands) {
    if (band.priority <= afterPriority) continue;
    const input = current;
    const outcomes: Outcome[] = [];
    let pending: Promise<void>[] | undefined;
    for (const plugin of band.inspectors) {
      const s = invoke(plugin, hook, input, ctx);
      if (isPromise(s)) {
        pending ??= [];
        pending.push(s.then((settled) => void outcomes.push({ plugin, settled })));
      } else outcomes.push({ plugin, settled: s });
    }
    for (const plugin of band.modifiers) {
      const s = invoke(plugin, hook, current, ctx);
      const settled = isPromise(s) ? await s : s;
      outcomes.push({ plugin, settled });
      if (settled.ok && settled.result?.modified !== undefined) current = settled.result.modified;
      // An enforce-mode stop ends the band's modifier sequence early.
      if (plugin.mode === "enforce" && (settled.ok ? settled.result?.violation : plugin.onError === "fail")) break;
    }
    if (pending) await Promise.all(pending);

    outcomes.sort((a, b) => (a.plugin.name < b.plugin.name ? -1 : a.plugin.name > b.plugin.name ? 1 : 0));
    let respond: Record<string, unknown> | undefined;
    for (const { plugin, settled } of outcomes) {
      const problem: Violation | undefined = settled.ok
        ? settled.result?.violation
        : describeFailure(plugin, settled.code);
      if (problem) {
        const kind = settled.ok ? "violation" : "error";
        const stops = plugin.mode === "enforce" && (kind === "violation" || plugin.onError === "fail");
        if (stops) {
          return {
            value: current,
            recorded,
            blocked: {
              plugin: plugin.name,
              kind,
              code: problem.code,
              description: problem.description,
              ...(problem.details && { details: problem.details }),
            },
          };
        }
        recorded.push({ plugin: plugin.name, hook: hook.name, kind, code: problem.code });
      }
      if (settled.ok && settled.result?.respond && hook.phase === "pre") respond ??= settled.result.respond;
    }
    if (respond) return { value: current, recorded, respond: { result: respond, priority: band.priority } };
  }
  return { value: current, recorded };
}
