/**
 * Authorization server metadata of an issuer (OpenID Connect Discovery 1.0,
 * then RFC 8414 with the path inserted after `/.well-known/`), fetched with
 * a timeout and a size bound, cached per isolate for an hour, single-flight,
 * and a failure remembered for 30 s so an unreachable provider is not asked
 * on every request (design rules 5 and 7).
 */
import { LruMap } from "../../util/lru";

/** The metadata fields the gateway reads. */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
}

const TIMEOUT_MS = 5_000;
const MAX_BYTES = 64 * 1024;
const KEEP_MS = 60 * 60_000;
const FAILED_MS = 30_000;

const cache = new LruMap<string, { at: number; value: Promise<IssuerMetadata | null> }>(64);

/** The metadata URLs to try for `issuer`, in order. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, "");
  return [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: "application/json" } });
  if (!res.ok) {
    await res.body?.cancel();
    return null;
  }
  const text = await res.text();
  if (text.length > MAX_BYTES) return null;
  return JSON.parse(text);
}

async function load(issuer: string): Promise<IssuerMetadata | null> {
  for (const url of metadataUrls(issuer)) {
    try {
      const doc = (await fetchJson(url)) as Partial<IssuerMetadata> | null;
      // RFC 8414 §3.3 / OIDC Discovery §4.3: the document must name the same issuer.
      if (doc && doc.issuer === issuer) return doc as IssuerMetadata;
    } catch {
      // the next form, then null
    }
  }
  return null;
}

/** The issuer's metadata, or null when neither form answers with a document naming this issuer. */
export async function discoverMetadata(issuer: string, now = Date.now()): Promise<IssuerMetadata | null> {
  const hit = cache.get(issuer);
  if (hit) {
    const value = await hit.value;
    if (now - hit.at < (value ? KEEP_MS : FAILED_MS)) return value;
  }
  const value = load(issuer);
  cache.set(issuer, { at: now, value });
  return value;
}
