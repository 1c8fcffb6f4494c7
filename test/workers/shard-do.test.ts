// ShardDO (issue 20): breaker copies read at most once a second, merged reports forwarded, the trial single-flight, the config version, snapshots and the isolate estimate.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { breakerSettings } from "../../src/backends/breaker";
import { readVersion } from "../../src/config/db";
import type { ConfigSnapshot } from "../../src/config/snapshot";
import { estimateIsolates, SHARD_COUNT, SHARD_MAX_AGE_MS } from "../../src/util/shard-policy";
import { sleep } from "../../src/util/time";
import { backend, direct, fail } from "./breaker-helpers";
import { uniqueName } from "./helpers";

const shard = (name = uniqueName("shard")) => env.SHARD.get(env.SHARD.idFromName(name));
/** A config write's version bump (the row exists after the first). */
const bump = () =>
  env.DB.prepare(
    "INSERT INTO config_meta (id, version, updated_at) VALUES (1, 1, '') ON CONFLICT (id) DO UPDATE SET version = version + 1",
  ).run();

describe("ShardDO breaker copies", () => {
  it("answers from its copy for a second, then reads the backend's object again", async () => {
    const b = backend();
    const s = shard();
    expect(await s.breakerState(b.name)).toMatchObject({ state: "closed" });
    await fail(b, 3); // opened behind the shard's back
    expect(await s.breakerState(b.name)).toMatchObject({ state: "closed" }); // the copy, not a read
    await sleep(SHARD_MAX_AGE_MS + 50);
    expect(await s.breakerState(b.name)).toMatchObject({ state: "open", retryAt: expect.any(Number) });
  });

  it("a changed backend (another key) starts over with a fresh read", async () => {
    const b = backend();
    const s = shard();
    expect(await s.breakerState(b.name, "old-url")).toMatchObject({ state: "closed" });
    await fail(b, 3);
    expect(await s.breakerState(b.name, "new-url")).toMatchObject({ state: "open" });
  });

  it("forwards a batch that may trip at once, merges the rest, and drops failures once it knows the breaker is open", async () => {
    const b = backend({ failureThreshold: 3 });
    const s = shard();
    const settings = breakerSettings(b);
    const one = { successes: 0, failures: 1, trailingFailures: 1 };
    await s.report(b.name, settings, { batch: one }); // first after a quiet time: forwarded at once
    expect(await direct(b).breakerState()).toMatchObject({ consecutiveFailures: 1 });
    await s.report(b.name, settings, { batch: one }); // 1 + 1 < 3: held for SHARD_FORWARD_MS
    expect(await direct(b).breakerState()).toMatchObject({ consecutiveFailures: 1 });
    const answer = await s.report(b.name, settings, { batch: one }); // 1 + 2 = 3: may trip, sent with the held one
    expect(answer).toMatchObject({ state: "open" });
    expect(await direct(b).breakerState()).toMatchObject({ state: "open", consecutiveFailures: 3 });
    await s.report(b.name, settings, { batch: one });
    await sleep(1_100);
    expect(await direct(b).breakerState()).toMatchObject({ consecutiveFailures: 3 });
  });

  it("of the isolates asking for the trial together, exactly one gets it", async () => {
    const b = backend({ cooldownSeconds: 1 });
    const s = shard();
    await fail(b, 3);
    await sleep(1_050); // the cooldown is over
    const answers = await Promise.all(Array.from({ length: 5 }, () => s.tryAcquireTrial(b.name, 10_000)));
    expect(answers.filter((a) => a.trial)).toHaveLength(1);
    expect(answers.filter((a) => a.admitted)).toHaveLength(1);
    // Known to be under way: answered from memory, refused.
    expect(await s.tryAcquireTrial(b.name, 10_000)).toMatchObject({ admitted: false, state: "half-open" });
    // The trial's outcome goes straight to the object and closes the breaker.
    const closed = await s.report(b.name, breakerSettings(b), { trial: "success" });
    expect(closed).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed" });
  });
});

describe("ShardDO config", () => {
  it("answers D1's version, read at most once a second", async () => {
    const s = shard();
    const before = await readVersion(env.DB);
    expect((await s.configVersion("iso-a")).version).toBe(before);
    await bump();
    expect(await readVersion(env.DB)).toBe(before + 1);
    expect((await s.configVersion("iso-a")).version).toBe(before); // within SHARD_MAX_AGE_MS: not read again
    await sleep(SHARD_MAX_AGE_MS + 50);
    expect((await s.configVersion("iso-a")).version).toBe(before + 1);
  });

  it("estimates the deployment from the isolates present: a few count as themselves, more scale by the buckets", async () => {
    const s = shard();
    expect((await s.configVersion("iso-1")).isolates).toBe(1);
    await s.configVersion("iso-1"); // the same isolate again
    await s.configVersion("iso-2");
    const small = await s.configVersion("iso-3");
    expect(small.isolates).toBeLessThanOrEqual(3);
    const other = shard();
    for (let i = 0; i < 6; i++) await other.configVersion(`iso-${i}`);
    await sleep(1_050); // the count is refreshed at most once a second
    expect((await other.configVersion("iso-0")).isolates).toBe(6 * SHARD_COUNT);
    expect(estimateIsolates(6)).toBe(6 * SHARD_COUNT);
  });

  it("serves the snapshot of a version through the root, and a changed version afresh", async () => {
    const s = shard();
    const version = (await s.configVersion("iso-a")).version;
    const snapshot = (await s.configSnapshot(version, false)) as unknown as ConfigSnapshot;
    expect(snapshot.version).toBe(version);
    expect(snapshot.backends).toBeInstanceOf(Map);
    await bump();
    const next = (await s.configSnapshot(version + 1, false)) as unknown as ConfigSnapshot;
    expect(next.version).toBe(version + 1);
  });
});
