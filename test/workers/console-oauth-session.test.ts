// Console sessions opened through OAuth: the sealed access token is checked on every read (revoked or expired grant ends the session), the session never outlives the token, and the OAuth sign-in routes are 404 without the built-in server.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, readSession } from "../../src/auth/console-session";
import { ringOf } from "../../src/auth/keys";
import type { Principal } from "../../src/auth/principal";

const alice: Principal = {
  kind: "oauth",
  subject: "oauth:login:alice",
  name: "alice",
  tokenId: null,
  scopes: ["admin"],
  servers: null,
  platformAdmin: false,
  teams: new Map([["eng", "team_admin"]]),
};
const config = { version: 1, backends: new Map(), servers: new Map(), tokensByHash: new Map(), plugins: [] };
const ACCESS = "alice:grant1:secret-access-token";

describe("OAuth console sessions", () => {
  it("resolve the caller from the sealed token on every read, and end when the grant no longer validates", async () => {
    const ring = await ringOf(["console-oauth-key"]);
    const { cookie } = await openSession(ACCESS, alice, ring);
    expect(cookie).not.toContain(ACCESS);
    const seen: string[] = [];
    let valid = true;
    const credentials = {
      adminToken: "admin-token",
      oauth: async (token: string) => {
        seen.push(token);
        return valid ? alice : null;
      },
    };
    expect(await readSession(cookie, ring, credentials, config)).toMatchObject({
      principal: { kind: "oauth", subject: "oauth:login:alice" },
    });
    expect(seen).toEqual([ACCESS]);
    valid = false; // revoked at the authorization server
    expect(await readSession(cookie, ring, credentials, config)).toBeNull();
  });

  it("end when the built-in server is no longer configured, or the token lost the admin scope", async () => {
    const ring = await ringOf(["console-oauth-key"]);
    const { cookie } = await openSession(ACCESS, alice, ring);
    expect(await readSession(cookie, ring, { adminToken: "admin-token" }, config)).toBeNull();
    const mcpOnly = { ...alice, scopes: ["mcp" as const] };
    expect(await readSession(cookie, ring, { adminToken: undefined, oauth: async () => mcpOnly }, config)).toBeNull();
  });

  it("never outlive the access token they hold", async () => {
    const ring = await ringOf(["console-oauth-key"]);
    const now = Date.now();
    const { cookie, session } = await openSession(ACCESS, alice, ring, now, now + 3600_000);
    expect(session.expiresAt).toBe(now + 3600_000);
    const credentials = { adminToken: undefined, oauth: async () => alice };
    expect(await readSession(cookie, ring, credentials, config, now + 3599_000)).not.toBeNull();
    expect(await readSession(cookie, ring, credentials, config, now + 3600_000)).toBeNull();
  });

  it("the OAuth sign-in routes are 404 and the sign-in page offers only tokens without the built-in server", async () => {
    for (const path of ["/admin/login/oauth", "/admin/login/callback?code=x&state=y"]) {
      expect((await exports.default.fetch(`http://gateway.test${path}`)).status).toBe(404);
    }
    const page = await (await exports.default.fetch("http://gateway.test/admin/login")).text();
    expect(page).toContain('action="/admin/login"');
    expect(page).not.toContain("/admin/login/oauth");
  });
});
