// Admin console sessions: sign-in, the sealed HttpOnly cookie, CSRF and Origin checks on writes, session end on credential change, security headers.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, readSession, SESSION_COOKIE } from "../../src/auth/console-session";
import { ringOf } from "../../src/auth/keys";
import { ADMIN_PRINCIPAL } from "../../src/auth/principal";
import { seal } from "../../src/auth/seal";
import { shellPage } from "../../src/console/pages";
import { fetchWith } from "./faults";
import { ADMIN, api, uniqueName } from "./helpers";

const ORIGIN = "http://gateway.test";

async function raw(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}${path}`, { redirect: "manual", ...init });
}

/** Signs in with `token` through the form; returns the answer. */
function signIn(token: string, origin: string | null = ORIGIN): Promise<Response> {
  return raw("/admin/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(origin !== null && { origin }) },
    body: new URLSearchParams({ token }).toString(),
  });
}

/** A signed-in session: the cookie header and the CSRF token the console page carries. */
async function session(token = ADMIN): Promise<{ cookie: string; csrf: string }> {
  const res = await signIn(token);
  expect(res.status).toBe(303);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const page = await (await raw("/admin/backends", { headers: { cookie } })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? "";
  expect(csrf).not.toBe("");
  return { cookie, csrf };
}

describe("console sign-in", () => {
  it("sets a sealed __Host- cookie, HttpOnly, Secure, SameSite=Strict, 8 hours, holding no token", async () => {
    const res = await signIn(ADMIN);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=v2\\.`));
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    expect(cookie).toContain("Max-Age=28800");
    expect(cookie).not.toContain(ADMIN);
  });

  it("refuses a wrong token, an MCP-only token, and a sign-in from another site", async () => {
    const wrong = await signIn("not-the-token");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain("That token is not valid");
    const mcp = (await api("POST", "/api/tokens", { body: { name: uniqueName("mcp"), scopes: ["mcp"] } })).body as {
      token: string;
    };
    expect((await signIn(mcp.token)).status).toBe(401);
    expect((await signIn(ADMIN, "https://evil.example")).status).toBe(403);
    expect((await signIn(ADMIN, null)).status).toBe(403);
  });

  it("sends pages to the sign-in page without a valid session, and clears a forged cookie", async () => {
    const slash = await raw("/admin/");
    expect([slash.status, slash.headers.get("location")]).toEqual([301, "/admin"]);
    const none = await raw("/admin/tokens");
    expect(none.status).toBe(303);
    expect(none.headers.get("location")).toBe("/admin/login");
    const forged = await raw("/admin", { headers: { cookie: `${SESSION_COOKIE}=v2.abc.def.ghi` } });
    expect(forged.headers.get("location")).toBe("/admin/login");
    expect(forged.headers.get("set-cookie")).toContain("Max-Age=0");
  });
});

describe("console pages", () => {
  it("carry a CSP without unsafe-inline, load only external scripts, and forbid framing", async () => {
    const { cookie } = await session();
    for (const path of ["/admin", "/admin/login", "/admin/plugins"]) {
      const res = await raw(path, { headers: path.endsWith("login") ? {} : { cookie } });
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\son[a-z]+=/);
      expect(html).not.toContain(ADMIN);
    }
  });

  it("escape what they show", async () => {
    // Token names are restricted to [\w.@-]; the shell escapes whatever it is given all the same.
    const name = `x"><script>alert(1)</script>`;
    const html = String(await shellPage("", name, "c"));
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&lt;script&gt;");
  });
});

