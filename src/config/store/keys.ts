/**
 * Secrets stored in D1 under the key ring (`auth/keys.ts`): which key each
 * one depends on, and re-sealing all of them under the current key, so an
 * operator can retire the previous key (README, "Keys and rotation").
 *
 * Stored secrets are backend header sets (`backends.headers_encrypted`),
 * webhook plugin header sets (`plugins.config.headers_sealed`) and upstream
 * OAuth client secrets (`backends.auth`). Users' upstream tokens live in
 * their Durable Objects and are listed and re-sealed there (`api/keys.ts`).
 */
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { KeyRing } from "../../auth/keys";
import { open, type SealPurpose, seal } from "../../auth/seal";
import type { Db } from "../db";
import { backends, plugins } from "../schema";
import { commit } from "./write";

/** One stored secret and the key it is sealed under (null: no configured key opens it). */
export interface StoredSecret {
  kind: "backend" | "plugin" | "client-secret" | "upstream-token";
  name: string;
  keyId: string | null;
}

/** What a rotation did. */
export interface RotationResult {
  /** Re-sealed under the current key. */
  resealed: StoredSecret[];
  /** Already under the current key. */
  current: number;
  /** Not opened by any configured key; left as they are (re-enter them). */
  unreadable: StoredSecret[];
  /** Backends whose headers were re-sealed (their Durable Objects get the new config). */
  backends: string[];
}

interface Sealed {
  kind: "backend" | "plugin" | "client-secret";
  name: string;
  sealed: string;
  purpose: SealPurpose;
  /** The statement that stores a re-sealed value. */
  store: (db: Db, resealed: string) => BatchItem<"sqlite">;
}

async function sealedSecrets(db: Db): Promise<Sealed[]> {
  const [backendRows, pluginRows] = await db.batch([
    db.select({ name: backends.name, sealed: backends.headersEncrypted, auth: backends.auth }).from(backends),
    db.select({ name: plugins.name, config: plugins.config }).from(plugins),
  ]);
  const out: Sealed[] = [];
  for (const b of backendRows) {
    const auth = b.auth;
    if (auth?.clientSecretSealed) {
      out.push({
        kind: "client-secret",
        name: b.name,
        sealed: auth.clientSecretSealed,
        purpose: "upstream-client-secret",
        store: (d, resealed) =>
          d
            .update(backends)
            .set({ auth: { ...auth, clientSecretSealed: resealed } })
            .where(eq(backends.name, b.name)),
      });
    }
    if (!b.sealed) continue;
    out.push({
      kind: "backend",
      name: b.name,
      sealed: b.sealed,
      purpose: "backend-headers",
      store: (d, resealed) => d.update(backends).set({ headersEncrypted: resealed }).where(eq(backends.name, b.name)),
    });
  }
  for (const p of pluginRows) {
    const sealed = p.config.headers_sealed;
    if (typeof sealed !== "string") continue;
    out.push({
      kind: "plugin",
      name: p.name,
      sealed,
      purpose: "backend-headers",
      store: (d, resealed) =>
        d
          .update(plugins)
          .set({ config: { ...p.config, headers_sealed: resealed } })
          .where(eq(plugins.name, p.name)),
    });
  }
  return out;
}

async function keyOf(
  sealed: string,
  ring: KeyRing,
  purpose: SealPurpose,
): Promise<{ keyId: string | null; value?: unknown }> {
  try {
    return await open(sealed, ring, purpose);
  } catch {
    return { keyId: null };
  }
}

/** Every stored secret with the id of the key that opens it. */
export async function listSecrets(db: Db, ring: KeyRing): Promise<StoredSecret[]> {
  const all = await sealedSecrets(db);
  return Promise.all(
    all.map(async (s) => ({ kind: s.kind, name: s.name, keyId: (await keyOf(s.sealed, ring, s.purpose)).keyId })),
  );
}

/**
 * Re-seals every readable secret that is not under the current key, in one
 * D1 batch with the config version bump (all or nothing). Unreadable ones are
 * reported and left untouched.
 */
export async function resealAll(db: Db, ring: KeyRing): Promise<RotationResult> {
  const all = await sealedSecrets(db);
  const result: RotationResult = { resealed: [], current: 0, unreadable: [], backends: [] };
  const statements: BatchItem<"sqlite">[] = [];
  for (const s of all) {
    const opened = await keyOf(s.sealed, ring, s.purpose);
    const entry = { kind: s.kind, name: s.name, keyId: opened.keyId };
    // v1 values (no key id in them) are re-sealed even when the current key opens them.
    if (opened.keyId === null) result.unreadable.push(entry);
    else if (opened.keyId === ring.current.id && s.sealed.startsWith("v2.")) result.current++;
    else {
      statements.push(s.store(db, await seal(opened.value, ring, s.purpose)));
      result.resealed.push({ ...entry, keyId: ring.current.id });
      if (s.kind !== "plugin" && !result.backends.includes(s.name)) result.backends.push(s.name);
    }
  }
  if (statements.length > 0) await commit(db, statements, "Conflict");
  return result;
}
