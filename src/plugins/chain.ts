/**
 * The isolate's compiled chain: built once per config snapshot (that is, per
 * config version) on first use and reused by every request that snapshot
 * serves. A snapshot without plugins, or `PLUGINS_ENABLED=false`, costs
 * nothing: no chain is built and the hooks return at once.
 */
import type { ConfigSnapshot } from "../config/snapshot";
import { type CompiledChain, compileChain } from "./compile";
import { BUILTIN_KINDS } from "./kinds";

/** Snapshots are immutable, so a WeakMap entry lives exactly as long as its version is in use. */
const chains = new WeakMap<ConfigSnapshot, CompiledChain>();
/** API token id → name, for `user_patterns` and per-token limits (also per snapshot). */
const users = new WeakMap<ConfigSnapshot, ReadonlyMap<string, string>>();

/** True unless the operator turned plugins off (`PLUGINS_ENABLED=false`). */
export function pluginsEnabled(env: { PLUGINS_ENABLED?: string }): boolean {
  return (env.PLUGINS_ENABLED ?? "").trim().toLowerCase() !== "false";
}

/** The compiled chain for `config`, or null when there is nothing to run. */
export function chainFor(config: ConfigSnapshot, env: { PLUGINS_ENABLED?: string }): CompiledChain | null {
  if (config.plugins.length === 0 || !pluginsEnabled(env)) return null;
  let chain = chains.get(config);
  if (!chain) {
    chain = compileChain(config.version, config.plugins, BUILTIN_KINDS);
    chains.set(config, chain);
  }
  return chain;
}

/** The user name plugins see for a session subject: token name, `admin` or `anonymous`. */
export function userName(config: ConfigSnapshot, subject: string): string {
  if (subject === "admin" || subject === "anonymous") return subject;
  let byId = users.get(config);
  if (!byId) {
    byId = new Map([...config.tokensByHash.values()].map((t) => [t.id, t.name]));
    users.set(config, byId);
  }
  return byId.get(subject) ?? subject;
}