describe("the admin API with a console session", () => {
  it("reads with the cookie alone; writes need the session's CSRF token and this origin", async () => {
    const { cookie, csrf } = await session();
    expect((await raw("/api/backends", { headers: { cookie } })).status).toBe(200);
    const write = (headers: Record<string, string>) =>
      raw("/api/servers", {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: uniqueName("cs") }),
      });
    const refused = await write({});
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      error: { code: "forbidden", message: "Cross-site request refused (CSRF check failed)" },
    });
    expect((await write({ "x-csrf-token": "wrong" })).status).toBe(403);
    expect((await write({ "x-csrf-token": csrf, origin: "https://evil.example" })).status).toBe(403);
    expect((await write({ "x-csrf-token": csrf, "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await write({ "x-csrf-token": csrf, origin: ORIGIN, "sec-fetch-site": "same-origin" })).status).toBe(201);
    // Another session's CSRF token does not fit this one.
    const other = await session();
    expect((await write({ "x-csrf-token": other.csrf })).status).toBe(403);
  });

  it("ends a token's session when the token is revoked", async () => {
    const created = (await api("POST", "/api/tokens", { body: { name: uniqueName("ops"), scopes: ["admin"] } }))
      .body as { id: string; token: string };
    const { cookie } = await session(created.token);
    const page = await (await raw("/admin", { headers: { cookie } })).text();
    expect(page).toContain("(API token)");
    expect((await raw("/api/backends", { headers: { cookie } })).status).toBe(200);
    expect((await api("DELETE", `/api/tokens/${created.id}`)).status).toBe(204);
    expect((await raw("/api/backends", { headers: { cookie } })).status).toBe(401);
    expect((await raw("/admin", { headers: { cookie } })).headers.get("location")).toBe("/admin/login");
  });

  it("ends admin sessions when ADMIN_TOKEN changes (the cookie is bound to its hash)", async () => {
    // With ENCRYPTION_KEY set, the ring does not change with ADMIN_TOKEN: only the binding can end the session.
    const keys = { ENCRYPTION_KEY: "console-test-key" };
    const ring = await ringOf([keys.ENCRYPTION_KEY]);
    const { cookie: sealed } = await openSession(ADMIN, ADMIN_PRINCIPAL, ring);
    const cookie = `${SESSION_COOKIE}=${sealed}`;
    const same = await fetchWith(keys, "GET", "/api/backends", { headers: { cookie, authorization: "" } });
    expect(same.status).toBe(200);
    const changed = await fetchWith({ ...keys, ADMIN_TOKEN: "a-new-admin-token" }, "GET", "/api/backends", {
      headers: { cookie, authorization: "" },
    });
    expect(changed.status).toBe(401);
  });

  it("refuses expired sessions and values sealed for another purpose", async () => {
    const ring = await ringOf([String(env.ADMIN_TOKEN)]);
    const config = { version: 1, backends: new Map(), servers: new Map(), tokensByHash: new Map(), plugins: [] };
    const past = Date.now() - 9 * 3600_000;
    const old = await openSession(ADMIN, ADMIN_PRINCIPAL, ring, past);
    expect(await readSession(old.cookie, ring, { adminToken: ADMIN }, config)).toBeNull();
    const fresh = await openSession(ADMIN, ADMIN_PRINCIPAL, ring);
    expect(await readSession(fresh.cookie, ring, { adminToken: ADMIN }, config)).toMatchObject({
      principal: { kind: "admin" },
    });
    const otherPurpose = await seal({ v: 1, k: "admin", h: "x", csrf: "c", exp: Date.now() + 1e6 }, ring, "session");
    expect(await readSession(otherPurpose, ring, { adminToken: ADMIN }, config)).toBeNull();
    expect(await readSession("x".repeat(5000), ring, { adminToken: ADMIN }, config)).toBeNull();
  });

  it("signs out: the cookie is cleared, and only with the CSRF token", async () => {
    const { cookie, csrf } = await session();
    expect((await raw("/admin/logout", { method: "POST", headers: { cookie } })).status).toBe(403);
    const out = await raw("/admin/logout", { method: "POST", headers: { cookie, "x-csrf-token": csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`));
  });

  it("serves the embedded client with its content type, an ETag and the security headers", async () => {
    const app = await raw("/admin/assets/app.js");
    expect(app.status).toBe(200);
    expect(app.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(app.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await app.text()).toContain('from "./pages/backends.js"');
    const etag = app.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect((await raw("/admin/assets/app.js", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await raw("/admin/assets/pages/tokens.js")).status).toBe(200);
    expect((await raw("/admin/assets/console.css")).headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("answers 404 for asset paths outside the console's files", async () => {
    for (const path of ["/admin/assets/../wrangler.toml", "/admin/assets/%2e%2e/package.json", "/admin/assets/x.exe"]) {
      expect((await raw(path)).status).toBe(404);
    }
  });
});
