/**
 * The gateway as an OAuth client of a backend's authorization server (MCP
 * 2025-11-25 basic/authorization; README, "Upstream OAuth"): metadata
 * discovery (RFC 9728 from the backend, then RFC 8414 / OpenID discovery),
 * authorization code + PKCE (S256), refresh, client credentials and
 * revocation. Every token request names the backend's resource (RFC 8707),
 * so a token is only ever issued for, and used with, that one backend.
 *
 * Built on `oauth4webapi` (maintained, Web-API only, runs on workerd) rather
 * than hand-written: it validates issuers, `iss` on the authorization
 * response (RFC 9207) and every token response's shape.
 */
import * as oauth from "oauth4webapi";
import type { BackendConfig, UpstreamOAuth } from "../config/snapshot";
import { isBlockedHost, parseHttpUrl } from "../config/url-safety";
import { LruMap } from "../util/lru";

/** Every request to an authorization server has this deadline (design rule 5). */
const AS_TIMEOUT_MS = 10_000;
/** Discovered metadata is reused this long per isolate (it changes rarely; a failure is not cached). */
const METADATA_TTL_MS = 10 * 60_000;

/** Why an OAuth step failed; `message` is safe to show (never a token or secret). */
export class UpstreamOAuthError extends Error {
  constructor(
    readonly kind: "discovery" | "grant" | "denied" | "config",
    message: string,
  ) {
    super(message);
    this.name = "UpstreamOAuthError";
  }
}

/** What a token endpoint issued, as the gateway keeps it. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; null when the server did not say. */
  expiresAt: number | null;
  scope?: string;
}

/** Where loopback and private authorization servers are allowed (local development, tests). */
export interface OAuthEnv {
  ALLOW_PRIVATE_BACKENDS?: string;
}

/** The discovered server and the options every request to it uses. */
export interface ServerContext {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  options: { signal: () => AbortSignal; [oauth.allowInsecureRequests]?: boolean };
}

const metadata = new LruMap<string, { as: oauth.AuthorizationServer; at: number }>(256);

/** Refuses an authorization server URL that a deployment must not call (the same rule as backend URLs). */
function checkServerUrl(raw: string, env: OAuthEnv): URL {
  const url = parseHttpUrl(raw);
  if (!url) throw new UpstreamOAuthError("discovery", "The authorization server URL is not a valid http(s) URL");
  if (env.ALLOW_PRIVATE_BACKENDS !== "true") {
    if (url.protocol !== "https:") throw new UpstreamOAuthError("discovery", "The authorization server must use https");
    if (isBlockedHost(url.hostname.replace(/^\[|\]$/g, "")))
      throw new UpstreamOAuthError("discovery", "The authorization server is on a private address");
  }
  return url;
}

function requestOptions(url: URL) {
  return {
    signal: () => AbortSignal.timeout(AS_TIMEOUT_MS),
    ...(url.protocol === "http:" && { [oauth.allowInsecureRequests]: true }),
  };
}

/** RFC 8414 first, then OpenID Connect discovery (many servers publish only one of them). */
async function discoverIssuer(issuer: URL): Promise<oauth.AuthorizationServer> {
  let lastError: unknown;
  for (const algorithm of ["oauth2", "oidc"] as const) {
    try {
      const res = await oauth.discoveryRequest(issuer, { algorithm, ...requestOptions(issuer) });
      return await oauth.processDiscoveryResponse(issuer, res);
    } catch (err) {
      lastError = err;
    }
  }
  throw new UpstreamOAuthError(
    "discovery",
    `The authorization server's metadata could not be read (${lastError instanceof Error ? lastError.name : "error"})`,
  );
}

/** The issuer named by the backend's protected resource metadata (RFC 9728), checked against `resource`. */
async function issuerFromResource(resource: string, env: OAuthEnv): Promise<URL> {
  const url = checkServerUrl(resource, env);
  try {
    const res = await oauth.resourceDiscoveryRequest(url, requestOptions(url));
    const rs = await oauth.processResourceDiscoveryResponse(url, res);
    const first = rs.authorization_servers?.[0];
    if (!first) throw new UpstreamOAuthError("discovery", "The backend names no authorization server");
    return checkServerUrl(first, env);
  } catch (err) {
    if (err instanceof UpstreamOAuthError) throw err;
    throw new UpstreamOAuthError("discovery", "The backend's protected resource metadata could not be read");
  }
}

