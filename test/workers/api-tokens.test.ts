import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, errorOf, uniqueName } from "./helpers";

describe("/api/tokens", () => {
  it("returns the secret once, stores only its hash, and lists without secrets", async () => {
    const name = uniqueName("ci");
    const created = await api("POST", "/api/tokens", { body: { name, scopes: ["mcp", "admin"] } });
    expect(created.status).toBe(201);
    const token = created.body as { id: string; token: string; tokenPrefix: string; scopes: string[] };
    expect(token.token).toMatch(/^mcpgw_[A-Za-z0-9_-]{43}$/);
    expect(token.token.startsWith(token.tokenPrefix)).toBe(true);
    expect(token.scopes).toEqual(["mcp", "admin"]);

    const row = await env.DB.prepare("SELECT * FROM api_tokens WHERE id = ?").bind(token.id).first();
    expect(JSON.stringify(row)).not.toContain(token.token);

    const list = await api("GET", "/api/tokens");
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(token.token);
    const listed = (list.body as Array<Record<string, unknown>>).find((t) => t.id === token.id);
    expect(listed).toMatchObject({ name, scopes: ["mcp", "admin"], servers: null });
    expect(listed).not.toHaveProperty("token");
  });

  it("limits a token to existing servers only", async () => {
    const bad = await api("POST", "/api/tokens", {
      body: { name: uniqueName("x"), scopes: ["mcp"], servers: ["nope"] },
    });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).details).toEqual([{ path: "servers.0", message: "unknown server 'nope'" }]);

    const server = uniqueName("s");
    await api("POST", "/api/servers", { body: { name: server } });
    const ok = await api("POST", "/api/tokens", {
      body: { name: uniqueName("x"), scopes: ["mcp"], servers: [server] },
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ servers: [server] });
  });

  it("rejects an expired token at authentication", async () => {
    const name = uniqueName("exp");
    const created = await api("POST", "/api/tokens", {
      body: { name, scopes: ["admin"], expiresAt: new Date(Date.now() + 60_000).toISOString() },
    });
    expect(created.status).toBe(201);
    const { id, token } = created.body as { id: string; token: string };
    expect((await api("GET", "/api/tokens", { token })).status).toBe(200);
    // Move the expiry into the past in D1, as if the time had passed, and bump the config version.
    await env.DB.batch([
      env.DB.prepare("UPDATE api_tokens SET expires_at = ? WHERE id = ?").bind("2000-01-01T00:00:00.000Z", id),
      env.DB.prepare("UPDATE config_meta SET version = version + 1 WHERE id = 1"),
    ]);
    const { configCache } = await import("../../src/config/middleware");
    configCache.invalidate();
    expect((await api("GET", "/api/tokens", { token })).status).toBe(401);
  });

  it.each([
    [{ name: "no-scopes", scopes: [] }, "scopes"],
    [{ name: "bad-scope", scopes: ["root"] }, "scopes.0"],
    [{ name: "dup", scopes: ["mcp", "mcp"] }, "scopes"],
    [{ name: "has space", scopes: ["mcp"] }, "name"],
    [{ name: "past", scopes: ["mcp"], expiresAt: "2001-01-01T00:00:00Z" }, "expiresAt"],
    [{ scopes: ["mcp"] }, "name"],
  ])("400 for %j", async (body, path) => {
    const res = await api("POST", "/api/tokens", { body });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details?.map((d) => d.path)).toContain(path);
  });

  it("409 on a duplicate token name", async () => {
    const name = uniqueName("dup");
    expect((await api("POST", "/api/tokens", { body: { name, scopes: ["mcp"] } })).status).toBe(201);
    const res = await api("POST", "/api/tokens", { body: { name, scopes: ["admin"] } });
    expect(res.status).toBe(409);
  });

  it("404 when revoking an unknown token", async () => {
    const res = await api("DELETE", "/api/tokens/tok_missing");
    expect(res.status).toBe(404);
  });
});
