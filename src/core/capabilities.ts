/**
 * What the federated server says it can do: the union of its backends'
 * capabilities plus what the gateway always offers itself, and the
 * extensions and unknown capabilities `extensions.ts` decides on. Both eras
 * ask the same question (`initialize` in 2025, `server/discover` in 2026).
 */
import { UI_EXTENSION } from "../protocol/profiles";
import { extensionCapabilities } from "./extensions";
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
  const merged: Record<string, unknown> = { ...extensionCapabilities(view), ...OWN_CAPABILITIES };
  for (const key of ["tools", "prompts", "resources", "completions", "logging"]) {
    if (union[key] !== undefined) merged[key] = { ...(merged[key] as object | undefined), ...(union[key] as object) };
  }
  // MCP Apps (SEP-1865) are federated by the gateway itself (references.ts, apps.ts), so a backend's
  // UI extension is announced on every endpoint; other extensions follow the policy of extensions.ts.
  const ui = (union.extensions as Record<string, unknown> | undefined)?.[UI_EXTENSION];
  if (ui !== undefined) merged.extensions = { ...(merged.extensions as object | undefined), [UI_EXTENSION]: ui };
  // Tasks (2025-11-25, experimental) only when a backend has them: the gateway relays what they offer (tasks.ts).
  if (union.tasks !== undefined) merged.tasks = union.tasks;
  // Listing changes are announced by the gateway whatever the backends say.
  for (const key of ["tools", "prompts", "resources"]) {
    if (merged[key]) merged[key] = { ...(merged[key] as object), listChanged: true };
  }
  memo.set(view, merged);
  return merged;
}
