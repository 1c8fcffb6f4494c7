/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
 * MCP 2025-11-25 basic/authorization "Client ID Metadata Documents"): an MCP
 * client may use an HTTPS URL as its `client_id`; the document at that URL
 * describes it (name, redirect URIs) and no registration happens.
 *
 * Hand-written on purpose: `@cloudflare/workers-oauth-provider` resolves
 * these documents only under the `global_fetch_strictly_public`
 * compatibility flag, which would also stop the gateway from reaching
 * backends on private addresses (local development, `ALLOW_PRIVATE_BACKENDS`).
 * So the gateway fetches the document itself, through the same SSRF checks
 * as backend URLs (`config/url-safety.ts`), validates it, and keeps a client
 * of the library (created and updated through its public helpers) for each
 * document URL. Requests that name the URL are rewritten to that client's id
 * before the library sees them; the client never learns the internal id (it
 * appears in no redirect and no token response).
 *
 * Bounds: the URL (https, a path other than `/`, no credentials or fragment,
 * at most 2048 characters), 5 s to answer, no redirects, 5 KiB of JSON, 10
 * redirect URIs; a resolved document is trusted for 10 minutes, then fetched
 * again on the next use.
 */
import { z } from "zod";
import type { ConfigSnapshot } from "../../config/snapshot";
import { checkBackendUrl, dohResolver, MAX_URL_LENGTH, parseUrl } from "../../config/url-safety";
import { authorizationServer } from "./server";

const MAX_BYTES = 5 * 1024;
const TIMEOUT_MS = 5000;
const FRESH_MS = 10 * 60 * 1000;
const KEY = "cimd:v1:";
const DEFAULT_RESOLVER = "https://cloudflare-dns.com/dns-query";

/** What resolving needs from the environment. */
export interface CimdEnv {
  OAUTH_KV: KVNamespace;
  ALLOW_PRIVATE_BACKENDS?: string;
  DNS_RESOLVER_URL?: string;
}

const Document = z.object({
  client_id: z.string(),
  client_name: z.string().min(1).max(200).optional(),
  client_uri: z.string().max(MAX_URL_LENGTH).optional(),
  redirect_uris: z.array(z.string().min(1).max(MAX_URL_LENGTH)).min(1).max(10),
  // Public clients only: a document is public, so it can carry no shared secret (CIMD §4.1).
  token_endpoint_auth_method: z.literal("none").optional(),
  grant_types: z
    .array(z.enum(["authorization_code", "refresh_token"]))
    .max(2)
    .optional(),
  response_types: z.array(z.literal("code")).max(1).optional(),
});

interface Cached {
  clientId: string;
  fetchedAt: number;
}

/**
 * True when `clientId` has the shape of a metadata document URL: HTTPS with
 * a path, or (only when private backends are allowed, i.e. local development)
 * plain HTTP on a loopback address.
 */
export function isCimdClientId(clientId: string, allowPrivate = false): boolean {
  if (clientId.length > MAX_URL_LENGTH || !/^https?:\/\//i.test(clientId)) return false;
  const url = parseUrl(clientId);
  if (!url || url.username || url.password || url.hash || url.pathname === "/") return false;
  if (url.protocol === "https:") return true;
  return allowPrivate && url.protocol === "http:" && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
}

/** The JSON body, at most MAX_BYTES, or null. */
async function boundedJson(res: Response): Promise<unknown> {
  const reader = res.body?.getReader();
  if (!reader) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** Fetches and validates the document at `url`; a reason on any failure (never thrown). */
async function fetchDocument(env: CimdEnv, url: string): Promise<z.infer<typeof Document> | { error: string }> {
  const allowPrivate = env.ALLOW_PRIVATE_BACKENDS === "true";
  const verdict = await checkBackendUrl(url, allowPrivate, dohResolver(env.DNS_RESOLVER_URL || DEFAULT_RESOLVER));
  if (!verdict.ok) return { error: `the client's metadata URL is not allowed: ${verdict.reason}` };
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    return { error: "the client's metadata document could not be fetched" };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return { error: `the client's metadata document answered HTTP ${res.status}` };
  }
  const raw = await boundedJson(res);
  if (typeof raw === "object" && raw !== null && ("client_secret" in raw || "client_secret_expires_at" in raw)) {
    return { error: "the client's metadata document must not hold a client secret" };
  }
  const parsed = Document.safeParse(raw);
  if (!parsed.success) return { error: "the client's metadata document is invalid or larger than 5 KiB" };
  if (parsed.data.client_id !== url) return { error: "the client's metadata document names another client_id" };
  const bad = parsed.data.redirect_uris.find((u) => !parseUrl(u) || parseUrl(u)?.hash);
  if (bad !== undefined) return { error: "the client's metadata document has an invalid redirect URI" };
  return parsed.data;
}

/**
 * The library client id standing for the document at `url`: fetched,
 * validated and (re)registered when not resolved within the last 10 minutes.
 */
export async function resolveCimdClient(
  env: CimdEnv,
  origin: string,
  config: ConfigSnapshot,
  url: string,
  now = Date.now(),
): Promise<{ clientId: string } | { error: string }> {
  const cached = await env.OAUTH_KV.get<Cached>(`${KEY}${url}`, "json").catch(() => null);
  if (cached && now - cached.fetchedAt < FRESH_MS) return { clientId: cached.clientId };
  const doc = await fetchDocument(env, url);
  if ("error" in doc) return doc;
  const helpers = authorizationServer(origin, config).getOAuthApi({ OAUTH_KV: env.OAUTH_KV });
  const fields = {
    clientName: doc.client_name ?? cimdHost(url),
    clientUri: url,
    redirectUris: doc.redirect_uris,
    grantTypes: doc.grant_types ?? ["authorization_code", "refresh_token"],
    responseTypes: ["code"],
  };
  try {
    const updated = cached ? await helpers.updateClient(cached.clientId, fields) : null;
    const client = updated ?? (await helpers.createClient({ ...fields, tokenEndpointAuthMethod: "none" }));
    await env.OAUTH_KV.put(`${KEY}${url}`, JSON.stringify({ clientId: client.clientId, fetchedAt: now }));
    return { clientId: client.clientId };
  } catch {
    // The library refused the document's redirect URIs or grant types (its registration rules).
    return { error: "the client's metadata document was refused" };
  }
}

/** The metadata document's host, shown on the consent screen as who the client is. */
export function cimdHost(url: string): string {
  return parseUrl(url)?.host ?? url;
}