/** The backend's authorization server and the gateway's client there (metadata cached per isolate). */
export async function serverFor(auth: UpstreamOAuth, env: OAuthEnv): Promise<ServerContext> {
  if (auth.clientSecretUnreadable)
    throw new UpstreamOAuthError("config", "The backend's client secret cannot be decrypted; re-enter it");
  const key = `${auth.issuer ?? ""}\0${auth.resource}`;
  let entry = metadata.get(key);
  if (!entry || Date.now() - entry.at > METADATA_TTL_MS) {
    const issuer = auth.issuer ? checkServerUrl(auth.issuer, env) : await issuerFromResource(auth.resource, env);
    entry = { as: await discoverIssuer(issuer), at: Date.now() };
    metadata.set(key, entry);
  }
  const as = entry.as;
  const tokenUrl = checkServerUrl(as.token_endpoint ?? "", env);
  const methods = as.token_endpoint_auth_methods_supported;
  const clientAuth = !auth.clientSecret
    ? oauth.None()
    : methods && !methods.includes("client_secret_basic") && methods.includes("client_secret_post")
      ? oauth.ClientSecretPost(auth.clientSecret)
      : oauth.ClientSecretBasic(auth.clientSecret);
  return { as, client: { client_id: auth.clientId }, clientAuth, options: requestOptions(tokenUrl) };
}

/** A client the server issued to the gateway by dynamic registration (RFC 7591). */
export interface RegisteredClient {
  clientId: string;
  clientSecret: string | null;
}

/**
 * The backend's authorization server's registration endpoint, or null when it
 * has none (then the admin must pre-register a client and set `clientId`).
 */
export async function registrationEndpoint(auth: UpstreamOAuth, env: OAuthEnv): Promise<string | null> {
  const server = await serverFor({ ...auth, clientId: "", clientSecret: null }, env);
  return server.as.registration_endpoint ?? null;
}

/**
 * Registers the gateway's client at the backend's authorization server (RFC
 * 7591 section 3): the gateway's callback as the only redirect URI, the
 * grants the backend's settings use, and client_secret_basic (else
 * client_secret_post, else none) as the server supports (RFC 8414 section 2:
 * an absent list means client_secret_basic). One client per backend, never
 * shared between backends (MCP 2025-11-25 basic/security_best_practices).
 */
export async function registerClient(
  auth: UpstreamOAuth,
  env: OAuthEnv,
  redirectUri: string,
  clientName: string,
): Promise<RegisteredClient> {
  const server = await serverFor({ ...auth, clientId: "", clientSecret: null }, env);
  const endpoint = server.as.registration_endpoint;
  if (!endpoint)
    throw new UpstreamOAuthError(
      "config",
      "The authorization server offers no dynamic client registration (RFC 7591): register a client there and set auth.clientId",
    );
  checkServerUrl(endpoint, env);
  const methods = server.as.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  const method = ["client_secret_basic", "client_secret_post", "none"].find((m) => methods.includes(m)) ?? "none";
  const grants =
    auth.grant === "authorization_code"
      ? ["authorization_code", "refresh_token"]
      : auth.grant === "client_credentials"
        ? ["client_credentials"]
        : ["urn:ietf:params:oauth:grant-type:token-exchange"];
  try {
    const res = await oauth.dynamicClientRegistrationRequest(
      server.as,
      {
        client_name: clientName,
        redirect_uris: auth.grant === "authorization_code" ? [redirectUri] : [],
        grant_types: grants,
        response_types: auth.grant === "authorization_code" ? ["code"] : [],
        token_endpoint_auth_method: method,
        ...(auth.scopes.length > 0 && { scope: auth.scopes.join(" ") }),
      },
      server.options,
    );
    const client = await oauth.processDynamicClientRegistrationResponse(res);
    const secret = typeof client.client_secret === "string" ? client.client_secret : null;
    return { clientId: client.client_id, clientSecret: secret };
  } catch (err) {
    throw grantError(err, "The client registration");
  }
}

/** The URL the user's browser is sent to: code flow, S256 PKCE, the backend's resource and scopes. */
export function authorizationUrl(
  server: ServerContext,
  auth: UpstreamOAuth,
  redirectUri: string,
  state: string,
  codeChallenge: string,
): URL {
  if (!server.as.authorization_endpoint)
    throw new UpstreamOAuthError("discovery", "The authorization server has no authorization endpoint");
  // The server's metadata is not ours to trust: a value that is no URL is its discovery failure, not our 500.
  let url: URL;
  try {
    url = new URL(server.as.authorization_endpoint);
  } catch {
    throw new UpstreamOAuthError("discovery", "The authorization server's authorization endpoint is not a URL");
  }
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", auth.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("resource", auth.resource);
  if (auth.scopes.length > 0) url.searchParams.set("scope", auth.scopes.join(" "));
  return url;
}

function tokenSet(response: oauth.TokenEndpointResponse): TokenSet {
  if (response.token_type.toLowerCase() !== "bearer")
    throw new UpstreamOAuthError("grant", "The authorization server issued a token that is not a bearer token");
  return {
    accessToken: response.access_token,
    ...(response.refresh_token && { refreshToken: response.refresh_token }),
    expiresAt: typeof response.expires_in === "number" ? Date.now() + response.expires_in * 1000 : null,
    ...(response.scope && { scope: response.scope }),
  };
}

