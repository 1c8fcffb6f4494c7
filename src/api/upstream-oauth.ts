/**
 * The browser side of upstream OAuth (README, "Upstream OAuth"): the page a
 * URL-mode elicitation points at, and the authorization server's callback.
 *
 * - `GET /oauth/upstream/start?state=<link state>`: checks the sealed link
 *   (user, backend, expiry) and asks the person who opened it to confirm
 *   which gateway user and backend they are connecting (whoever completes a
 *   link connects their account for the user it was made for: a link someone
 *   else sent you is how such a mix-up would start). `POST` of that form
 *   discovers the backend's authorization server and redirects there with
 *   authorization code + PKCE (S256), the backend's resource (RFC 8707) and
 *   a sealed state carrying the verifier.
 * - `GET /oauth/upstream/callback?state=…&code=…&iss=…`: checks the state,
 *   marks its nonce used in the user's object (one-time), checks `iss` (RFC
 *   9207), redeems the code and stores the token in the user's
 *   UpstreamTokenDO. A user who declines (`error=access_denied`) gets a page
 *   saying so, and nothing is stored.
 *
 * Every bad input is a 400 page, never a 5xx; an authorization server that
 * cannot be reached is a 502 page. No page ever shows a token.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { escapeHtml, PAGE_HEADERS } from "../auth/oauth/pages";
import { gatewayOrigin } from "../auth/oauth/resource";
import {
  CONSENT_TTL_MS,
  type LinkState,
  MAX_STATE_CHARS,
  openLink,
  openServerState,
  StateError,
  sealServerState,
} from "../auth/upstream-state";
import { database } from "../config/db";
import { keyRing } from "../config/header-crypto";
import { loadConfig } from "../config/middleware";
import type { BackendConfig } from "../config/snapshot";
import { recordConnection } from "../config/store/connections";
import { withClient } from "../core/upstream-client";
import type { AppEnv } from "../env";
import { RpcError } from "../protocol/jsonrpc";
import { upstreamTokenObject } from "../stubs";
import { authorizationUrl, exchangeCode, pkcePair, serverFor, UpstreamOAuthError } from "../upstream/oauth-client";

/** Where the authorization server sends the browser back (register this redirect URI with it). */
export const CALLBACK_PATH = "/oauth/upstream/callback";

function page(c: Context<AppEnv>, status: 200 | 400 | 502, title: string, message: string): Response {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></main></body></html>`;
  return c.body(body, status, PAGE_HEADERS);
}

/** The backend a state names, if it still uses the authorization code flow. */
function consentBackend(c: Context<AppEnv>, name: string): BackendConfig | null {
  const backend = c.get("config").backends.get(name);
  return backend?.enabled && backend.auth?.grant === "authorization_code" ? backend : null;
}

function stateParam(state: unknown): string | null {
  return typeof state === "string" && state.length > 0 && state.length <= MAX_STATE_CHARS ? state : null;
}

/** The link's state, or the page that refuses it. */
async function linkOf(c: Context<AppEnv>, raw: string | null): Promise<LinkState | Response> {
  if (!raw) return page(c, 400, "Invalid link", "The link has no valid state.");
  try {
    return await openLink(raw, await keyRing(c.env));
  } catch (err) {
    if (err instanceof StateError) return page(c, 400, "Invalid link", err.message);
    throw err;
  }
}

/** GET: names who is connecting what, and asks to continue (no redirect without a click). */
async function confirm(c: Context<AppEnv>): Promise<Response> {
  const raw = stateParam(c.req.query("state"));
  const link = await linkOf(c, raw);
  if (link instanceof Response) return link;
  if (!consentBackend(c, link.b)) return page(c, 400, "Invalid link", "This backend no longer asks users to connect.");
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Connect ${escapeHtml(link.b)}</title></head><body><main>
<h1>Connect your <strong>${escapeHtml(link.b)}</strong> account</h1>
<p>The MCP gateway will call <code>${escapeHtml(link.b)}</code> as you, for gateway user <strong>${escapeHtml(link.d ?? link.u)}</strong>.
Continue only if you asked for this yourself: whoever signs in here connects their account for that user.</p>
<form method="post" action="/oauth/upstream/start"><input type="hidden" name="state" value="${escapeHtml(raw ?? "")}">
<button type="submit" name="decision" value="continue">Continue to sign in</button></form></main></body></html>`;
  return c.body(body, 200, PAGE_HEADERS);
}

/** POST: the redirect to the authorization server. */
/** The backend with its client (a dynamic one registered first), or the problem's message. */
async function clientOrPage(
  c: Context<AppEnv>,
  backend: BackendConfig,
  origin: string,
): Promise<BackendConfig | string> {
  try {
    return (await withClient(c.env, backend, origin)) ?? `${backend.name}: no OAuth client`;
  } catch (err) {
    if (err instanceof RpcError) return err.message;
    throw err;
  }
}

