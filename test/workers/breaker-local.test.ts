// The isolate's own breaker and stale states (issue 20): an isolate stops calling a failing backend on its own failures, and never calls on a state older than STATE_MAX_STALE_MS.
import { afterEach, describe, expect, it, vi } from "vitest";
import { admit, report } from "../../src/backends/breaker-client";
import { STATE_MAX_STALE_MS } from "../../src/util/shard-policy";
import { backend, countingEnv, deferred, direct, fail } from "./breaker-helpers";

afterEach(() => {
  vi.useRealTimers();
});

describe("the isolate's own breaker", () => {
  it("opens on this isolate's failures without waiting for any report, and closes on its own trial", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend({ failureThreshold: 3, cooldownSeconds: 10 });
    const c = countingEnv();
    const d = deferred();
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    c.hang.add("report"); // the global breaker never hears of these failures
    for (let i = 0; i < 3; i++) report(c.env, d.defer, b, "failure");
    const refused = await admit(c.env, b, d.defer);
    expect(refused).toMatchObject({ ok: false, state: "open", retryAt: Date.now() + 10_000 });
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    // After its cooldown one call goes as this isolate's trial; its success closes the local breaker.
    vi.setSystemTime(Date.now() + 10_000);
    c.hang.add("breakerState"); // the global state (closed) is not learned meanwhile
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false, localTrial: true });
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "half-open" });
    report(c.env, d.defer, b, "success", false, true);
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
  });

  it("gives way to the global breaker once it is known to be open, and to its closing", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend({ failureThreshold: 3, cooldownSeconds: 10 });
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    for (let i = 0; i < 3; i++) report(c.env, d.defer, b, "failure");
    await d.settle(); // the batch that may trip goes (within URGENT_FLUSH_MS) and the global breaker opens
    expect(await direct(b).breakerState()).toMatchObject({ state: "open" });
    const refused = await admit(c.env, b, d.defer);
    expect(refused).toMatchObject({ ok: false, state: "open" });
    // The global cooldown is over: the global trial is asked for, not a local one.
    vi.setSystemTime(Date.now() + 10_000);
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: true });
    expect(c.count("tryAcquireTrial")).toBe(1);
  });
});

describe("stale states", () => {
  it("a call on a state older than STATE_MAX_STALE_MS waits for a fresh read instead of going out on it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    await fail(b, 3); // the backend died while this isolate did not call it
    vi.setSystemTime(Date.now() + STATE_MAX_STALE_MS + 1);
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    expect(c.calls).toEqual(["breakerState", "breakerState"]);
  });
});