/** Names what went wrong without echoing the server's text (it may quote what it was sent). */
function grantError(err: unknown, what: string): UpstreamOAuthError {
  if (err instanceof UpstreamOAuthError) return err;
  if (err instanceof oauth.ResponseBodyError && /^[a-z_]{1,64}$/.test(err.error))
    return new UpstreamOAuthError("grant", `${what} failed: ${err.error}`);
  // A 401 with a challenge (e.g. invalid_client for a forgotten client) carries its code there.
  const challenged = err instanceof oauth.WWWAuthenticateChallengeError ? err.cause[0]?.parameters.error : undefined;
  if (challenged && /^[a-z_]{1,64}$/.test(challenged))
    return new UpstreamOAuthError("grant", `${what} failed: ${challenged}`);
  if (err instanceof oauth.AuthorizationResponseError)
    return new UpstreamOAuthError(err.error === "access_denied" ? "denied" : "grant", `${what} failed: ${err.error}`);
  return new UpstreamOAuthError("grant", `${what} failed`);
}

/**
 * Checks the authorization response (`state`, RFC 9207 `iss`, an `error`)
 * and redeems its code with the PKCE verifier.
 */
export async function exchangeCode(
  server: ServerContext,
  callback: URL,
  expectedState: string,
  redirectUri: string,
  verifier: string,
  resource: string,
): Promise<TokenSet> {
  try {
    const params = oauth.validateAuthResponse(server.as, server.client, callback, expectedState);
    const res = await oauth.authorizationCodeGrantRequest(
      server.as,
      server.client,
      server.clientAuth,
      params,
      redirectUri,
      verifier,
      { ...server.options, additionalParameters: { resource } },
    );
    return tokenSet(await oauth.processAuthorizationCodeResponse(server.as, server.client, res));
  } catch (err) {
    throw grantError(err, "The authorization");
  }
}

/** A new access token from a refresh token, for the same resource. */
export async function refreshTokens(server: ServerContext, refreshToken: string, resource: string): Promise<TokenSet> {
  try {
    const res = await oauth.refreshTokenGrantRequest(server.as, server.client, server.clientAuth, refreshToken, {
      ...server.options,
      additionalParameters: { resource },
    });
    const set = tokenSet(await oauth.processRefreshTokenResponse(server.as, server.client, res));
    // Servers that do not rotate refresh tokens keep the old one valid.
    return set.refreshToken ? set : { ...set, refreshToken };
  } catch (err) {
    throw grantError(err, "The refresh");
  }
}

/** A token for the gateway's own client (`client_credentials`), for the backend's resource and scopes. */
export async function clientCredentials(server: ServerContext, auth: UpstreamOAuth): Promise<TokenSet> {
  try {
    const params: Record<string, string> = { resource: auth.resource };
    if (auth.scopes.length > 0) params.scope = auth.scopes.join(" ");
    const res = await oauth.clientCredentialsGrantRequest(
      server.as,
      server.client,
      server.clientAuth,
      params,
      server.options,
    );
    return tokenSet(await oauth.processClientCredentialsResponse(server.as, server.client, res));
  } catch (err) {
    throw grantError(err, "The client credentials grant");
  }
}

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/**
 * RFC 8693: exchanges the caller's own gateway access token (`subject`) for a
 * token for the backend's resource and scopes, issued to the gateway's client.
 */
export async function exchangeToken(server: ServerContext, auth: UpstreamOAuth, subject: string): Promise<TokenSet> {
  try {
    const params: Record<string, string> = {
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      resource: auth.resource,
    };
    if (auth.scopes.length > 0) params.scope = auth.scopes.join(" ");
    const res = await oauth.genericTokenEndpointRequest(
      server.as,
      server.client,
      server.clientAuth,
      TOKEN_EXCHANGE,
      params,
      server.options,
    );
    return tokenSet(await oauth.processGenericTokenEndpointResponse(server.as, server.client, res));
  } catch (err) {
    throw grantError(err, "The token exchange");
  }
}

/** Revokes a token at the server (RFC 7009) when it has a revocation endpoint; false when it could not. */
export async function revokeToken(server: ServerContext, token: string): Promise<boolean> {
  if (!server.as.revocation_endpoint) return false;
  try {
    const res = await oauth.revocationRequest(server.as, server.client, server.clientAuth, token, server.options);
    await oauth.processRevocationResponse(res);
    return true;
  } catch {
    return false;
  }
}

/** A fresh PKCE pair (RFC 7636, S256). */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
}

/** `backend` with `token` as its Authorization (any configured Authorization header is replaced). */
export function withBearer(backend: BackendConfig, token: string): BackendConfig {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(backend.headers)) {
    if (name.toLowerCase() !== "authorization") headers[name] = value;
  }
  headers.authorization = `Bearer ${token}`;
  return { ...backend, headers };
}

/** The upstream token `withBearer` put on an upstream-OAuth backend, if any (a configured header is not one). */
export function bearerOf(backend: BackendConfig): string | undefined {
  const value = backend.auth ? backend.headers.authorization : undefined;
  return value?.startsWith("Bearer ") ? value.slice(7) : undefined;
}
