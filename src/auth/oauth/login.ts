/**
 * The built-in authorization server's routes: its protocol endpoints
 * (metadata, token with refresh and revocation, registration), served by the
 * library, and the interactive part the application owns: `/authorize`
 * shows the consent screen, its form continues to the upstream OpenID
 * Connect provider (authorization code + PKCE S256 + nonce, any OIDC
 * provider, Cloudflare Access included), and `/oauth/callback` checks the
 * provider's ID token with jose, maps its claims to teams, and completes the
 * grant. Configured by `OAUTH_LOGIN_ISSUER`, `OAUTH_LOGIN_CLIENT_ID`,
 * `OAUTH_LOGIN_CLIENT_SECRET` (a secret) and `OAUTH_LOGIN_MAPPING`, with the
 * `OAUTH_KV` namespace; without them these routes are 404.
 */
import { AuthorizationError, type AuthRequest, authorizationErrorRedirect } from "@cloudflare/workers-oauth-provider";
import { type Context, Hono } from "hono";
import { jwtVerify } from "jose";
import { z } from "zod";
import { loadConfig } from "../../config/middleware";
import type { AppEnv } from "../../env";
import { base64url, randomBytes } from "../../util/bytes";
import { cimdHost, isCimdClientId, resolveCimdClient } from "./cimd";
import { mappedTeams, principalFromClaims } from "./claims";
import { discoverMetadata } from "./discovery";
import { IssuerSchema } from "./issuers";
import { keySet } from "./jwt";
import { consentPage, errorPage, PAGE_HEADERS } from "./pages";
import { builtinServerEnabled, gatewayOrigin } from "./resource";
import { AS_PATHS, authorizationServer, type GrantProps } from "./server";

/** How the provider's claims map to the user name and teams (the issuer mapping's fields). */
const MappingSchema = IssuerSchema.pick({ usernameClaim: true, teamsClaim: true, teams: true });

const TIMEOUT_MS = 10_000;

interface LoginData {
  verifier: string;
  nonce: string;
}

function mapping(env: AppEnv["Bindings"]) {
  try {
    const parsed = MappingSchema.safeParse(JSON.parse(env.OAUTH_LOGIN_MAPPING || "{}"));
    return { name: "login", ...(parsed.success ? parsed.data : {}) };
  } catch {
    return { name: "login" };
  }
}

function html(body: string, status: 200 | 400 | 502 = 200, extra?: Headers): Response {
  const headers = new Headers(PAGE_HEADERS);
  // The library's binding cookies are added; its other headers (framing) replace ours, never doubled.
  for (const [k, v] of extra ?? []) {
    if (k.toLowerCase() === "set-cookie") headers.append(k, v);
    else headers.set(k, v);
  }
  return new Response(body, { status, headers });
}

function redirect(location: string, extra?: Headers): Response {
  const headers = new Headers(extra);
  headers.set("location", location);
  headers.set("cache-control", "no-store");
  return new Response(null, { status: 302, headers });
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** An authorization request the library refused: back to the client when it may be, else a page. */
function refused(err: unknown): Response {
  if (err instanceof AuthorizationError && err.redirectTo) return redirect(err.redirectTo);
  const message =
    err instanceof AuthorizationError ? err.description : "The sign-in request is invalid or has expired.";
  return html(errorPage(message), 400);
}

/** The provider's code for tokens, then its ID token's verified claims (null on any failure). */
async function idTokenClaims(
  env: AppEnv["Bindings"],
  code: string,
  redirectUri: string,
  data: LoginData,
): Promise<Record<string, unknown> | null> {
  const issuer = env.OAUTH_LOGIN_ISSUER ?? "";
  const meta = await discoverMetadata(issuer);
  if (!meta?.token_endpoint || !meta.jwks_uri) return null;
  const res = await fetch(meta.token_endpoint, {
    method: "POST",
    signal: AbortSignal.timeout(TIMEOUT_MS),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
      authorization: `Basic ${btoa(`${encodeURIComponent(env.OAUTH_LOGIN_CLIENT_ID ?? "")}:${encodeURIComponent(env.OAUTH_LOGIN_CLIENT_SECRET ?? "")}`)}`,
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: data.verifier,
    }),
  });
  const text = await res.text();
  if (!res.ok || text.length > 64 * 1024) return null;
  const tokens = z.object({ id_token: z.string().max(16_384) }).safeParse(JSON.parse(text));
  if (!tokens.success) return null;
  const { payload } = await jwtVerify(tokens.data.id_token, keySet(meta.jwks_uri), {
    issuer,
    audience: env.OAUTH_LOGIN_CLIENT_ID ?? "",
    clockTolerance: 30,
    requiredClaims: ["sub", "exp"],
  });
  return payload.nonce === data.nonce ? payload : null;
}

