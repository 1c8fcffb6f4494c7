/**
 * Token secrets: generation, hashing and constant-time comparison.
 *
 * API token secrets carry 256 bits of randomness, so a plain SHA-256 is a safe
 * at-rest form (no password stretching needed) and lets the hot path find a
 * token by hash in the cached config with one digest.
 */

import { base64url, hex, randomBytes } from "../util/bytes";

const encoder = new TextEncoder();

/** Prefix that makes gateway tokens recognisable to secret scanners. */
export const TOKEN_PREFIX = "mcpgw_";

/** A new API token secret, e.g. `mcpgw_<43 chars>`. */
export function newTokenSecret(): string {
  return TOKEN_PREFIX + base64url(randomBytes(32));
}

/** A random identifier with a readable prefix, e.g. `tok_…`. */
export function newId(prefix: string): string {
  return `${prefix}_${base64url(randomBytes(12))}`;
}

/** Lowercase hex SHA-256 of a UTF-8 string. */
export async function sha256Hex(value: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(value))));
}

/** Digest of the expected secret, computed once per isolate (it is a deployment constant). */
let expectedDigest: { secret: string; digest: Promise<ArrayBuffer> } | undefined;

function digestOfExpected(expected: string): Promise<ArrayBuffer> {
  if (expectedDigest?.secret !== expected) {
    expectedDigest = { secret: expected, digest: crypto.subtle.digest("SHA-256", encoder.encode(expected)) };
  }
  return expectedDigest.digest;
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so the
 * comparison also hides the length of the expected secret.
 */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    digestOfExpected(expected),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
