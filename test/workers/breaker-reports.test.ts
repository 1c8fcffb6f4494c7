// The breaker client's outcome reports through its shard to the real BackendDO: batching, urgent trip reports, flush timing, resets.
import { afterEach, describe, expect, it, vi } from "vitest";
import { admit, admitCall, report } from "../../src/backends/breaker-client";
import { BackendFailure } from "../../src/upstream/failure";
import { backend, countingEnv, deferred, direct, fail } from "./breaker-helpers";

afterEach(() => {
  vi.useRealTimers();
});

const FAILURE = new BackendFailure("x", "network", "down");

describe("outcome reports", () => {
  it("failures go in one batch after the interval; the failure that may trip the breaker is sent at once", async () => {
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    report(c.env, d.defer, b, "failure");
    report(c.env, d.defer, b, "failure");
    expect(c.count("report")).toBe(0);
    await d.settle();
    expect(c.count("report")).toBe(1);
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed", consecutiveFailures: 2 });
    report(c.env, d.defer, b, "failure"); // 2 known + 1 = the threshold: sent within URGENT_FLUSH_MS
    await d.settle();
    expect(c.count("report")).toBe(2);
    expect((await direct(b).breakerState()).state).toBe("open");
  });

  it("sends the failures again after each flush, and nothing for a scheduled flush the trip already sent", async () => {
    const b = backend({ failureThreshold: 5 });
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    report(c.env, d.defer, b, "failure");
    await d.settle();
    report(c.env, d.defer, b, "failure");
    await d.settle();
    expect(c.count("report")).toBe(2);
    // The shard forwarded the first batch at once and holds the second for up to SHARD_FORWARD_MS.
    await vi.waitFor(async () => expect(await direct(b).breakerState()).toMatchObject({ consecutiveFailures: 2 }), {
      timeout: 5_000,
      interval: 100,
    });
    report(c.env, d.defer, b, "failure"); // scheduled
    report(c.env, d.defer, b, "failure");
    report(c.env, d.defer, b, "failure"); // 2 + 3 = 5: sent at once, with the other two
    await d.settle();
    expect(c.count("report")).toBe(3);
    expect(await direct(b).breakerState()).toMatchObject({ state: "open", consecutiveFailures: 5 });
  });

  it("a success resets the count the Durable Object keeps; neutral outcomes and needless successes are never sent", async () => {
    const b = backend();
    await fail(b, 2);
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    await d.settle();
    report(c.env, d.defer, b, "neutral");
    expect(d.list).toHaveLength(0);
    report(c.env, d.defer, b, "success");
    await d.settle();
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
    report(c.env, d.defer, b, "success"); // it counts none now
    expect(d.list).toHaveLength(0);
    expect(c.count("report")).toBe(1);
  });

  it("a batch carries the failures after its last success", async () => {
    const b = backend();
    await fail(b, 1);
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    report(c.env, d.defer, b, "failure");
    report(c.env, d.defer, b, "success");
    report(c.env, d.defer, b, "failure");
    await d.settle();
    expect(c.count("report")).toBe(1);
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed", consecutiveFailures: 1 });
  });

  it("failures while the breaker is open are not sent at once, and the shard that knows it is open drops them", async () => {
    const b = backend();
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    report(c.env, d.defer, b, "failure");
    expect(c.count("report")).toBe(0);
    await d.settle();
    // They change nothing while it is open (only its trial and probes decide): the shard does not forward them.
    expect(await direct(b).breakerState()).toMatchObject({ state: "open", consecutiveFailures: 3 });
  });

  it("a success is never sent at once, even when the known count reaches a lowered threshold", async () => {
    const b = backend();
    await fail(b, 2);
    const lowered = { ...b, failureThreshold: 2 };
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, lowered, d.defer);
    await d.settle();
    report(c.env, d.defer, lowered, "success");
    expect(c.count("report")).toBe(0);
    await d.settle();
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
  });

  it("sends a batch at most once per flush interval", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const b = backend({ failureThreshold: 10 });
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    report(c.env, d.defer, b, "failure");
    report(c.env, d.defer, b, "failure"); // the first batch after a quiet time goes on the next tick, with both
    expect(c.count("report")).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.count("report")).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    report(c.env, d.defer, b, "failure"); // 100 ms after the flush: sent 900 ms later (FLUSH_INTERVAL_MS)
    await vi.advanceTimersByTimeAsync(899);
    expect(c.count("report")).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.count("report")).toBe(2);
    await d.settle();
    // The shard forwarded the first batch at once and the second after SHARD_FORWARD_MS.
    await vi.advanceTimersByTimeAsync(1_000);
    vi.useRealTimers();
    await vi.waitFor(async () => expect(await direct(b).breakerState()).toMatchObject({ consecutiveFailures: 3 }), {
      timeout: 5_000,
      interval: 100,
    });
  });

  it("successes of calls admitted before the breaker opened are not sent", async () => {
    const b = backend();
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    await d.settle();
    report(c.env, d.defer, b, "success");
    expect(d.list).toHaveLength(0);
  });

  it("a guard reports its call once, however often it is told", async () => {
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    const guard = await admitCall(c.env, d.defer, b);
    guard.done(FAILURE);
    guard.done(FAILURE);
    guard.done(FAILURE);
    await d.settle();
    expect(await direct(b).breakerState()).toMatchObject({ state: "closed", consecutiveFailures: 1 });
  });
});
