/**
 * Dynamically registered OAuth clients in the backends table (README,
 * "Upstream OAuth"; RFC 7591): read and written by the backend's
 * registration object (`durable-objects/client-registration.ts`). Apart from
 * `upstream-auth.ts` because a write goes through `commit` (the config
 * loader imports `upstream-auth.ts`; `commit` imports the loader's cache).
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { backends, type StoredUpstreamAuth } from "../schema";
import { commit } from "./write";

/** A backend's stored OAuth settings (the registration object reads them before registering). */
export async function loadStoredAuth(db: Db, name: string): Promise<StoredUpstreamAuth | null> {
  const row = await db.select({ auth: backends.auth }).from(backends).where(eq(backends.name, name)).get();
  return row?.auth ?? null;
}

/**
 * Stores a dynamically registered client (id, secret sealed under purpose
 * `upstream-client-secret`, so GET /api/keys and POST /api/keys/rotate cover
 * it like an entered secret). Only while the row still asks for the same
 * dynamic registration (`expected`): a concurrent PATCH wins. A config write
 * (version bump), so every isolate's snapshot learns the client.
 */
export async function saveRegisteredClient(
  db: Db,
  name: string,
  expected: StoredUpstreamAuth,
  clientId: string,
  clientSecretSealed: string | null,
): Promise<void> {
  const current = await loadStoredAuth(db, name);
  if (JSON.stringify(current) !== JSON.stringify(expected)) return;
  const next: StoredUpstreamAuth = { ...expected, clientId, clientSecretSealed };
  await commit(db, [db.update(backends).set({ auth: next }).where(eq(backends.name, name))], "Conflict");
}
