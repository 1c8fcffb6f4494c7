// Client ID Metadata Documents at the built-in authorization server: a client whose client_id is a URL completes authorization code + PKCE and calls /mcp; documents that lie about their client_id, hold a secret, are too large, live on a private address or do not list the redirect URI are refused.
import { createExecutionContext, env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { startIdp, type TestIdp } from "./idp";
import { route } from "./outbound";

const ORIGIN = "http://localhost";
const LOGIN = "https://login.test";
const REDIRECT = "http://127.0.0.1:7777/cb";
const DOC = "https://93.184.215.14/cimd/agent.json";
const vars = { OAUTH_LOGIN_ISSUER: LOGIN, OAUTH_LOGIN_CLIENT_ID: "gw", OAUTH_LOGIN_CLIENT_SECRET: "gw-secret" };

let idp: TestIdp;
const closers: Array<() => void> = [];
let lastNonce = "";

/** The Worker with the built-in server configured; `cookies` is a jar shared by one flow. */
async function call(path: string, init: RequestInit = {}, cookies?: Map<string, string>): Promise<Response> {
  const headers = new Headers(init.headers);
  if (cookies && cookies.size > 0) headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
  const res = await worker.fetch(
    new Request(`${ORIGIN}${path}`, { ...init, headers, redirect: "manual" }),
    { ...env, ...vars },
    createExecutionContext(),
  );
  for (const line of res.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const eq = pair.indexOf("=");
    if (eq > 0) cookies?.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return res;
}

async function pkce() {
  const verifier = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/[+/=]/g, "x");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const challenge = btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return { verifier, challenge };
}

function authorizeUrl(clientId: string, challenge: string, redirect = REDIRECT): string {
  return `/authorize?${new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirect,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st-1",
    scope: "mcp",
    resource: `${ORIGIN}/mcp`,
  })}`;
}

function serveDocument(url: string, body: unknown): void {
  closers.push(route(url, () => Response.json(body)));
}

beforeAll(async () => {
  idp = await startIdp(LOGIN, { jwksPath: "/jwks" });
  closers.push(
    route(`${LOGIN}/.well-known/openid-configuration`, () =>
      Response.json({
        issuer: LOGIN,
        authorization_endpoint: `${LOGIN}/auth`,
        token_endpoint: `${LOGIN}/token`,
        jwks_uri: `${LOGIN}/jwks`,
      }),
    ),
    route(`${LOGIN}/token`, async () =>
      Response.json({ id_token: await idp.sign({ aud: "gw", sub: "carol", nonce: lastNonce }) }),
    ),
  );
  serveDocument(DOC, { client_id: DOC, client_name: "CIMD Agent", redirect_uris: [REDIRECT] });
});

afterAll(() => {
  for (const close of closers) close();
  idp?.close();
});

describe("Client ID Metadata Documents", () => {
  it("are announced in the authorization server's metadata", async () => {
    const res = await call("/.well-known/oauth-authorization-server");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ client_id_metadata_document_supported: true, issuer: ORIGIN });
  });

  it("a client named by its document URL consents, signs in, gets a token for /mcp and uses it", async () => {
    const jar = new Map<string, string>();
    const { verifier, challenge } = await pkce();
    const consent = await call(authorizeUrl(DOC, challenge), {}, jar);
    expect(consent.status).toBe(200);
    const html = await consent.text();
    expect(html).toContain("CIMD Agent");
    expect(html).toContain("(93.184.215.14)");
    const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const approved = await call(
      "/authorize",
      { method: "POST", body: new URLSearchParams({ handle, decision: "approve" }) },
      jar,
    );
    expect(approved.status).toBe(302);
    const upstream = new URL(approved.headers.get("location") ?? "");
    expect(upstream.origin).toBe(LOGIN);
    lastNonce = upstream.searchParams.get("nonce") ?? "";
    const back = await call(
      `/oauth/callback?${new URLSearchParams({ code: "upstream-code", state: upstream.searchParams.get("state") ?? "" })}`,
      {},
      jar,
    );
    expect(back.status).toBe(302);
    const final = new URL(back.headers.get("location") ?? "");
    expect(`${final.origin}${final.pathname}`).toBe(REDIRECT);
    expect(final.searchParams.get("iss")).toBe(ORIGIN);
    const token = await call("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: final.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT,
        client_id: DOC,
        code_verifier: verifier,
        resource: `${ORIGIN}/mcp`,
      }),
    });
    expect(token.status).toBe(200);
    const tokens = (await token.json()) as { access_token: string; refresh_token: string };
    const mcp = await call("/mcp", {
      method: "POST",
      headers: {
        authorization: `Bearer ${tokens.access_token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "cimd", version: "1" } },
      }),
    });
    expect(mcp.status).toBe(200);
    await mcp.body?.cancel();
    const refreshed = await call("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: DOC }),
    });
    expect(refreshed.status).toBe(200);
  });

  it("a redirect URI the document does not list is refused without redirecting", async () => {
    const { challenge } = await pkce();
    const res = await call(authorizeUrl(DOC, challenge, "https://attacker.example/cb"));
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
  });

  it("refuses documents that name another client, hold a secret, are too large, or live on a private address", async () => {
    const base = "https://93.184.215.14/cimd";
    serveDocument(`${base}/liar.json`, { client_id: DOC, redirect_uris: [REDIRECT] });
    serveDocument(`${base}/secret.json`, {
      client_id: `${base}/secret.json`,
      client_secret: "s",
      redirect_uris: [REDIRECT],
    });
    serveDocument(`${base}/big.json`, {
      client_id: `${base}/big.json`,
      client_name: "x",
      redirect_uris: [REDIRECT],
      padding: "x".repeat(6000),
    });
    const { challenge } = await pkce();
    const cases: Array<[string, string]> = [
      [`${base}/liar.json`, "names another client_id"],
      [`${base}/secret.json`, "must not hold a client secret"],
      [`${base}/big.json`, "larger than 5 KiB"],
      ["https://10.0.0.7/cimd/agent.json", "not allowed"],
      [`${base}/missing.json`, "could not be fetched"],
    ];
    for (const [url, reason] of cases) {
      const res = await call(authorizeUrl(url, challenge));
      expect(res.status, url).toBe(400);
      expect(await res.text(), url).toContain(reason);
    }
  });

  it("a token request for a document that cannot be resolved is invalid_client", async () => {
    const res = await call("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: "x:y:z",
        redirect_uri: REDIRECT,
        client_id: "https://93.184.215.14/cimd/unknown.json",
        code_verifier: "v",
      }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_client");
  });
});
