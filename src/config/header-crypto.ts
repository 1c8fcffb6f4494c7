/**
 * Encryption at rest for backend headers (they usually carry the backend's own
 * credentials); see `auth/seal.ts` for the scheme and key derivation.
 */
import { seal, unseal } from "../auth/seal";

export { keyMaterial } from "../auth/seal";

/** Encrypts a header map. */
export function encryptHeaders(headers: Record<string, string>, material: string): Promise<string> {
  return seal(headers, material, "backend-headers");
}

/** Decrypts what `encryptHeaders` produced. Throws if the key is wrong or the value was tampered with. */
export async function decryptHeaders(sealed: string, material: string): Promise<Record<string, string>> {
  return (await unseal(sealed, material, "backend-headers")) as Record<string, string>;
}
