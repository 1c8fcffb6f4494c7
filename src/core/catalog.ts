/**
 * Catalogs as the request path sees them: an isolate cache in front of each
 * backend's Durable Object (design rules 1 and 7). Listing never fans out live
 * to every backend: a warm listing reads memory only; a stale entry is served
 * while one background refresh asks the DO; a backend with no catalog yet is
 * waited for at most `LISTING_WAIT_MS`, so one slow backend never stalls the
 * listing of the others.
 */
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import type { Catalog, CatalogAnswer } from "../protocol/catalog-types";
import type { Era } from "../protocol/eras";
import { ALL_PROFILES } from "../protocol/profiles";
import { backendObject as stub } from "../stubs";
import { bearerOf } from "../upstream/oauth-client";
import { LruMap } from "../util/lru";
import { withDeadline } from "../util/time";

const FRESH_MS = 5_000;
/** The shortest reuse a backend's `ttlMs` can ask for (design rule 7: the DO is asked at most this often). */
const MIN_FRESH_MS = 1_000;
const FAILED_RETRY_MS = 2_000;
const LISTING_WAIT_MS = 5_000;

/** How long this isolate uses a catalog before asking the DO again: FRESH_MS, or a modern backend's shorter `ttlMs`. */
function freshFor(catalog: Catalog): number {
  return catalog.ttlMs === undefined ? FRESH_MS : Math.max(MIN_FRESH_MS, Math.min(FRESH_MS, catalog.ttlMs));
}

interface Entry {
  answer: CatalogAnswer;
  at: number;
  /** The backend config the answer was fetched for (a URL change invalidates it). */
  url: string;
  refreshing?: boolean;
}

const entries = new LruMap<string, Entry>(4_000);

function withoutBearer(backend: BackendConfig): BackendConfig {
  const { authorization: _, ...headers } = backend.headers;
  return { ...backend, headers };
}

async function ask(env: Bindings, backend: BackendConfig, profile: string): Promise<Entry> {
  let answer: CatalogAnswer;
  try {
    // An upstream-OAuth backend prepared with the caller's token (views.ts): the token goes beside the config.
    const bearer = bearerOf(backend);
    answer = await stub(env, backend.name).catalog(bearer ? withoutBearer(backend) : backend, profile, bearer);
  } catch {
    answer = { ok: false, error: `Backend '${backend.name}' catalog is unavailable` };
  }
  const entry: Entry = { answer, at: Date.now(), url: backend.url };
  entries.set(`${backend.name}|${profile}`, entry);
  return entry;
}

/**
 * The catalogs of `backends` for a capability profile. Backends without a
 * usable catalog are absent from the map (and named in `failed`).
 */
export async function catalogs(
  env: Bindings,
  backends: readonly BackendConfig[],
  profile: string,
  defer: (work: Promise<unknown>) => void,
): Promise<{ catalogs: Map<string, Catalog>; failed: Map<string, string> }> {
  const now = Date.now();
  const result = new Map<string, Catalog>();
  const failed = new Map<string, string>();
  const waits: Array<Promise<void>> = [];
  for (const backend of backends) {
    const key = `${backend.name}|${profile}`;
    const entry = entries.get(key);
    const usable = entry && entry.url === backend.url;
    if (usable) {
      const age = now - entry.at;
      const stale = entry.answer.ok ? age > freshFor(entry.answer.catalog) : age > FAILED_RETRY_MS;
      if (stale && !entry.refreshing) {
        entry.refreshing = true;
        defer(ask(env, backend, profile));
      }
      if (entry.answer.ok) result.set(backend.name, entry.answer.catalog);
      else failed.set(backend.name, entry.answer.error);
      continue;
    }
    const pending = ask(env, backend, profile);
    defer(pending);
    waits.push(
      withDeadline(pending, LISTING_WAIT_MS).then((fresh) => {
        if (fresh?.answer.ok) result.set(backend.name, fresh.answer.catalog);
        else failed.set(backend.name, fresh ? (fresh.answer.ok ? "" : fresh.answer.error) : "catalog not ready");
      }),
    );
  }
  await Promise.all(waits);
  return { catalogs: result, failed };
}

/**
 * The era of `backend` as its catalog for `profile` says (a failed answer
 * carries the era too): from memory when this isolate has the catalog,
 * else asked of the backend's DO (at most LISTING_WAIT_MS). Unknown is
 * legacy: `initialize` then finds out, and a version error re-detects.
 */
export async function backendEra(env: Bindings, backend: BackendConfig, profile: string): Promise<Era> {
  const entry = entries.get(`${backend.name}|${profile}`);
  const usable =
    entry && entry.url === backend.url ? entry : await withDeadline(ask(env, backend, profile), LISTING_WAIT_MS);
  return eraOf(usable?.answer);
}

/** The isolate's catalog of `backend` for `profile`, if it has one (no I/O). */
export function cachedCatalog(backend: BackendConfig, profile: string): Catalog | undefined {
  const entry = entries.get(`${backend.name}|${profile}`);
  return entry?.answer.ok && entry.url === backend.url ? entry.answer.catalog : undefined;
}

/**
 * A call met a version error: the backend's DO detects its era again and
 * refetches this profile's catalog, which replaces this isolate's copy (the
 * other profiles are forgotten, so their next use asks the DO too).
 */
export async function recheckEra(env: Bindings, backend: BackendConfig, profile: string): Promise<Era> {
  let answer: CatalogAnswer;
  try {
    answer = await stub(env, backend.name).recheck(backend, profile);
  } catch {
    answer = { ok: false, error: `Backend '${backend.name}' catalog is unavailable` };
  }
  forgetCatalogs(backend.name);
  entries.set(`${backend.name}|${profile}`, { answer, at: Date.now(), url: backend.url });
  return eraOf(answer);
}

/** The era an answer carries; unknown is legacy. */
function eraOf(answer: CatalogAnswer | undefined): Era {
  return (answer?.ok ? answer.catalog.era : answer?.era) ?? "legacy";
}

let epoch = 0;

/** Changes whenever `forgetCatalogs` runs, so views built from the forgotten catalogs are rebuilt. */
export function catalogEpoch(): number {
  return epoch;
}

/** Drops the isolate's cached catalogs of a backend (after a list_changed or a refresh). */
export function forgetCatalogs(backend: string): void {
  epoch++;
  for (const profile of ALL_PROFILES) {
    entries.delete(`${backend}|${profile}`);
  }
}
