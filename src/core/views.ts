/**
 * Federated views and listing pages, cached per isolate: the merged catalog
 * an endpoint shows a capability profile, and each listing page as JSON text,
 * so a warm listing reads no catalog and serialises nothing (design rule 1;
 * listings cost the same at 10 and 100 backends).
 */
import type { BackendConfig } from "../config/snapshot";
import type { Catalog } from "../protocol/catalog-types";
import { ErrorCode, type JsonRpcRequest, RpcError, resultResponse } from "../protocol/jsonrpc";
import { LruMap } from "../util/lru";
import { catalogEpoch, catalogs } from "./catalog";
import type { McpContext, Outcome } from "./context";
import { buildView, type FederatedView, type ViewEntry } from "./federation";
import { authorizedBackend } from "./upstream-auth";

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

/**
 * The endpoint's backends as this caller lists them: an upstream-OAuth
 * backend with the caller's token when they have one (a backend that acts
 * as each user lists nothing to nobody). The catalog is shared, like every
 * catalog: such backends are assumed to offer the same tools to every user.
 */
async function listedAs(ctx: McpContext): Promise<readonly BackendConfig[]> {
  if (!ctx.endpoint.backends.some((b) => b.auth)) return ctx.endpoint.backends;
  return Promise.all(
    ctx.endpoint.backends.map((b) => (b.auth ? authorizedBackend(ctx, b, { quiet: true }).catch(() => b) : b)),
  );
}

/** The endpoint's merged view for the session's capability profile (cached per config version and catalog stamps). */
export async function federatedView(ctx: McpContext): Promise<FederatedView> {
  const profile = ctx.caller.profile;
  const key = `${ctx.endpoint.key}${ctx.endpoint.access ?? ""}|${profile}`;
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
  const { catalogs: found } = await catalogs(ctx.env, await listedAs(ctx), profile, ctx.defer);
  let stamp = `${ctx.config.version}`;
  for (const b of ctx.endpoint.backends) stamp += `|${found.get(b.name)?.fetchedAt ?? 0}`;
  const view = cached?.stamp === stamp ? cached.view : buildView(ctx.endpoint, found as Map<string, Catalog>);
  views.set(key, { stamp, view, checkedAt: now, version: ctx.config.version, epoch });
  return view;
}

/** Listing pages as JSON text, per (immutable, cached) entry list and cursor: a warm listing serialises nothing. */
const pages = new WeakMap<readonly ViewEntry[], LruMap<string, { result: Record<string, unknown>; json: string }>>();

/**
 * A listing answer: one page of `entries` under `key`, in the request's era's
 * shape, its JSON cached with the entry list it came from (per era and cursor).
 */
export function listing(ctx: McpContext, request: JsonRpcRequest, entries: readonly ViewEntry[], key: string): Outcome {
  const { id, params, method } = request;
  const cursor = params?.cursor;
  // No cursor is the first page; "c…" keys keep an empty cursor from hitting it. A cursor that
  // is not a string is invalid: page() rejects it and nothing is cached.
  const cacheKey =
    cursor === undefined ? ctx.era.name : typeof cursor === "string" ? `${ctx.era.name}c${cursor}` : null;
  let memo = pages.get(entries);
  let hit = cacheKey === null ? undefined : memo?.get(cacheKey);
  if (!hit) {
    const result = ctx.era.result(method, page(entries, params, key));
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
