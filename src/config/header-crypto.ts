/**
 * Encryption at rest for backend and webhook headers (they usually carry the
 * upstream's own credentials); see `auth/seal.ts` for the scheme and
 * `auth/keys.ts` for the key ring and rotation.
 */
import type { KeyRing } from "../auth/keys";
import { open, seal } from "../auth/seal";

export { keyRing } from "../auth/keys";

/** Encrypts a header map with the ring's current key. */
export function encryptHeaders(headers: Record<string, string>, ring: KeyRing): Promise<string> {
  return seal(headers, ring, "backend-headers");
}

/** Decrypts what `encryptHeaders` produced. Throws UnsealError if no key opens it. */
export async function decryptHeaders(sealed: string, ring: KeyRing): Promise<Record<string, string>> {
  return (await open(sealed, ring, "backend-headers")).value as Record<string, string>;
}

/** Stored headers as the request path sees them: readable, or flagged so only their owner fails. */
export type OpenedHeaders =
  | { readable: true; headers: Record<string, string>; keyId: string | null }
  | { readable: false; headers: Record<string, string>; keyId: null };

/**
 * Opens stored headers without throwing: one value sealed under a key the
 * deployment no longer has must affect only the backend (or plugin) it
 * belongs to, never the whole configuration (hardening issue, defect 1).
 */
export async function openHeaders(sealed: string | null | undefined, ring: KeyRing | null): Promise<OpenedHeaders> {
  if (!sealed) return { readable: true, headers: {}, keyId: null };
  if (!ring) return { readable: false, headers: {}, keyId: null };
  try {
    const { value, keyId } = await open(sealed, ring, "backend-headers");
    return { readable: true, headers: value as Record<string, string>, keyId };
  } catch {
    return { readable: false, headers: {}, keyId: null };
  }
}