function clientProblem(backend: BackendConfig, problem: BackendConfig | string): string {
  return typeof problem === "string" ? problem : `${backend.name}: no OAuth client`;
}

async function start(c: Context<AppEnv>): Promise<Response> {
  // Only the confirmation page's own form: a cross-site auto-submit would skip the confirmation.
  const from = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  if ((from && from !== gatewayOrigin(c.env, c.req.url)) || (site && site !== "same-origin" && site !== "none"))
    return page(c, 400, "Invalid link", "Open the link itself, not through another site.");
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody();
  } catch {
    return page(c, 400, "Invalid link", "The form could not be read.");
  }
  const link = await linkOf(c, stateParam(form.state));
  if (link instanceof Response) return link;
  const configured = consentBackend(c, link.b);
  if (!configured?.auth) return page(c, 400, "Invalid link", "This backend no longer asks users to connect.");
  const origin = gatewayOrigin(c.env, c.req.url);
  const backend = await clientOrPage(c, configured, origin);
  if (typeof backend === "string" || !backend.auth)
    return page(c, 502, "Cannot reach the sign-in service", clientProblem(configured, backend));
  try {
    const server = await serverFor(backend.auth, c.env);
    const { verifier, challenge } = await pkcePair();
    // The authorization gets the rest of the link's lifetime, at most CONSENT_TTL_MS.
    const expires = Math.min(link.e, Date.now() + CONSENT_TTL_MS);
    const ring = await keyRing(c.env);
    const state = await sealServerState({ u: link.u, b: link.b, n: link.n, e: expires, v: verifier }, ring);
    const url = authorizationUrl(server, backend.auth, `${origin}${CALLBACK_PATH}`, state, challenge);
    return c.redirect(url.toString(), 302);
  } catch (err) {
    if (err instanceof UpstreamOAuthError)
      return page(c, 502, "Cannot reach the sign-in service", `${backend.name}: ${err.message}`);
    throw err;
  }
}

async function callback(c: Context<AppEnv>): Promise<Response> {
  const raw = stateParam(c.req.query("state"));
  if (!raw) return page(c, 400, "Invalid sign-in response", "The response has no valid state.");
  let state: Awaited<ReturnType<typeof openServerState>>;
  try {
    state = await openServerState(raw, await keyRing(c.env));
  } catch (err) {
    if (err instanceof StateError) return page(c, 400, "Invalid sign-in response", err.message);
    throw err;
  }
  const configured = consentBackend(c, state.b);
  if (!configured?.auth)
    return page(c, 400, "Invalid sign-in response", "This backend no longer asks users to connect.");
  const backend = await clientOrPage(c, configured, gatewayOrigin(c.env, c.req.url));
  if (typeof backend === "string" || !backend.auth)
    return page(c, 502, "Sign-in failed", clientProblem(configured, backend));
  const tokens = upstreamTokenObject(c.env, state.u);
  // One completion per link: a replayed callback (or a second tab) stores nothing.
  if (!(await tokens.consumeState(state.n, state.e)))
    return page(c, 400, "Link already used", "This sign-in was already completed; call the tool again if needed.");
  const error = c.req.query("error");
  if (error !== undefined) {
    const declined = error === "access_denied";
    return page(
      c,
      declined ? 200 : 400,
      declined ? "Not connected" : "Sign-in failed",
      declined
        ? `You declined to connect ${backend.name}. Nothing was stored; calls to it will ask again.`
        : `The sign-in service refused (${/^[a-z_]{1,64}$/.test(error) ? error : "error"}). Nothing was stored.`,
    );
  }
  const origin = gatewayOrigin(c.env, c.req.url);
  try {
    const server = await serverFor(backend.auth, c.env);
    const set = await exchangeCode(
      server,
      new URL(c.req.url),
      raw,
      `${origin}${CALLBACK_PATH}`,
      state.v,
      backend.auth.resource,
    );
    await tokens.store(backend, set);
  } catch (err) {
    if (err instanceof UpstreamOAuthError)
      return page(c, err.kind === "discovery" ? 502 : 400, "Sign-in failed", `${err.message}. Nothing was stored.`);
    throw err;
  }
  await recordConnection(database(c.env.DB), state.u, backend.name);
  return page(c, 200, "Connected", `Your account is connected to ${backend.name}. You can return to your MCP client.`);
}

/** The routes under /oauth/upstream. */
export function upstreamOAuthRoutes() {
  const app = new Hono<AppEnv>();
  app.use("/oauth/upstream/*", loadConfig());
  app.get("/oauth/upstream/start", confirm);
  app.post(
    "/oauth/upstream/start",
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => page(c, 400, "Invalid link", "The form is too large.") }),
    start,
  );
  app.get(CALLBACK_PATH, callback);
  return app;
}
