// End to end: the SDK client's OAuth from a bare 401 to tools/call, against the built-in authorization server (oidc-provider as the login) and an external issuer (oauth2-mock-server), and each failure path.

import { createHash, randomBytes } from "node:crypto";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatelessBackend, startStatelessBackend } from "../fixtures/backends";
import { type MockIssuer, type OidcProvider, startMockIssuer, startOidcProvider } from "../fixtures/identity-providers";
import { browse } from "../helpers/browser";
import { type Gateway, startGateway } from "../helpers/gateway";

const REDIRECT = "http://127.0.0.1:1/callback";

/** An MCP client's OAuth state, as the SDK asks for it; `authUrl` is where it would send the user. */
class TestClientProvider implements OAuthClientProvider {
  authUrl: URL | undefined;
  private client: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = "";
  constructor(preRegistered?: OAuthClientInformationMixed) {
    this.client = preRegistered;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "E2E Agent <script>",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: "mcp",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

let gateway: Gateway;
let backend: StatelessBackend;
let oidc: OidcProvider & { register(uri: string): void };
let mock: MockIssuer;

/** Connects with OAuth: the first attempt ends at the authorization URL, the browser signs in, the second connects. */
async function oauthClient(path: string, provider: TestClientProvider, at: Gateway = gateway): Promise<Client> {
  const url = new URL(`${at.url}${path}`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(new Client({ name: "e2e", version: "1" }).connect(first)).rejects.toThrow(/Unauthorized/);
  expect(provider.authUrl).toBeDefined();
  const visit = await browse(String(provider.authUrl), REDIRECT, { fields: { login: "alice", password: "x" } });
  const code = visit.final.searchParams.get("code");
  expect(code).toBeTruthy();
  await first.finishAuth(code as string);
  const client = new Client({ name: "e2e", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
}

async function mcpStatus(token: string, path = "/mcp"): Promise<number> {
  const res = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } },
    }),
  });
  await res.body?.cancel();
  return res.status;
}

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

