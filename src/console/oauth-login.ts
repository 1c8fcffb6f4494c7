/**
 * Console sign-in through the built-in OAuth authorization server (README,
 * "Admin console"; issue 17: "when OAuth exists, the console signs in
 * through it"). The console is an ordinary OAuth 2.1 client of the gateway's
 * own server, public (no secret) with PKCE S256, asking for the admin API's
 * resource (`<origin>/api`, RFC 8707) and the `admin` scope:
 *
 * 1. `GET /admin/login/oauth` registers the console client once per origin
 *    (kept in `OAUTH_KV`), remembers `state` and the PKCE verifier in a
 *    short-lived sealed cookie, and sends the browser to `/authorize`;
 * 2. the user sees the consent screen and signs in at the upstream OpenID
 *    Connect provider (`auth/oauth/login.ts`), which maps claims to teams;
 * 3. `GET /admin/login/callback` checks `state` and `iss` (RFC 9207),
 *    exchanges the code at the token endpoint (in-process, through the
 *    library), validates the token for `<origin>/api`, and opens a console
 *    session that holds the token sealed (`auth/console-session.ts`): the
 *    console then has exactly the caller's roles, and revoking the grant
 *    ends the session.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { openSession } from "../auth/console-session";
import { keyRing } from "../auth/keys";
import { gatewayOrigin, resourceId } from "../auth/oauth/resource";
import { AS_PATHS, authorizationServer } from "../auth/oauth/server";
import { builtinPrincipal } from "../auth/oauth/tokens";
import { canAdmin } from "../auth/principal";
import { open, seal } from "../auth/seal";
import type { AppEnv } from "../env";
import { base64url, randomBytes } from "../util/bytes";

/** The login cookie: Lax, because the flow comes back through a redirect chain that starts at the provider. */
export const LOGIN_COOKIE = "__Host-mcpgw-console-login";
const LOGIN_TTL_SECONDS = 600;
export const CALLBACK_PATH = "/admin/login/callback";
const CLIENT_KEY = "console-client:v1:";

interface LoginState {
  state: string;
  verifier: string;
  exp: number;
}

const loginCookie = { httpOnly: true, secure: true, sameSite: "Lax", path: "/" } as const;

function kv(c: Context<AppEnv>): KVNamespace {
  return c.env.OAUTH_KV as KVNamespace;
}

/** The console's client id at this origin, registered on first use (a concurrent first use registers twice, harmlessly). */
async function consoleClientId(c: Context<AppEnv>, origin: string): Promise<string> {
  const known = await kv(c).get(`${CLIENT_KEY}${origin}`);
  if (known) return known;
  const client = await authorizationServer(origin, c.get("config"))
    .getOAuthApi({ OAUTH_KV: kv(c) })
    .createClient({
      clientName: "MCP gateway console",
      redirectUris: [`${origin}${CALLBACK_PATH}`],
      tokenEndpointAuthMethod: "none",
      grantTypes: ["authorization_code"],
      responseTypes: ["code"],
    });
  await kv(c).put(`${CLIENT_KEY}${origin}`, client.clientId);
  return client.clientId;
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

/** Step 1: to the authorization server. */
export async function startOAuthLogin(c: Context<AppEnv>): Promise<Response> {
  const origin = gatewayOrigin(c.env, c.req.url);
  const clientId = await consoleClientId(c, origin);
  const login: LoginState = {
    state: base64url(randomBytes(24)),
    verifier: base64url(randomBytes(32)),
    exp: Date.now() + LOGIN_TTL_SECONDS * 1000,
  };
  setCookie(c, LOGIN_COOKIE, await seal(login, await keyRing(c.env), "console-login"), {
    ...loginCookie,
    maxAge: LOGIN_TTL_SECONDS,
  });
  const url = new URL(`${origin}${AS_PATHS.authorize}`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: `${origin}${CALLBACK_PATH}`,
    scope: "admin",
    resource: resourceId(origin, "/api"),
    state: login.state,
    code_challenge: await s256(login.verifier),
    code_challenge_method: "S256",
  }).toString();
  return c.redirect(url.toString(), 302);
}

async function readLogin(c: Context<AppEnv>): Promise<LoginState | null> {
  const cookie = getCookie(c, LOGIN_COOKIE);
  if (!cookie || cookie.length > 2048) return null;
  try {
    const value = (await open(cookie, await keyRing(c.env), "console-login")).value as Partial<LoginState>;
    if (typeof value?.state !== "string" || typeof value.verifier !== "string" || typeof value.exp !== "number") {
      return null;
    }
    return value.exp > Date.now() ? (value as LoginState) : null;
  } catch {
    return null;
  }
}

/** What the callback ends in: a session cookie to set, or a message for the sign-in page. */
export type CallbackResult = { cookie: string; maxAge: number } | { error: string };

/** Step 3: back from the authorization server. */
export async function finishOAuthLogin(c: Context<AppEnv>): Promise<CallbackResult> {
  const origin = gatewayOrigin(c.env, c.req.url);
  const login = await readLogin(c);
  deleteCookie(c, LOGIN_COOKIE, loginCookie);
  const q = (name: string) => c.req.query(name);
  if (!login || q("state") !== login.state) return { error: "The sign-in expired or did not start here; try again." };
  // RFC 9207: the answer must come from this gateway's own authorization server.
  if (q("iss") !== origin) return { error: "The sign-in answer came from an unexpected issuer." };
  const code = q("code");
  if (!code) return { error: "Sign-in was cancelled or refused." };
  const token = await exchange(c, origin, code, login.verifier);
  if (!token) return { error: "The sign-in could not be completed; try again." };
  const config = c.get("config");
  const principal = await builtinPrincipal(c.env, token.access, resourceId(origin, "/api"), origin, config);
  if (!principal || !canAdmin(principal) || (!principal.platformAdmin && principal.teams.size === 0)) {
    return { error: "Your account has no role in any team on this gateway; ask a platform admin to add you." };
  }
  const now = Date.now();
  const { cookie, session } = await openSession(
    token.access,
    principal,
    await keyRing(c.env),
    now,
    now + token.expiresIn * 1000,
  );
  return { cookie, maxAge: Math.max(1, Math.floor((session.expiresAt - now) / 1000)) };
}

/** The code for an access token, through the library's own token endpoint (no network hop). */
async function exchange(
  c: Context<AppEnv>,
  origin: string,
  code: string,
  verifier: string,
): Promise<{ access: string; expiresIn: number } | null> {
  const request = new Request(`${origin}${AS_PATHS.token}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: `${origin}${CALLBACK_PATH}`,
      client_id: await consoleClientId(c, origin),
      code_verifier: verifier,
      resource: resourceId(origin, "/api"),
    }),
  });
  const server = authorizationServer(origin, c.get("config"));
  // Hono types its execution context more loosely than workers-types; it is the runtime's own object.
  const res = await server.fetch(
    request,
    { OAUTH_KV: kv(c) },
    c.executionCtx as unknown as Parameters<typeof server.fetch>[2],
  );
  if (!res.ok) return null;
  const body = (await res.json().catch(() => null)) as { access_token?: unknown; expires_in?: unknown } | null;
  if (typeof body?.access_token !== "string") return null;
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600;
  return { access: body.access_token, expiresIn };
}
