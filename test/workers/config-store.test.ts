import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigCache } from "../../src/config/cache";
import { d1ConfigSource } from "../../src/config/d1-source";
import { readVersion } from "../../src/config/db";
import { api, createBackend, uniqueName } from "./helpers";

describe("config store in D1", () => {
  it("has every table after migrations", async () => {
    const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{
      name: string;
    }>();
    expect(results.map((r) => r.name)).toEqual(
      expect.arrayContaining(["backends", "servers", "api_tokens", "plugins", "config_meta"]),
    );
  });

  it("bumps the config version on every successful write, and not on a failed one", async () => {
    const v0 = await readVersion(env.DB);
    const name = await createBackend();
    const v1 = await readVersion(env.DB);
    expect(v1).toBe(v0 + 1);
    await api("PATCH", `/api/backends/${name}`, { body: { enabled: false } });
    const v2 = await readVersion(env.DB);
    expect(v2).toBe(v1 + 1);
    // A conflicting insert writes nothing and bumps nothing.
    expect((await api("POST", "/api/backends", { body: { name, url: "https://93.184.215.14/" } })).status).toBe(409);
    expect(await readVersion(env.DB)).toBe(v2);
    await api("DELETE", `/api/backends/${name}`);
    expect(await readVersion(env.DB)).toBe(v2 + 1);
  });

  it("loads a snapshot with decrypted headers and token hashes", async () => {
    const name = await createBackend({ headers: { "X-Key": "s3cret" }, timeoutMs: 4321 });
    const snap = await d1ConfigSource(env).load();
    expect(snap.version).toBe(await readVersion(env.DB));
    expect(snap.backends.get(name)).toMatchObject({ headers: { "X-Key": "s3cret" }, timeoutMs: 4321, enabled: true });
  });

  it("an edit made by another isolate becomes visible once the freshness window passes", async () => {
    // A cache as another isolate would hold it, with a clock the test controls.
    const t = { now: 0 };
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: () => t.now });
    const source = d1ConfigSource(env);
    const before = await cache.get(source, () => undefined);
    const name = await createBackend();
    expect((await cache.get(source, () => undefined)).backends.has(name)).toBe(false);

    t.now += 1500;
    const pending: Promise<unknown>[] = [];
    await cache.get(source, (p) => pending.push(p));
    await Promise.all(pending);
    const after = await cache.get(source, () => undefined);
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.backends.has(name)).toBe(true);
  });

  it("the writing isolate sees its own write on the next request", async () => {
    const server = uniqueName("vs");
    const token = await api("POST", "/api/tokens", { body: { name: uniqueName("t"), scopes: ["admin"] } });
    const secret = (token.body as { token: string }).token;
    // The new token authenticates at once, through the same isolate's cache.
    expect((await api("POST", "/api/servers", { body: { name: server }, token: secret })).status).toBe(201);
  });
});
