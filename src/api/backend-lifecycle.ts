/**
 * What the admin API tells a backend's Durable Object when the backend
 * changes (the DO never reads D1): its config on create, enable and update
 * (which starts or reschedules the health probes), stop on disable, reset on
 * delete; and operator-triggered catalog refreshes.
 */
import type { BackendConfig } from "../config/snapshot";
import { forgetCatalogs } from "../core/catalog";
import type { Bindings } from "../env";
import type { Catalog, CatalogAnswer } from "../protocol/catalog-types";
import { backendObject as stub } from "../stubs";

/** The profile an operator's refresh reports on: a client without sampling, elicitation or roots. */
export const BASE_PROFILE = "";

/** Enabled: store the config and (re)start the schedule. Disabled: stop probing. */
export async function syncBackend(env: Bindings, backend: BackendConfig): Promise<void> {
  forgetCatalogs(backend.name);
  try {
    if (backend.enabled) await stub(env, backend.name).configure(backend);
    else await stub(env, backend.name).stop();
  } catch (err) {
    // D1 holds the change; a DO that never got a config adopts it on its first catalog request.
    console.error("backend DO sync failed", backend.name, err instanceof Error ? err.name : "unknown");
  }
}

/** The backend was deleted: its object stops probing and forgets everything. */
export async function removeBackend(env: Bindings, name: string): Promise<void> {
  forgetCatalogs(name);
  try {
    await stub(env, name).reset();
  } catch (err) {
    console.error("backend DO reset failed", name, err instanceof Error ? err.name : "unknown");
  }
}

/** Re-discovers the backend's catalog now (single-flight in its DO); this isolate drops its cached copy. */
export async function refreshBackend(env: Bindings, backend: BackendConfig): Promise<CatalogAnswer> {
  let answer: CatalogAnswer;
  try {
    answer = await stub(env, backend.name).refreshCatalog(backend, BASE_PROFILE);
  } catch {
    answer = { ok: false, error: `Backend '${backend.name}' could not be refreshed` };
  }
  forgetCatalogs(backend.name);
  return answer;
}

/** The backend's cached catalog (fetched now when none is cached), as an operator sees it. */
export async function cachedCatalog(env: Bindings, backend: BackendConfig): Promise<CatalogAnswer> {
  try {
    return await stub(env, backend.name).catalog(backend, BASE_PROFILE);
  } catch {
    return { ok: false, error: `Backend '${backend.name}' catalog is unavailable right now` };
  }
}

/** Counts of what a catalog offers. */
export function catalogCounts(catalog: Catalog) {
  return {
    tools: catalog.tools.length,
    prompts: catalog.prompts.length,
    resources: catalog.resources.length,
    resourceTemplates: catalog.resourceTemplates.length,
  };
}

/** The backend's health (breaker, last and next probe). */
export function backendHealth(env: Bindings, name: string) {
  return stub(env, name).health();
}
