/**
 * Authenticated encryption of small JSON values (AES-256-GCM, random 96-bit
 * IV). One key per purpose is derived with HKDF from each key of the ring
 * (`keys.ts`), so a value sealed for one purpose can never be opened as
 * another. Sealed values name the key that sealed them
 * (`v2.<key id>.<iv>.<ciphertext>`), so rotation can find and re-seal them;
 * `v1.<iv>.<ciphertext>` values from before key ids are opened by trying the
 * ring's keys in order.
 */

import { base64url, fromBase64url, randomBytes } from "../util/bytes";
import type { KeyRing, SealKey } from "./keys";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a sealed value is for; each purpose has its own derived key. */
export type SealPurpose =
  | "backend-headers"
  | "session"
  | "legacy-session"
  | "request-state"
  | "console-session"
  | "console-login"
  | "task-id"
  | "task-cursor"
  | "upstream-client-secret"
  | "upstream-token"
  | "upstream-state";

/** A sealed value that no key of the ring opens (wrong or retired key, altered or malformed value). */
export class UnsealError extends Error {
  constructor(message = "Sealed value cannot be opened with the configured keys") {
    super(message);
    this.name = "UnsealError";
  }
}

const derived = new Map<string, Promise<CryptoKey>>();

function keyFor(material: string, purpose: SealPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\0${material}`;
  let key = derived.get(cacheKey);
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
    // Bounded: a deployment has a few keys and a few purposes.
    if (derived.size > 64) derived.clear();
    derived.set(cacheKey, key);
  }
  return key;
}

const ivKeys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key that derives a stable seal's IV (its own HKDF label: never the encryption key). */
function ivKeyFor(material: string, purpose: SealPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\0${material}`;
  let key = ivKeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(0),
          info: encoder.encode(`mcp-gateway/${purpose}/iv/v1`),
        },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    if (ivKeys.size > 32) ivKeys.clear();
    ivKeys.set(cacheKey, key);
  }
  return key;
}

/**
 * Seals a JSON value with the ring's current key to `v2.<kid>.<iv>.<ct>` (URL- and header-safe).
 * `stable`: the IV is a keyed MAC of the plaintext (synthetic IV), so the same value under the
 * same key always seals to the same text (an identifier a client may compare, e.g. a public
 * task id). AES-GCM stays safe because an IV repeats only for the very same plaintext; the
 * only thing revealed is that two sealed values are equal.
 */
export async function seal(
  value: unknown,
  ring: KeyRing,
  purpose: SealPurpose,
  options: { stable?: boolean } = {},
): Promise<string> {
  const plain = encoder.encode(JSON.stringify(value));
  const iv = options.stable
    ? new Uint8Array(await crypto.subtle.sign("HMAC", await ivKeyFor(ring.current.material, purpose), plain)).slice(
        0,
        12,
      )
    : randomBytes(12);
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyFor(ring.current.material, purpose), plain);
  return `v2.${ring.current.id}.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
}

async function tryOpen(key: SealKey, purpose: SealPurpose, iv: string, ct: string): Promise<unknown> {
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64url(iv) },
    await keyFor(key.material, purpose),
    fromBase64url(ct),
  );
  return JSON.parse(decoder.decode(plain));
}

/**
 * Opens what `seal` produced and says which key did. Throws UnsealError,
 * never anything else, when no key of the ring opens it: the value is
 * attacker-controlled wherever it comes from a client.
 */
export async function open(
  sealed: string,
  ring: KeyRing,
  purpose: SealPurpose,
): Promise<{ value: unknown; keyId: string }> {
  const parts = sealed.split(".");
  let candidates: readonly SealKey[];
  let iv: string | undefined;
  let ct: string | undefined;
  if (parts[0] === "v2" && parts.length === 4) {
    candidates = ring.keys.filter((k) => k.id === parts[1]);
    [, , iv, ct] = parts;
  } else if (parts[0] === "v1" && parts.length === 3) {
    candidates = ring.keys;
    [, iv, ct] = parts;
  } else {
    throw new UnsealError("Unknown sealed format");
  }
  if (!iv || !ct) throw new UnsealError("Unknown sealed format");
  for (const key of candidates) {
    try {
      return { value: await tryOpen(key, purpose, iv, ct), keyId: key.id };
    } catch {
      // Wrong key, altered value or invalid base64: try the next key, then refuse.
    }
  }
  throw new UnsealError();
}

/** Opens a sealed value (see `open`). */
export async function unseal(sealed: string, ring: KeyRing, purpose: SealPurpose): Promise<unknown> {
  return (await open(sealed, ring, purpose)).value;
}
