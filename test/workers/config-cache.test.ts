// The isolate config cache: fresh, stale and idle reads, the 2 s staleness bound, single flight, invalidation races, read counters.
import { describe, expect, it, vi } from "vitest";
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
    // A failure, not a timeout: nothing was changed, so the client may simply retry.
    expect((err as Error).message).toMatch(/unavailable; nothing was changed/);
  });

  it("checks the store itself once after a local write (read-your-writes), then its cache again", async () => {
    const store = fakeSource(1);
    const shard = fakeSource(1);
    const source: ConfigSource = { ...shard.source, direct: store.source };
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, now: t.now });
    await cache.get(source, () => undefined);
    expect([shard.state.loadCalls, store.state.versionCalls]).toEqual([1, 0]);
    store.state.version = 2;
    cache.invalidate();
    expect((await cache.get(source, () => undefined)).version).toBe(2);
    expect([store.state.versionCalls, store.state.loadCalls]).toEqual([1, 1]);
    // The next check (stale, in the background) goes to the shard again.
    t.t += 1500;
    const deferred: Promise<unknown>[] = [];
    await cache.get(source, (p) => deferred.push(p));
    await Promise.all(deferred);
    expect(store.state.versionCalls).toBe(1);
    expect(shard.state.versionCalls).toBe(1);
  });

  it("backs off after a failed check, but not for a check that a write made obsolete", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, retryMs: 5000, now: t.now });
    await cache.get(source, () => undefined);
    // A failed background check: requests in the next retryMs serve without checking again.
    state.fail = true;
    t.t += 1500;
    const deferred: Promise<unknown>[] = [];
    await cache.get(source, (p) => deferred.push(p));
    await Promise.all(deferred);
    const afterFailure = state.versionCalls;
    t.t += 100;
    await cache.get(source, (p) => deferred.push(p));
    expect(state.versionCalls).toBe(afterFailure);

    // A check that started before a write and fails after it does not hold back the checks after the write.
    const fresh = fakeSource();
    let failOld: () => void = () => undefined;
    const failing: ConfigSource = {
      version: () =>
        new Promise<number>((_, reject) => {
          failOld = () => reject(new Error("D1 down"));
        }),
      load: fresh.source.load,
    };
    const cache2 = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, retryMs: 5000, now: t.now });
    await cache2.get(fresh.source, () => undefined);
    t.t += 1500;
    const old: Promise<unknown>[] = [];
    await cache2.get(failing, (p) => old.push(p));
    cache2.invalidate();
    expect((await cache2.get(fresh.source, () => undefined)).version).toBe(1);
    failOld();
    await Promise.all(old);
    t.t += 1500;
    const calls = fresh.state.versionCalls;
    const later: Promise<unknown>[] = [];
    await cache2.get(fresh.source, (p) => later.push(p));
    await Promise.all(later);
    expect(fresh.state.versionCalls).toBe(calls + 1);
  });

  it("defaults to 1 s fresh and 10 s stale, and the boundaries belong to the next state", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    expect(cache.version).toBeUndefined();
    await cache.get(source, () => undefined);
    expect(cache.version).toBe(1);
    const deferred: Promise<unknown>[] = [];
    t.t += 999;
    await cache.get(source, (p) => deferred.push(p));
    expect(deferred).toHaveLength(0);
    t.t += 1; // exactly 1 s: stale, served at once, checked in the background
    await cache.get(source, (p) => deferred.push(p));
    expect(deferred).toHaveLength(1);
    await Promise.all(deferred);
    expect(state.versionCalls).toBe(1);
    t.t += 10_000; // exactly 10 s after that check: the request waits for a check
    await cache.get(source, (p) => deferred.push(p));
    expect(deferred).toHaveLength(1);
    expect(state.versionCalls).toBe(2);
  });

  it("a check that found nothing new keeps the cache fresh", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    await cache.get(source, () => undefined);
    t.t += 1500;
    const deferred: Promise<unknown>[] = [];
    await cache.get(source, (p) => deferred.push(p));
    await Promise.all(deferred);
    await cache.get(source, (p) => deferred.push(p));
    expect(deferred).toHaveLength(1);
    expect(state.versionCalls).toBe(1);
  });

  it("counts its reads: one load to start, then version checks, and loads only on change", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    await cache.get(source, () => undefined);
    expect(cache.reads).toEqual({ version: 0, load: 1 });
    t.t += 20_000;
    await cache.get(source, () => undefined);
    expect(cache.reads).toEqual({ version: 1, load: 1 });
    state.version = 2;
    t.t += 20_000;
    await cache.get(source, () => undefined);
    expect(cache.reads).toEqual({ version: 2, load: 2 });
  });

  it("a check that started before invalidate does not mark the cache fresh", async () => {
    const { source, state } = fakeSource();
    const gate = gated(source);
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    await cache.get(source, () => undefined);
    t.t += 1500;
    gate.hold = true;
    const deferred: Promise<unknown>[] = [];
    await cache.get(gate.source, (p) => deferred.push(p)); // background check: reads version 1, answer held
    state.version = 3;
    cache.invalidate(); // a local write
    gate.release();
    await Promise.all(deferred);
    expect((await cache.get(source, () => undefined)).version).toBe(3);
  });

  it("an older load finishing last never replaces a newer snapshot, nor ends the newer check", async () => {
    const { source, state } = fakeSource();
    const slow = gated(source);
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    await cache.get(source, () => undefined);
    state.version = 2;
    cache.invalidate();
    slow.hold = true;
    const older = cache.get(slow.source, () => undefined); // waits, held at version()
    state.version = 3;
    cache.invalidate();
    const fast = gated(source);
    fast.hold = true;
    const newer = cache.get(fast.source, () => undefined); // waits, held at version()
    slow.release(); // the older check (it read version 2) loads, and ends first
    await older;
    // The newer check is still in flight: a waiting request joins it instead of starting one.
    const calls = state.versionCalls;
    const joined = cache.get(source, () => undefined);
    fast.release();
    expect((await newer).version).toBe(3);
    expect((await joined).version).toBe(3);
    expect(state.versionCalls).toBe(calls);
  });

  it("keeps the newer snapshot when a slower load of an older version finishes last", async () => {
    const { source, state } = fakeSource();
    const t = clock();
    const cache = new ConfigCache({ now: t.now });
    await cache.get(source, () => undefined);
    let releaseOld: (() => void) | undefined;
    const slowSource: ConfigSource = {
      version: async () => 2,
      load: async () => {
        await new Promise<void>((resolve) => {
          releaseOld = resolve;
        });
        return snapshot(2);
      },
    };
    cache.invalidate();
    const older = cache.get(slowSource, () => undefined);
    await vi.waitFor(() => expect(releaseOld).toBeDefined());
    state.version = 3;
    cache.invalidate();
    expect((await cache.get(source, () => undefined)).version).toBe(3);
    releaseOld?.();
    expect((await older).version).toBe(3);
    expect(cache.version).toBe(3);
  });
});

/** Wraps a source so its calls can be held until `release()`. */
function gated(inner: ConfigSource) {
  let open: () => void = () => undefined;
  let opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const gate = {
    hold: false,
    release() {
      gate.hold = false;
      open();
      opened = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    source: {
      // The version is read when asked; only its answer is held (a slow round trip).
      version: async () => {
        const version = await inner.version();
        if (gate.hold) await opened;
        return version;
      },
      load: () => inner.load(),
    } as ConfigSource,
  };
  return gate;
}
