/**
 * Authenticated encryption of small JSON values (AES-256-GCM, random 96-bit
 * IV). One key per purpose is derived with HKDF from the deployment's key
 * material (ENCRYPTION_KEY, or ADMIN_TOKEN when that is unset), so a value
 * sealed for one purpose can never be opened as another.
 */
import { base64url, fromBase64url, randomBytes } from "./secrets";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FORMAT = "v1";

/** What a sealed value is for; each purpose has its own derived key. */
export type SealPurpose = "backend-headers" | "session";

const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(material: string, purpose: SealPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\0${material}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(`mcp-gateway/${purpose}/v1`) },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    // Bounded: a deployment has one or two key materials and two purposes.
    if (keys.size > 16) keys.clear();
    keys.set(cacheKey, key);
  }
  return key;
}

/** The key material configured for this deployment. */
export function keyMaterial(env: { ENCRYPTION_KEY?: string; ADMIN_TOKEN?: string }): string {
  const material = env.ENCRYPTION_KEY || env.ADMIN_TOKEN;
  if (!material) throw new Error("Neither ENCRYPTION_KEY nor ADMIN_TOKEN is configured");
  return material;
}

/** Seals a JSON value to `v1.<iv>.<ciphertext>` (URL- and header-safe). */
export async function seal(value: unknown, material: string, purpose: SealPurpose): Promise<string> {
  const iv = randomBytes(12);
  const plain = encoder.encode(JSON.stringify(value));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyFor(material, purpose), plain);
  return `${FORMAT}.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
}

/** Opens what `seal` produced. Throws if the key or purpose is wrong or the value was altered. */
export async function unseal(sealed: string, material: string, purpose: SealPurpose): Promise<unknown> {
  const [format, iv, ct, extra] = sealed.split(".");
  if (format !== FORMAT || !iv || !ct || extra !== undefined) throw new Error("Unknown sealed format");
  const key = await keyFor(material, purpose);
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64url(iv) }, key, fromBase64url(ct));
  return JSON.parse(decoder.decode(plain));
}
