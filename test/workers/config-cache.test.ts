// Covers the isolate config cache: freshness, background revalidation, the 2 s staleness bound, outages.
import { describe, expect, it } from "vitest";
import { ConfigCache, type ConfigSource } from "../../src/config/cache";
import type { ConfigSnapshot } from "../../src/config/snapshot";

function snapshot(version: number): ConfigSnapshot {
  return { version, backends: new Map(), servers: new Map(), tokensByHash: new Map(), plugins: [] };
}

/** A source whose version is set by the test and which counts its calls. */
function fakeSource(initial = 1) {
  const state = { version: initial, versionCalls: 0, loadCalls: 0, fail: false };
  const source: ConfigSource = {
    version: async () => {
      state.versionCalls++;
      if (state.fail) throw new Error("D1 down");
      return state.version;
    },
    load: async () => {
      state.loadCalls++;
      if (state.fail) throw new Error("D1 down");
      return snapshot(state.version);
    },
  };
  return { source, state };
}

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe("ConfigCache", () => {
  it("loads once, then serves fresh requests with zero source calls", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    const deferred: Promise<unknown>[] = [];
    expect((await cache.get(source, (p) => deferred.push(p))).version).toBe(1);
    expect(state.loadCalls).toBe(1);
    for (let i = 0; i < 100; i++) await cache.get(source, (p) => deferred.push(p));
    expect(state.loadCalls).toBe(1);
    expect(state.versionCalls).toBe(0);
    expect(deferred).toHaveLength(0);
  });

  it("serves stale config at once and revalidates in the background", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    await cache.get(source, () => undefined);
    state.version = 2;
    t.t += 1500;
    const deferred: Promise<unknown>[] = [];
    const served = await cache.get(source, (p) => deferred.push(p));
    expect(served.version).toBe(1);
    expect(deferred).toHaveLength(1);
    // A second stale request while the check runs does not start another one (single flight).
    await cache.get(source, (p) => deferred.push(p));
    expect(deferred).toHaveLength(1);
    await Promise.all(deferred);
    expect(state.versionCalls).toBe(1);
    expect(state.loadCalls).toBe(2);
    expect((await cache.get(source, () => undefined)).version).toBe(2);
  });

  it("only checks the version when nothing changed", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    await cache.get(source, () => undefined);
    t.t += 2000;
    const deferred: Promise<unknown>[] = [];
    await cache.get(source, (p) => deferred.push(p));
    await Promise.all(deferred);
    expect(state.versionCalls).toBe(1);
    expect(state.loadCalls).toBe(1);
  });

  it("makes an idle isolate wait for the check, so a revoked token cannot slip through", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    await cache.get(source, () => undefined);
    state.version = 7;
    t.t += 60_000;
    const deferred: Promise<unknown>[] = [];
    expect((await cache.get(source, (p) => deferred.push(p))).version).toBe(7);
    expect(deferred).toHaveLength(0);
  });

  it("by default never answers from a snapshot older than 2 s (the README's revocation bound)", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    await cache.get(source, () => undefined);
    state.version = 2; // e.g. a token was revoked on another isolate
    t.t += 1_500;
    const deferred: Promise<unknown>[] = [];
    // Between 1 and 2 s: the old snapshot, with a background check.
    expect((await cache.get(source, (p) => deferred.push(p))).version).toBe(1);
    expect(deferred).toHaveLength(1);
    await Promise.all(deferred);
    expect((await cache.get(source, () => undefined)).version).toBe(2);
    // Quiet for just over 2 s: the request waits for the check instead of trusting memory.
    state.version = 3;
    t.t += 2_001;
    const waited: Promise<unknown>[] = [];
    expect((await cache.get(source, (p) => waited.push(p))).version).toBe(3);
    expect(waited).toHaveLength(0);
  });

  it("shares one load among concurrent cold callers", async () => {
    const { source, state } = fakeSource();
    const cache = new ConfigCache({ now: clock().now });
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.get(source, () => undefined)));
    expect(results.every((r) => r.version === 1)).toBe(true);
    expect(state.loadCalls).toBe(1);
  });

  it("invalidate forces the next request to check, even mid-revalidation", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    await cache.get(source, () => undefined);
    state.version = 3;
    cache.invalidate();
    expect((await cache.get(source, () => undefined)).version).toBe(3);
  });

  it("keeps serving the last good config when the source fails", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    await cache.get(source, () => undefined);
    state.fail = true;
    t.t += 60_000;
    expect((await cache.get(source, () => undefined)).version).toBe(1);
  });

  it("fails with a 503 naming the store when there is no config at all and the source fails", async () => {
    const { source, state } = fakeSource();
    state.fail = true;
    const cache = new ConfigCache({ now: clock().now });
    const err = await cache.get(source, () => undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "service_unavailable", cause: new Error("D1 down") });
  });
});
