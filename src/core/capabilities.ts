/**
 * What the federated server says it can do: the union of its backends'
 * capabilities plus what the gateway always offers itself. Both eras ask the
 * same question (`initialize` in 2025, `server/discover` in 2026).
 */
import type { FederatedView } from "./federation";

/** Capabilities the gateway always offers itself. */
const OWN_CAPABILITIES = { tools: { listChanged: true }, logging: {} };

/** Computed once per (cached, immutable) view. */
const memo = new WeakMap<FederatedView, Readonly<Record<string, unknown>>>();

/** The endpoint's capabilities, from its view of the backends' catalogs. */
export function serverCapabilities(view: FederatedView): Readonly<Record<string, unknown>> {
  const known = memo.get(view);
  if (known) return known;
  const union = view.capabilities;
  const merged: Record<string, unknown> = { ...OWN_CAPABILITIES };
  // `extensions` (SEP-1724): e.g. MCP Apps, declared by the backends for this profile's clients.
  for (const key of ["tools", "prompts", "resources", "completions", "logging", "extensions"]) {
    if (union[key] !== undefined) merged[key] = { ...(merged[key] as object | undefined), ...(union[key] as object) };
  }
  // Listing changes are announced by the gateway whatever the backends say.
  for (const key of ["tools", "prompts", "resources"]) {
    if (merged[key]) merged[key] = { ...(merged[key] as object), listChanged: true };
  }
  memo.set(view, merged);
  return merged;
}