beforeAll(async () => {
  backend = await startStatelessBackend("oauth-e2e");
  oidc = await startOidcProvider();
  mock = await startMockIssuer();
  gateway = await startGateway({
    vars: {
      OAUTH_LOGIN_ISSUER: oidc.issuer,
      OAUTH_LOGIN_CLIENT_ID: oidc.clientId,
      OAUTH_LOGIN_CLIENT_SECRET: oidc.clientSecret,
      OAUTH_LOGIN_MAPPING: JSON.stringify({
        teamsClaim: "groups",
        teams: { "eng-devs": { team: "eng", role: "developer" } },
      }),
      OAUTH_ISSUERS: JSON.stringify([{ name: "mock", issuer: mock.issuer }]),
    },
  });
  oidc.register(`${gateway.url}/oauth/callback`);
  oidc.accounts.set("alice", { email: "alice@example.com", groups: ["eng-devs"] });
  const res = await fetch(`${gateway.url}/api/backends`, {
    method: "POST",
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "oa", url: backend.url }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await oidc?.close();
  await mock?.close();
});

describe("discovery from a bare 401 (what the Inspector does)", () => {
  it("finds the resource metadata, then the built-in server's metadata with PKCE S256, registration and RFC 9207", async () => {
    const res = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${gateway.url}/.well-known/oauth-protected-resource/mcp`);
    const prm = (await (await fetch(metadataUrl as string)).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    expect(prm.resource).toBe(`${gateway.url}/mcp`);
    expect(prm.authorization_servers).toEqual([gateway.url, mock.issuer]);
    const as = (await (await fetch(`${gateway.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(as).toMatchObject({
      issuer: gateway.url,
      authorization_endpoint: `${gateway.url}/authorize`,
      token_endpoint: `${gateway.url}/oauth/token`,
      registration_endpoint: `${gateway.url}/oauth/register`,
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
    });
  });
});

describe("the built-in authorization server", () => {
  it("the SDK client registers, signs in at the OIDC provider, consents, and calls a tool; refresh rotates", async () => {
    const provider = new TestClientProvider();
    const client = await oauthClient("/mcp", provider);
    const result = await client.callTool({ name: "oa__echo", arguments: { text: "via oauth" } });
    expect(result.content).toEqual([{ type: "text", text: "via oauth" }]);
    await client.close();
    const tokens = provider.tokens() as OAuthTokens;
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await fetch(`${gateway.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token as string,
        client_id: String((provider.clientInformation() as { client_id: string }).client_id),
        resource: `${gateway.url}/mcp`,
      }),
    });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as OAuthTokens;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(await mcpStatus(next.access_token)).toBe(200);
    // Rotation: once the new refresh token has been used, the old one is dead (a stolen copy cannot mint tokens).
    const refresh = (token: string) =>
      fetch(`${gateway.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: token,
          client_id: String((provider.clientInformation() as { client_id: string }).client_id),
        }),
      });
    expect((await refresh(next.refresh_token as string)).status).toBe(200);
    const replayed = await refresh(tokens.refresh_token as string);
    expect(replayed.status).toBe(400);
    expect(((await replayed.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("the login's group claim maps to teams: alice (eng) lists and calls eng's backend, bob neither", async () => {
    const admin = { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" };
    expect(
      (
        await fetch(`${gateway.url}/api/teams`, {
          method: "POST",
          headers: admin,
          body: JSON.stringify({ name: "eng" }),
        })
      ).status,
    ).toBe(201);
    const created = await fetch(`${gateway.url}/api/backends`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "engonly", url: backend.url, team: "eng", visibility: "team" }),
    });
    expect(created.status).toBe(201);
    const alice = await oauthClient("/mcp", new TestClientProvider());
    expect((await alice.listTools()).tools.map((t) => t.name)).toContain("engonly__echo");
    expect((await alice.callTool({ name: "engonly__echo", arguments: { text: "team" } })).content).toEqual([
      { type: "text", text: "team" },
    ]);
    await alice.close();
    oidc.accounts.set("bob", { groups: [] });
    const bobProvider = new TestClientProvider();
    const url = new URL(`${gateway.url}/mcp`);
    const first = new StreamableHTTPClientTransport(url, { authProvider: bobProvider });
    await expect(new Client({ name: "e2e", version: "1" }).connect(first)).rejects.toThrow(/Unauthorized/);
    const visit = await browse(String(bobProvider.authUrl), REDIRECT, { fields: { login: "bob", password: "x" } });
    await first.finishAuth(visit.final.searchParams.get("code") as string);
    const bob = new Client({ name: "e2e", version: "1" });
    await bob.connect(new StreamableHTTPClientTransport(url, { authProvider: bobProvider }));
    const tools = (await bob.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("oa__echo");
    expect(tools).not.toContain("engonly__echo");
    await expect(bob.callTool({ name: "engonly__echo", arguments: { text: "x" } })).rejects.toThrow(/Unknown tool/);
    await bob.close();
  });

  it("shows a consent screen naming the client (escaped), where tokens go, and the scopes", async () => {
    const reg = (await (
      await fetch(`${gateway.url}/oauth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_name: "Evil <b>Co</b>",
          redirect_uris: [REDIRECT],
          token_endpoint_auth_method: "none",
        }),
      })
    ).json()) as { client_id: string };
    const { challenge } = pkce();
    const res = await fetch(
      `${gateway.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: reg.client_id, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "s1", scope: "mcp", resource: `${gateway.url}/mcp` })}`,
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Evil &#60;b&#62;Co&#60;/b&#62;");
    expect(html).not.toContain("<b>Co</b>");
    expect(html).toContain("127.0.0.1");
    expect(html).toContain("<code>mcp</code>");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  describe("failure paths", () => {
    let clientId: string;
    beforeAll(async () => {
      const reg = (await (
        await fetch(`${gateway.url}/oauth/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            client_name: "manual",
            redirect_uris: [REDIRECT],
            token_endpoint_auth_method: "none",
          }),
        })
      ).json()) as { client_id: string };
      clientId = reg.client_id;
    });

    async function code(resource: string, challenge: string): Promise<URL> {
      const url = `${gateway.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "st", scope: "mcp", resource })}`;
      return (await browse(url, REDIRECT, { fields: { login: "alice", password: "x" } })).final;
    }

    async function exchange(c: string, verifier: string, resource: string) {
      return fetch(`${gateway.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code: c,
          redirect_uri: REDIRECT,
          client_id: clientId,
          code_verifier: verifier,
          resource,
        }),
      });
    }

    it("a tampered PKCE verifier gets no token; the redirect carries iss (RFC 9207)", async () => {
      const { verifier, challenge } = pkce();
      const final = await code(`${gateway.url}/mcp`, challenge);
      expect(final.searchParams.get("iss")).toBe(gateway.url);
      const bad = await exchange(final.searchParams.get("code") as string, `${verifier}x`, `${gateway.url}/mcp`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toBe("invalid_grant");
    });

    it("a redirect URI that was not registered is refused without redirecting", async () => {
      const { challenge } = pkce();
      const res = await fetch(
        `${gateway.url}/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: "https://attacker.example/cb", code_challenge: challenge, code_challenge_method: "S256", state: "x" })}`,
        { redirect: "manual" },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
    });

    it("a token for one virtual server is refused at /mcp (wrong audience); a revoked token is refused", async () => {
      const server = await fetch(`${gateway.url}/api/servers`, {
        method: "POST",
        headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "solo", backends: ["oa"] }),
      });
      expect(server.status).toBe(201);
      const { verifier, challenge } = pkce();
      const resource = `${gateway.url}/servers/solo/mcp`;
      const final = await code(resource, challenge);
      const tokens = (await (
        await exchange(final.searchParams.get("code") as string, verifier, resource)
      ).json()) as OAuthTokens;
      expect(await mcpStatus(tokens.access_token, "/servers/solo/mcp")).toBe(200);
      expect(await mcpStatus(tokens.access_token, "/mcp")).toBe(401);
      const revoke = await fetch(`${gateway.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: tokens.access_token, client_id: clientId }),
      });
      expect(revoke.status).toBe(200);
      expect(await mcpStatus(tokens.access_token, "/servers/solo/mcp")).toBe(401);
    });
  });
});

