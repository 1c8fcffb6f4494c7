// Covers upstream OAuth inside workerd: consent state sealing and forgery, the consent pages' bad input (4xx, never 5xx), backend auth settings in the admin API, the connections API, and the token object's binding, one-time states and sealing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyRing, ringOf } from "../../src/auth/keys";
import { openLink, openServerState, StateError, sealLink, sealServerState } from "../../src/auth/upstream-state";
import type { BackendConfig } from "../../src/config/snapshot";
import { upstreamTokenObject } from "../../src/stubs";
import { api, errorOf, uniqueName } from "./helpers";
import { route } from "./outbound";

const BASE = { u: "tok_alice", b: "gh", n: "0123456789abcdef0123456789abcdef" };
const VERIFIER = "v".repeat(43);

function oauthBackend(name: string, clientId = "client-a"): BackendConfig {
  return {
    name,
    url: "https://93.184.215.14/mcp",
    transport: "streamable-http",
    headers: {},
    timeoutMs: 5000,
    healthIntervalSeconds: 30,
    failureThreshold: 5,
    cooldownSeconds: 30,
    enabled: true,
    team: null,
    owner: null,
    visibility: "public",
    auth: {
      type: "oauth",
      grant: "authorization_code",
      issuer: "https://93.184.215.14",
      registration: "static",
      clientId,
      clientSecret: null,
      scopes: [],
      resource: "https://93.184.215.14/mcp",
    },
  };
}

describe("consent states", () => {
  it("round-trips a link and a server state, each only as its own kind", async () => {
    const ring = await ringOf(["k1"]);
    const e = Date.now() + 60_000;
    const link = await sealLink({ ...BASE, e }, ring);
    const server = await sealServerState({ ...BASE, e, v: VERIFIER }, ring);
    expect(await openLink(link, ring)).toEqual({ k: "link", ...BASE, e });
    expect(await openServerState(server, ring)).toEqual({ k: "as", ...BASE, e, v: VERIFIER });
    await expect(openServerState(link, ring)).rejects.toThrow(StateError);
    await expect(openLink(server, ring)).rejects.toThrow(StateError);
    expect(link).not.toContain("tok_alice");
    expect(server).not.toContain(VERIFIER);
  });

  it("refuses altered, foreign-key, expired, oversized and garbage states", async () => {
    const ring = await ringOf(["k1"]);
    const link = await sealLink({ ...BASE, e: Date.now() + 60_000 }, ring);
    const altered = `${link.slice(0, -3)}${link.endsWith("A") ? "B" : "A"}AA`;
    for (const bad of [altered, "", "v2.x.y.z", "garbage", "x".repeat(5000)]) {
      await expect(openLink(bad, ring)).rejects.toMatchObject({ reason: "malformed" });
    }
    await expect(openLink(link, await ringOf(["k2"]))).rejects.toMatchObject({ reason: "malformed" });
    const old = await sealLink({ ...BASE, e: Date.now() - 1 }, ring);
    await expect(openLink(old, ring)).rejects.toMatchObject({ reason: "expired" });
  });
});

