/**
 * Encryption at rest for backend headers (they usually carry the backend's own
 * credentials). AES-256-GCM with a random 96-bit IV per value; the key comes
 * from ENCRYPTION_KEY, or is derived from ADMIN_TOKEN when that is not set
 * (then rotating ADMIN_TOKEN requires re-saving backend headers; the README says so).
 */
import { base64url, fromBase64url, randomBytes } from "../auth/secrets";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FORMAT = "v1";

let cachedKey: { material: string; key: Promise<CryptoKey> } | undefined;

/** Imports (once per isolate and key material) the AES key via HKDF. */
function keyFor(material: string): Promise<CryptoKey> {
  if (cachedKey?.material === material) return cachedKey.key;
  const key = (async () => {
    const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"]);
    return crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new Uint8Array(0),
        info: encoder.encode("mcp-gateway/backend-headers/v1"),
      },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  })();
  cachedKey = { material, key };
  return key;
}

/** The key material configured for this deployment. */
export function keyMaterial(env: { ENCRYPTION_KEY?: string; ADMIN_TOKEN?: string }): string {
  const material = env.ENCRYPTION_KEY || env.ADMIN_TOKEN;
  if (!material) throw new Error("Neither ENCRYPTION_KEY nor ADMIN_TOKEN is configured");
  return material;
}

/** Encrypts a header map to `v1.<iv>.<ciphertext>`. */
export async function encryptHeaders(headers: Record<string, string>, material: string): Promise<string> {
  const iv = randomBytes(12);
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await keyFor(material),
    encoder.encode(JSON.stringify(headers)),
  );
  return `${FORMAT}.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
}

/** Decrypts what `encryptHeaders` produced. Throws if the key is wrong or the value was tampered with. */
export async function decryptHeaders(sealed: string, material: string): Promise<Record<string, string>> {
  const [format, iv, ct] = sealed.split(".");
  if (format !== FORMAT || !iv || !ct) throw new Error("Unknown header encryption format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(iv) },
    await keyFor(material),
    fromBase64url(ct),
  );
  return JSON.parse(decoder.decode(plain)) as Record<string, string>;
}
