/**
 * The deployment's encryption keys, as a ring: one current key that seals
 * new values, and older keys that still open what they sealed, so a key can
 * be rotated without downtime (README, "Keys and rotation").
 *
 * - `ENCRYPTION_KEY` is the current key. Without it, `ADMIN_TOKEN` is (the
 *   behaviour before keys were first-class; `npm start` now writes a key).
 * - `ENCRYPTION_KEY_PREVIOUS` holds retired keys, comma-separated, still
 *   accepted for opening.
 * - `ADMIN_TOKEN` always stays in the ring for opening, so values sealed
 *   before `ENCRYPTION_KEY` was set remain readable until they are re-sealed
 *   (`POST /api/keys/rotate`).
 *
 * Every key has a short public id (a truncated SHA-256 of the key, never the
 * key itself) that sealed values carry, so opening tries exactly one key and
 * an operator can see which key each stored secret still depends on.
 */

const encoder = new TextEncoder();

/** One key of the ring. */
export interface SealKey {
  /** Public id: 16 hex characters of SHA-256 over a label and the key. */
  id: string;
  material: string;
}

/** The keys in use: `current` seals, every key in `keys` opens (current first). */
export interface KeyRing {
  current: SealKey;
  keys: readonly SealKey[];
  /** The ids in order; equal rings have equal fingerprints (caches key on it). */
  fingerprint: string;
}

/** The variables the ring is built from. */
export interface KeyEnv {
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
  ADMIN_TOKEN?: string;
}

/** Raised when the deployment has no key at all (a configuration error, not a request error). */
export class MissingKeyError extends Error {
  constructor() {
    super("Neither ENCRYPTION_KEY nor ADMIN_TOKEN is configured");
    this.name = "MissingKeyError";
  }
}

async function keyId(material: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(`mcp-gateway/key-id\0${material}`)),
  );
  let hex = "";
  for (const b of digest.subarray(0, 8)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Key materials in ring order: current, previous ones, then the admin token (legacy values). */
export function keyMaterials(env: KeyEnv): string[] {
  const current = env.ENCRYPTION_KEY || env.ADMIN_TOKEN;
  if (!current) throw new MissingKeyError();
  const previous = (env.ENCRYPTION_KEY_PREVIOUS ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  const all = [current, ...previous, ...(env.ADMIN_TOKEN ? [env.ADMIN_TOKEN] : [])];
  return [...new Set(all)];
}

/** Builds a ring from materials (first one current). */
export async function ringOf(materials: readonly string[]): Promise<KeyRing> {
  if (materials.length === 0) throw new MissingKeyError();
  const keys = await Promise.all(materials.map(async (material) => ({ id: await keyId(material), material })));
  return { current: keys[0] as SealKey, keys, fingerprint: keys.map((k) => k.id).join(",") };
}

/** One ring per distinct env (a deployment has one; tests a few). Bounded. */
const rings = new Map<string, Promise<KeyRing>>();

/** The ring for this environment (computed once per isolate). Throws MissingKeyError without any key. */
export function keyRing(env: KeyEnv): Promise<KeyRing> {
  const materials = keyMaterials(env);
  const cacheKey = materials.join("\0");
  let ring = rings.get(cacheKey);
  if (!ring) {
    if (rings.size >= 8) rings.clear();
    ring = ringOf(materials);
    rings.set(cacheKey, ring);
  }
  return ring;
}