describe("an external issuer", () => {
  // A client uses the first authorization server the metadata names; this gateway trusts only the issuer.
  let external: Gateway;
  beforeAll(async () => {
    external = await startGateway({ vars: { OAUTH_ISSUERS: JSON.stringify([{ name: "mock", issuer: mock.issuer }]) } });
    const res = await fetch(`${external.url}/api/backends`, {
      method: "POST",
      headers: { authorization: `Bearer ${external.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "oa", url: backend.url }),
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await external?.stop();
  });

  it("the SDK client gets a token from the issuer and calls a tool; the token's audience is this endpoint", async () => {
    const provider = new TestClientProvider({ client_id: "external-client" });
    const client = await oauthClient("/mcp", provider, external);
    expect((provider.authUrl as URL).origin).toBe(new URL(mock.issuer).origin);
    const result = await client.callTool({ name: "oa__add", arguments: { a: 2, b: 3 } });
    expect(result.content).toEqual([{ type: "text", text: "5" }]);
    await client.close();
  });

  it("refuses the issuer's expired tokens and tokens for another resource", async () => {
    const expired = await mock.server.issuer.buildToken({
      expiresIn: -3600,
      scopesOrTransform: (_h, p) => Object.assign(p, { aud: `${gateway.url}/mcp`, scope: "mcp", sub: "x" }),
    });
    expect(await mcpStatus(expired)).toBe(401);
    const other = await mock.server.issuer.buildToken({
      scopesOrTransform: (_h, p) => Object.assign(p, { aud: "https://other.example/mcp", scope: "mcp", sub: "x" }),
    });
    expect(await mcpStatus(other)).toBe(401);
  });
});