describe("consent pages", () => {
  it("answer 400 pages to missing, forged and expired states, never 5xx", async () => {
    const ring = await keyRing(env);
    const expired = await sealLink({ ...BASE, e: Date.now() - 1000 }, ring);
    const unknownBackend = await sealLink({ ...BASE, b: uniqueName("nope"), e: Date.now() + 60_000 }, ring);
    const cases = [
      "/oauth/upstream/start",
      "/oauth/upstream/start?state=",
      "/oauth/upstream/start?state=v2.abc.def.ghi",
      `/oauth/upstream/start?state=${"%ff".repeat(50)}`,
      `/oauth/upstream/start?state=${"a".repeat(3000)}`,
      `/oauth/upstream/start?state=${encodeURIComponent(expired)}`,
      `/oauth/upstream/start?state=${encodeURIComponent(unknownBackend)}`,
      "/oauth/upstream/callback?code=x",
      "/oauth/upstream/callback?state=forged&code=x",
      `/oauth/upstream/callback?state=${encodeURIComponent(unknownBackend)}&code=x`,
    ];
    for (const path of cases) {
      const res = await api("GET", path, { token: null });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
  });

  it("refuses a POST of the confirmation form without a valid state, or from another site", async () => {
    const link = await sealLink({ ...BASE, b: uniqueName("nope"), e: Date.now() + 60_000 }, await keyRing(env));
    const form = (body: string, headers: Record<string, string> = {}) =>
      api("POST", "/oauth/upstream/start", {
        token: null,
        rawBody: body,
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      });
    for (const body of [
      "",
      "state=",
      "state=garbage",
      `state=${"a".repeat(40_000)}`,
      `state=${encodeURIComponent(link)}`,
    ]) {
      expect((await form(body)).status, body.slice(0, 40)).toBe(400);
    }
    expect((await form(`state=${encodeURIComponent(link)}`, { origin: "https://evil.example" })).status).toBe(400);
    expect((await form(`state=${encodeURIComponent(link)}`, { "sec-fetch-site": "cross-site" })).status).toBe(400);
    const json = await api("POST", "/oauth/upstream/start", { token: null, body: { state: link } });
    expect(json.status).toBe(400);
  });

  it("answers 502, not 500, when the server's metadata names an authorization endpoint that is no URL", async () => {
    const issuer = "https://93.184.215.33";
    const unroute = route(`${issuer}/.well-known/oauth-authorization-server`, () =>
      Response.json({ issuer, authorization_endpoint: "not a url", token_endpoint: `${issuer}/token` }),
    );
    try {
      const name = uniqueName("oa");
      const created = await api("POST", "/api/backends", {
        body: { name, url: "https://93.184.215.14/mcp", auth: { type: "oauth", issuer, clientId: "c" } },
      });
      expect(created.status).toBe(201);
      const link = await sealLink({ ...BASE, b: name, e: Date.now() + 60_000 }, await keyRing(env));
      const started = await api("POST", "/oauth/upstream/start", {
        token: null,
        rawBody: `state=${encodeURIComponent(link)}`,
        headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
      });
      expect(started.status).toBe(502);
      expect(started.text).toContain("authorization endpoint is not a URL");
    } finally {
      unroute();
    }
  });

  it("a declined authorization stores nothing, and its state cannot be used again", async () => {
    const name = uniqueName("oa");
    const created = await api("POST", "/api/backends", {
      body: { name, url: "https://93.184.215.14/mcp", auth: { type: "oauth", clientId: "c" } },
    });
    expect(created.status).toBe(201);
    const user = uniqueName("user");
    const state = await sealServerState(
      { u: user, b: name, n: "fedcba9876543210fedcba9876543210", e: Date.now() + 60_000, v: VERIFIER },
      await keyRing(env),
    );
    const path = `/oauth/upstream/callback?state=${encodeURIComponent(state)}&error=access_denied`;
    const declined = await api("GET", path, { token: null });
    expect(declined.status).toBe(200);
    expect(declined.text).toContain("declined");
    expect(await upstreamTokenObject(env, user).list()).toEqual([]);
    const again = await api("GET", path, { token: null });
    expect(again.status).toBe(400);
    expect(again.text).toContain("already");
  });
});

describe("backend auth settings", () => {
  it("seals the client secret, masks it, keeps it on a masked PATCH and removes auth with null", async () => {
    const name = uniqueName("oa");
    const auth = { type: "oauth", clientId: "gw", clientSecret: "s3cret-value", scopes: ["repo", "read:user"] };
    const created = await api("POST", "/api/backends", { body: { name, url: "https://93.184.215.14/mcp", auth } });
    expect(created.status).toBe(201);
    expect((created.body as { auth: unknown }).auth).toEqual({
      type: "oauth",
      grant: "authorization_code",
      issuer: null,
      registration: "static",
      clientId: "gw",
      clientSecret: "********",
      scopes: ["repo", "read:user"],
      resource: null,
    });
    expect(created.text).not.toContain("s3cret-value");
    const keys = await api("GET", "/api/keys");
    const current = (keys.body as { current: string }).current;
    expect((keys.body as { secrets: unknown[] }).secrets).toContainEqual({
      kind: "client-secret",
      name,
      keyId: current,
    });
    const kept = await api("PATCH", `/api/backends/${name}`, {
      body: { auth: { ...auth, clientSecret: "********", grant: "client_credentials" } },
    });
    expect(kept.status).toBe(200);
    expect((kept.body as { auth: { clientSecret: string; grant: string } }).auth).toMatchObject({
      clientSecret: "********",
      grant: "client_credentials",
    });
    const removed = await api("PATCH", `/api/backends/${name}`, { body: { auth: null } });
    expect((removed.body as { auth: unknown }).auth).toBeNull();
    const noSecret = await api("PATCH", `/api/backends/${name}`, {
      body: { auth: { type: "oauth", clientId: "gw", clientSecret: "********" } },
    });
    expect(noSecret.status).toBe(400);
    expect(errorOf(noSecret.body).details?.[0]?.path).toBe("auth.clientSecret");
  });

  it("refuses malformed auth settings with a 400 naming the field", async () => {
    const bad = [
      { type: "basic", clientId: "x" },
      // (`{type: "oauth"}` alone is a dynamic client: upstream-oauth-dcr.test.ts.)
      { type: "oauth", clientSecret: "x" },
      { type: "oauth", clientId: "x", scopes: ["has space"] },
      { type: "oauth", clientId: "x", issuer: "ftp://as.example" },
      { type: "oauth", clientId: "x", grant: "password" },
      { type: "oauth", clientId: "x", extra: true },
    ];
    for (const auth of bad) {
      const res = await api("POST", "/api/backends", {
        body: { name: uniqueName("bad"), url: "https://93.184.215.14/mcp", auth },
      });
      expect(res.status, JSON.stringify(auth)).toBe(400);
      expect(errorOf(res.body).details?.some((d) => d.path.startsWith("auth"))).toBe(true);
    }
  });
});

describe("connections API", () => {
  it("needs a credential, answers the caller's own (empty) list, and 404 for a connection that does not exist", async () => {
    expect((await api("GET", "/api/me/connections", { token: null })).status).toBe(401);
    expect((await api("GET", "/api/me/connections", { token: "mcpgw_wrong" })).status).toBe(401);
    const mine = await api("GET", "/api/me/connections");
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({ connections: [] });
    expect((await api("DELETE", "/api/me/connections/nothing-here")).status).toBe(404);
    expect((await api("DELETE", "/api/connections?user=tok_x&backend=nothing")).status).toBe(404);
    expect((await api("DELETE", "/api/connections?user=tok_x")).status).toBe(400);
    expect((await api("GET", `/api/connections?user=${"u".repeat(600)}`)).status).toBe(400);
  });

  it("lets an mcp-only token see its own connections but not the admin listing", async () => {
    const created = await api("POST", "/api/tokens", { body: { name: uniqueName("u"), scopes: ["mcp"] } });
    const { token } = created.body as { token: string };
    expect((await api("GET", "/api/me/connections", { token })).status).toBe(200);
    expect((await api("GET", "/api/connections", { token })).status).toBe(403);
  });
});

describe("UpstreamTokenDO", () => {
  it("hands back a stored token only to the client and resource it was issued for", async () => {
    const user = uniqueName("user");
    const stub = upstreamTokenObject(env, user);
    const backend = oauthBackend("gh");
    await stub.store(backend, { accessToken: "at-1", refreshToken: "rt-1", expiresAt: Date.now() + 3_600_000 });
    expect(await stub.token(backend)).toMatchObject({ ok: true, accessToken: "at-1" });
    const listed = await stub.list();
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toMatch(/at-1|rt-1/);
    const ring = await keyRing(env);
    expect(await stub.keys()).toEqual([{ backend: "gh", keyId: ring.current.id }]);
    expect(await stub.reseal()).toEqual({ resealed: [], current: 1, unreadable: [] });
    // Another client id for the same backend name: the token is dropped, never sent.
    expect(await stub.token(oauthBackend("gh", "client-b"))).toMatchObject({ ok: false, reason: "none" });
    expect(await stub.list()).toEqual([]);
  });

  it("drops an expired token that has no refresh token, and revokes on request", async () => {
    const stub = upstreamTokenObject(env, uniqueName("user"));
    const backend = oauthBackend("gl");
    await stub.store(backend, { accessToken: "short", expiresAt: Date.now() - 1 });
    expect(await stub.token(backend)).toMatchObject({ ok: false, reason: "none" });
    await stub.store(backend, { accessToken: "long", expiresAt: null });
    expect(await stub.revoke("gl")).toBe(true);
    expect(await stub.revoke("gl")).toBe(false);
    expect(await stub.token(backend)).toMatchObject({ ok: false, reason: "none" });
  });

  it("marks a consent nonce used once", async () => {
    const stub = upstreamTokenObject(env, uniqueName("user"));
    const exp = Date.now() + 60_000;
    expect(await stub.consumeState("n".repeat(32), exp)).toBe(true);
    expect(await stub.consumeState("n".repeat(32), exp)).toBe(false);
    expect(await stub.consumeState("m".repeat(32), exp)).toBe(true);
  });
});
