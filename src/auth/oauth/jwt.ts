/**
 * JWT access tokens from configured issuers, validated with `jose` (the
 * maintained JOSE library that runs on workerd): signature against the
 * issuer's JWKS, `iss`, `aud` equal to the endpoint's resource identifier
 * (RFC 8707: a token minted for another resource is refused, never passed
 * on), `exp`/`nbf` with the issuer's leeway, and the allowed algorithms.
 *
 * The JWKS is fetched with a 5 s timeout and kept 10 minutes; a token whose
 * `kid` is unknown triggers one refetch, shared by concurrent requests
 * (jose's RemoteJWKSet is single-flight) and at most one per 30 s per issuer
 * (its cooldown), so a flood of forged `kid`s cannot make the gateway hammer
 * the provider. Verified tokens are remembered per isolate until they expire
 * (at most 5 minutes, 1024 entries), so a warm call verifies nothing
 * (design rule 1: no I/O on the hot path; the JWKS is in memory).
 */
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from "jose";
import { LruMap } from "../../util/lru";
import { discoverMetadata } from "./discovery";
import type { IssuerConfig } from "./issuers";

const JWT_SHAPE = /^[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{2,16384}\.[A-Za-z0-9_-]{0,2048}$/;
const JWKS_OPTIONS = { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 };
const REMEMBER_MS = 5 * 60_000;

/** True when `token` looks like a JWS compact serialization (cheap, before any crypto). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

const keySets = new LruMap<string, ReturnType<typeof createRemoteJWKSet>>(32);

/** The isolate's cached key set at `uri` (timeout, cache and refetch cooldown as above). */
export function keySet(uri: string): ReturnType<typeof createRemoteJWKSet> {
  let keys = keySets.get(uri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(uri), JWKS_OPTIONS);
    keySets.set(uri, keys);
  }
  return keys;
}

async function keysFor(issuer: IssuerConfig): Promise<ReturnType<typeof createRemoteJWKSet> | null> {
  const uri = issuer.jwksUri ?? (await discoverMetadata(issuer.issuer))?.jwks_uri;
  return uri ? keySet(uri) : null;
}

interface Remembered {
  issuer: IssuerConfig;
  claims: JWTPayload;
  until: number;
}

const verified = new LruMap<string, Remembered>(1024);

/** Why a JWT was refused (logged as a class, never with the token). */
export type JwtFailure = "unknown-issuer" | "no-keys" | "invalid";

/**
 * Verifies `token` for `resource`. Returns the issuer and claims, or the
 * failure class. Never throws on input.
 */
export async function verifyJwt(
  token: string,
  issuers: readonly IssuerConfig[],
  resource: string,
  now = Date.now(),
): Promise<{ issuer: IssuerConfig; claims: JWTPayload } | { failure: JwtFailure }> {
  const cacheKey = `${resource}\n${token}`;
  const hit = verified.get(cacheKey);
  if (hit && hit.until > now && issuers.includes(hit.issuer)) return hit;
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    return { failure: "invalid" };
  }
  const issuer = issuers.find((i) => i.issuer === iss);
  if (!issuer) return { failure: "unknown-issuer" };
  const keys = await keysFor(issuer).catch(() => null);
  if (!keys) return { failure: "no-keys" };
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: issuer.issuer,
      audience: issuer.audience ?? resource,
      algorithms: [...issuer.algorithms],
      clockTolerance: issuer.clockToleranceSeconds,
      requiredClaims: ["exp", "sub"],
      currentDate: new Date(now),
    });
    const exp = typeof payload.exp === "number" ? payload.exp * 1000 : now;
    verified.set(cacheKey, { issuer, claims: payload, until: Math.min(exp, now + REMEMBER_MS) });
    return { issuer, claims: payload };
  } catch {
    return { failure: "invalid" };
  }
}
