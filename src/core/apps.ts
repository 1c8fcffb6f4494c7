/**
 * MCP Apps (extension `io.modelcontextprotocol/ui`, SEP-1865) through the
 * gateway, beyond what references and capability profiles already do (a
 * tool's `_meta.ui.resourceUri` is mapped with the listing, `references.ts`;
 * the client's UI capability reaches backends exactly when it claims it,
 * `protocol/profiles.ts`): which apps a caller is shown.
 *
 * An app is its `ui://` view plus the tools that point at it. The plugin
 * chain hides tools (an enforce-mode `tool_filter`); an app whose every tool
 * is hidden from the caller is hidden with them: its view leaves
 * `resources/list` and reading it is "resource not found", as for any URI
 * the endpoint does not serve. A view no listed tool points at is an
 * ordinary resource. Nothing here runs for an endpoint without list filters
 * or for a URI that is not `ui://`.
 */
import { chainFor } from "../plugins/chain";
import { ErrorCode, RpcError } from "../protocol/jsonrpc";
import { LruMap } from "../util/lru";
import type { McpContext } from "./context";
import type { FederatedView, ViewEntry } from "./federation";
import { visibleTools } from "./plugin-hooks";
import { federatedView } from "./views";

const UI_SCHEME = "ui://";

function viewUri(item: Record<string, unknown>): string | undefined {
  const meta = item._meta as { ui?: { resourceUri?: unknown }; "ui/resourceUri"?: unknown } | undefined;
  const uri = meta?.ui?.resourceUri ?? meta?.["ui/resourceUri"];
  return typeof uri === "string" && uri.startsWith(UI_SCHEME) ? uri : undefined;
}

/** Public view URI → the tools pointing at it, per (immutable, cached) view. */
const appsOf = new WeakMap<FederatedView, Map<string, ViewEntry[]>>();

function apps(view: FederatedView): Map<string, ViewEntry[]> {
  let found = appsOf.get(view);
  if (!found) {
    found = new Map();
    for (const entry of view.tools) {
      const uri = viewUri(entry.item);
      if (uri) found.set(uri, [...(found.get(uri) ?? []), entry]);
    }
    appsOf.set(view, found);
  }
  return found;
}

/** The views whose tools are all hidden from this caller, per visible-tools list (memoized by identity). */
const hiddenOf = new WeakMap<readonly ViewEntry[], Set<string>>();

function hiddenApps(ctx: McpContext, view: FederatedView): Set<string> | null {
  const chain = chainFor(ctx.config, ctx.env);
  if (!chain || chain.listFilters.length === 0) return null;
  const visible = visibleTools(ctx, view.tools);
  let hidden = hiddenOf.get(visible);
  if (!hidden) {
    const shown = new Set(visible);
    hidden = new Set([...apps(view)].filter(([, tools]) => !tools.some((t) => shown.has(t))).map(([uri]) => uri));
    hiddenOf.set(visible, hidden);
  }
  return hidden;
}

/** Refuses a read of an app view the caller may not see (-32002, as for a URI the endpoint does not serve). */
export async function assertAppVisible(ctx: McpContext, uri: string): Promise<void> {
  if (!uri.startsWith(UI_SCHEME)) return;
  const hidden = hiddenApps(ctx, await federatedView(ctx));
  if (hidden?.has(uri)) throw new RpcError(ErrorCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
}

/** Filtered resource listings per listing and hidden set (bounded). */
const listed = new WeakMap<readonly ViewEntry[], LruMap<Set<string>, readonly ViewEntry[]>>();

/** `resources/list` without the views of apps hidden from this caller. */
export function visibleResources(ctx: McpContext, view: FederatedView): readonly ViewEntry[] {
  const hidden = hiddenApps(ctx, view);
  if (!hidden || hidden.size === 0) return view.resources;
  let memo = listed.get(view.resources);
  const known = memo?.get(hidden);
  if (known) return known;
  const out = view.resources.filter((e) => !hidden.has(String(e.item.uri)));
  if (!memo) {
    memo = new LruMap(64);
    listed.set(view.resources, memo);
  }
  memo.set(hidden, out);
  return out;
}
