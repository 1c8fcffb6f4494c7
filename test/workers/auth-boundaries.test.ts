// Who a credential is (API token principals, the MCP scope and server limits, the kinds of bearer credential) and what the admin API tells a caller it refuses.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { credentialOf, tokenPrincipal } from "../../src/auth/authenticate";
import { authenticateCaller } from "../../src/auth/caller";
import { canUseMcp, type Principal } from "../../src/auth/principal";
import type { ConfigSnapshot, TokenConfig } from "../../src/config/snapshot";
import { api, errorOf, uniqueName } from "./helpers";
import { startIdp } from "./idp";

const config = (members?: ConfigSnapshot["members"]): ConfigSnapshot => ({
  version: 1,
  backends: new Map(),
  servers: new Map(),
  tokensByHash: new Map(),
  plugins: [],
  ...(members && { members }),
});

const apiToken = (extra: Partial<TokenConfig>): TokenConfig => ({
  id: "tok_1",
  name: "ci",
  scopes: ["mcp"],
  servers: null,
  expiresAt: null,
  ...extra,
});

describe("an API token's principal", () => {
  it("is a developer of its team when it names no role", () => {
    expect([...tokenPrincipal(apiToken({ team: "eng" }), config()).teams]).toEqual([["eng", "developer"]]);
  });

  it("adds the token's explicit memberships", () => {
    const members = new Map([["tok_1", new Map([["ops", "viewer" as const]])]]);
    const p = tokenPrincipal(apiToken({ team: "eng", role: "team_admin" }), config(members));
    expect(Object.fromEntries(p.teams)).toEqual({ ops: "viewer", eng: "team_admin" });
  });

  it("is a platform admin, not a team member, when its role is platform_admin", () => {
    const p = tokenPrincipal(apiToken({ team: "eng", role: "platform_admin", scopes: ["admin"] }), config());
    expect(p.platformAdmin).toBe(true);
    expect(p.teams.size).toBe(0);
  });

  it("joins no team when it has a role but no team", () => {
    expect(tokenPrincipal(apiToken({ team: null, role: "developer" }), config()).teams.size).toBe(0);
  });
});

describe("the MCP scope and server limits", () => {
  const p = (extra: Partial<Principal>): Principal => ({
    ...tokenPrincipal(apiToken({}), config()),
    ...extra,
  });

  it("limits a token to its servers, and keeps it off the /mcp aggregate", () => {
    const limited = p({ servers: ["a"] });
    expect(canUseMcp(limited, "a")).toBe(true);
    expect(canUseMcp(limited, "b")).toBe(false);
    expect(canUseMcp(limited, null)).toBe(false);
    expect(canUseMcp(p({}), "b")).toBe(true);
    expect(canUseMcp(p({}), null)).toBe(true);
    expect(canUseMcp(p({ scopes: ["admin"] }), "a")).toBe(false);
  });
});

describe("kinds of bearer credential", () => {
  const resource = "http://gateway.test/mcp";
  const origin = "http://gateway.test";
  // Shaped like a JWT (three base64url parts), signed by nobody.
  const jwtShaped = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

  it("names why a credential was refused, by kind", async () => {
    const e = { ...env, ADMIN_TOKEN: "test-admin-token" };
    expect(await authenticateCaller("nothing-known", e, config(), resource, origin)).toEqual({
      failure: "unknown-token",
    });
    const jwt = await authenticateCaller(jwtShaped, e, config(), resource, origin);
    expect(jwt).toEqual({ failure: expect.stringMatching(/^jwt:./) });
    expect(await authenticateCaller("grant:abc:def", e, config(), resource, origin)).toEqual({
      failure: "oauth:invalid",
    });
  });

  it("accepts a trusted issuer's JWT for this resource, but not one without a subject", async () => {
    const idp = await startIdp("https://idp.test", { jwksPath: "/jwks" });
    try {
      const e = { ...env, ADMIN_TOKEN: "test-admin-token" };
      const good = await authenticateCaller(await idp.sign({ aud: resource }), e, config(), resource, origin);
      expect(good).toMatchObject({ principal: { subject: "oauth:idp:alice" } });
      const anonymous = await idp.sign({ aud: resource, sub: "" });
      expect(await authenticateCaller(anonymous, e, config(), resource, origin)).toEqual({
        failure: "jwt:no-subject",
      });
    } finally {
      idp.close();
    }
  });

  it("does not treat a JWT as one when no issuer is trusted", async () => {
    const e = { ...env, ADMIN_TOKEN: "test-admin-token", OAUTH_ISSUERS: undefined };
    expect(await authenticateCaller(jwtShaped, e, config(), resource, origin)).toEqual({ failure: "unknown-token" });
  });
});

describe("what the admin API says when it refuses", () => {
  it("challenges with the admin scope, and says whether the token was invalid or lacked the scope", async () => {
    const none = await api("GET", "/api/backends", { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain('scope="admin"');
    expect(none.headers.get("www-authenticate")).not.toContain("error=");
    const wrong = await api("GET", "/api/backends", { token: "not-a-token" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const created = await api("POST", "/api/tokens", { body: { name: uniqueName("mcp"), scopes: ["mcp"] } });
    expect(created.status, created.text).toBe(201);
    const mcpOnly = await api("GET", "/api/backends", { token: (created.body as { token: string }).token });
    expect(mcpOnly.status).toBe(403);
    expect(mcpOnly.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  it("tells a console whose session ended to sign in again", async () => {
    const res = await api("GET", "/api/backends", {
      token: null,
      headers: { cookie: "__Host-mcpgw-console=expired" },
    });
    expect(res.status).toBe(401);
    expect(errorOf(res.body)).toMatchObject({
      code: "unauthorized",
      message: "The console session has ended; sign in again",
    });
  });

  it("keeps /metrics to platform admins", async () => {
    const team = uniqueName("mt");
    expect((await api("POST", "/api/teams", { body: { name: team } })).status).toBe(201);
    const created = await api("POST", "/api/tokens", {
      body: { name: uniqueName("ta"), scopes: ["mcp", "admin"], team, role: "team_admin" },
    });
    expect(created.status, created.text).toBe(201);
    const res = await api("GET", "/metrics", { token: (created.body as { token: string }).token });
    expect(res.status).toBe(403);
    expect(errorOf(res.body)).toMatchObject({ code: "forbidden", message: "Only platform admins may use this route" });
    expect((await api("GET", "/metrics")).status).toBe(200);
  });
});

describe("the caller's credential on the MCP path", () => {
  it("is the presented bearer secret, and absent (not empty) when none was presented", () => {
    expect(credentialOf("Bearer eyJ.a.b")).toEqual({ credential: "eyJ.a.b" });
    for (const header of [undefined, "", "Basic dXNlcjpwYXNz", "Bearer"]) expect(credentialOf(header)).toEqual({});
  });
});