/** The scopes granted: what the client asked for among the gateway's, else `mcp`. */
function grantedScopes(request: AuthRequest): string[] {
  const asked = request.scope.filter((s) => s === "mcp" || s === "admin");
  return asked.length > 0 ? asked : ["mcp"];
}

/** The routes; mounted on the app, answering 404 unless the server is configured. */
export function authorizationServerRoutes() {
  const app = new Hono<AppEnv>();
  // Per path, never `use("*")`: mounted at "/", a catch-all would run in front of every route of the app.
  const paths = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-authorization-server/*",
    ...Object.values(AS_PATHS),
  ];
  for (const path of paths) {
    app.use(path, async (c, next) => {
      if (!builtinServerEnabled(c.env)) return c.json({ error: { code: "not_found", message: "No such route" } }, 404);
      await next();
    });
    app.use(path, loadConfig());
  }
  const server = (c: Context<AppEnv>) => authorizationServer(gatewayOrigin(c.env, c.req.url), c.get("config"));
  const env = (c: Context<AppEnv>) => ({ OAUTH_KV: c.env.OAUTH_KV as KVNamespace });
  // Hono types its execution context more loosely than workers-types; it is the runtime's own object.
  const protocol = (c: Context<AppEnv>) =>
    server(c).fetch(c.req.raw, env(c), c.executionCtx as unknown as Parameters<ReturnType<typeof server>["fetch"]>[2]);

  // The library's metadata, plus the Client ID Metadata Documents this gateway resolves itself (`cimd.ts`).
  const metadata = async (c: Context<AppEnv>) => {
    const res = await protocol(c);
    if (res.status !== 200) return res;
    const body = (await res.json()) as Record<string, unknown>;
    // The library's headers (CORS for browser-based clients such as the Inspector) stay; the length changes.
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    return new Response(JSON.stringify({ ...body, client_id_metadata_document_supported: true }), {
      status: 200,
      headers,
    });
  };
  const cimdEnv = (c: Context<AppEnv>) => ({ ...c.env, OAUTH_KV: c.env.OAUTH_KV as KVNamespace });
  const isCimd = (c: Context<AppEnv>, id: string | null | undefined): id is string =>
    typeof id === "string" && isCimdClientId(id, c.env.ALLOW_PRIVATE_BACKENDS === "true");
  /** A token request naming a metadata document URL goes to the library under its client's id. */
  const token = async (c: Context<AppEnv>) => {
    if (!c.req.header("content-type")?.includes("application/x-www-form-urlencoded")) return protocol(c);
    const bytes = await c.req.raw.clone().arrayBuffer();
    if (bytes.byteLength > 16_384)
      return c.json({ error: "invalid_request", error_description: "Body too large" }, 413);
    const form = new URLSearchParams(new TextDecoder().decode(bytes));
    const id = form.get("client_id");
    if (!isCimd(c, id)) return protocol(c);
    const resolved = await resolveCimdClient(cimdEnv(c), gatewayOrigin(c.env, c.req.url), c.get("config"), id);
    if ("error" in resolved) return c.json({ error: "invalid_client", error_description: resolved.error }, 401);
    form.set("client_id", resolved.clientId);
    const rewritten = new Request(c.req.raw, { body: form.toString() });
    return server(c).fetch(
      rewritten,
      env(c),
      c.executionCtx as unknown as Parameters<ReturnType<typeof server>["fetch"]>[2],
    );
  };

  app.get("/.well-known/oauth-authorization-server", metadata);
  app.get("/.well-known/oauth-authorization-server/*", metadata);
  app.post(AS_PATHS.token, token);
  app.post(AS_PATHS.register, protocol);
  app.options(AS_PATHS.token, protocol);
  app.options(AS_PATHS.register, protocol);

  app.get(AS_PATHS.authorize, async (c) => {
    const helpers = server(c).getOAuthApi(env(c));
    const asked = c.req.query("client_id");
    let raw = c.req.raw;
    if (isCimd(c, asked)) {
      const resolved = await resolveCimdClient(cimdEnv(c), gatewayOrigin(c.env, c.req.url), c.get("config"), asked);
      // Not redirected: until its document is read, nothing says the redirect URI belongs to this client.
      if ("error" in resolved) return html(errorPage(`This app cannot sign in: ${resolved.error}.`), 400);
      const url = new URL(c.req.url);
      url.searchParams.set("client_id", resolved.clientId);
      raw = new Request(url, c.req.raw);
    }
    try {
      const request = await helpers.parseAuthRequest(raw);
      const described = await helpers.describeConsent(request);
      // A document's host is who the client is: the name inside it is only what the client says.
      const description = isCimd(c, asked) ? { ...described, clientDomain: cimdHost(asked) } : described;
      const { handle, headers } = await helpers.beginConsent(request);
      const body = consentPage({
        ...description,
        scopes: grantedScopes(request),
        resource: request.resource ?? `${gatewayOrigin(c.env, c.req.url)}/mcp`,
        handle,
        action: AS_PATHS.authorize,
      });
      return html(body, 200, headers);
    } catch (err) {
      return refused(err);
    }
  });

  app.post(AS_PATHS.authorize, async (c) => {
    const helpers = server(c).getOAuthApi(env(c));
    const form = await c.req.formData().catch(() => null);
    const handle = form?.get("handle");
    if (typeof handle !== "string") return html(errorPage("The consent form is incomplete."), 400);
    try {
      if (form?.get("decision") !== "approve") {
        const denied = await helpers.denyConsent(c.req.raw, handle);
        return redirect(denied.redirectTo, denied.headers);
      }
      const approved = await helpers.approveConsent(c.req.raw, handle);
      const data: LoginData = { verifier: base64url(randomBytes(32)), nonce: base64url(randomBytes(16)) };
      const upstream = await helpers.beginUpstream(approved.request, { data, headers: approved.headers });
      const meta = await discoverMetadata(c.env.OAUTH_LOGIN_ISSUER ?? "");
      if (!meta?.authorization_endpoint) return html(errorPage("The identity provider cannot be reached."), 502);
      const url = new URL(meta.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: c.env.OAUTH_LOGIN_CLIENT_ID ?? "",
        redirect_uri: `${gatewayOrigin(c.env, c.req.url)}${AS_PATHS.callback}`,
        scope: "openid profile email",
        state: upstream.state,
        nonce: data.nonce,
        code_challenge: await s256(data.verifier),
        code_challenge_method: "S256",
      }).toString();
      return redirect(url.toString(), upstream.headers);
    } catch (err) {
      return refused(err);
    }
  });

  app.get(AS_PATHS.callback, async (c) => {
    const helpers = server(c).getOAuthApi(env(c));
    let resumed: Awaited<ReturnType<typeof helpers.finishUpstream<LoginData>>>;
    try {
      resumed = await helpers.finishUpstream<LoginData>(c.req.raw);
    } catch (err) {
      return refused(err);
    }
    const { request } = resumed;
    const code = c.req.query("code");
    const issuer = gatewayOrigin(c.env, c.req.url);
    const back = (description: string) =>
      redirect(authorizationErrorRedirect({ ...request, issuer }, "access_denied", description), resumed.headers);
    if (!code) return back("The identity provider did not sign the user in");
    const claims = await idTokenClaims(c.env, code, `${issuer}${AS_PATHS.callback}`, resumed.data).catch(() => null);
    const map = mapping(c.env);
    const principal = claims && principalFromClaims(map, claims, c.get("config"), []);
    if (!claims || !principal) return back("The identity provider's answer could not be verified");
    const { teams, platformAdmin } = mappedTeams(map, claims);
    const props: GrantProps = { subject: principal.subject, name: principal.name, teams: [...teams], platformAdmin };
    try {
      const { redirectTo } = await helpers.completeAuthorization({
        request,
        userId: encodeURIComponent(String(claims.sub)),
        metadata: { name: principal.name },
        scope: grantedScopes(request),
        props,
      });
      return redirect(redirectTo, resumed.headers);
    } catch (err) {
      return refused(err);
    }
  });
  return app;
}
