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
import { ALL_PROFILES } from "../protocol/profiles";
import { backendObject as stub } from "../stubs";
import { LruMap } from "../util/lru";
import { withDeadline } from "../util/time";

const FRESH_MS = 5_000;
const FAILED_RETRY_MS = 2_000;
const LISTING_WAIT_MS = 5_000;

interface Entry {
  answer: CatalogAnswer;
  at: number;
  /** The backend config the answer was fetched for (a URL change invalidates it). */
  url: string;
  refreshing?: boolean;
}

const entries = new LruMap<string, Entry>(4_000);

async function ask(env: Bindings, backend: BackendConfig, profile: string): Promise<Entry> {
  let answer: CatalogAnswer;
  try {
    answer = await stub(env, backend.name).catalog(backend, profile);
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
      const stale = entry.answer.ok ? age > FRESH_MS : age > FAILED_RETRY_MS;
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
