// The breaker client's edges: calls waiting on one trial ask, the exact staleness bound, when batches go (urgent ones within URGENT_FLUSH_MS, none while the breaker is known open), and whose outcome decides the isolate's own breaker.
import { afterEach, describe, expect, it, vi } from "vitest";
import { breakerSettings } from "../../src/backends/breaker";
import { admit, admitCall, report } from "../../src/backends/breaker-client";
import { STATE_MAX_STALE_MS, URGENT_FLUSH_MS } from "../../src/util/shard-policy";
import { backend, countingEnv, deferred, direct, fail } from "./breaker-helpers";

afterEach(() => {
  vi.useRealTimers();
});

/**
 * Resolves on a real timer set now, `URGENT_FLUSH_MS` + 350 ms out. Timers fire in the order of their
 * deadlines, so every flush timer already set for at most URGENT_FLUSH_MS has run when this resolves,
 * and none set for the full flush interval (1 s) has (whatever the machine's load: order, not duration).
 */
const pastUrgentFlushes = () => new Promise((resolve) => setTimeout(resolve, URGENT_FLUSH_MS + 350));

describe("calls waiting on this isolate's trial ask", () => {
  it("are all admitted, none as a trial, when the answer says the breaker closed meanwhile", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // A short cooldown: the state learned when it opened is still fresh (under STATE_MAX_STALE_MS) when
    // it ends, so both calls go straight to the trial ask and the second waits for the first one's.
    const b = backend({ cooldownSeconds: 1 });
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    const first = await admit(c.env, b, d.defer);
    expect(first).toMatchObject({ ok: false, state: "open" });
    vi.setSystemTime((first as { retryAt: number }).retryAt);
    await direct(b).tryAcquireTrial(5_000);
    await direct(b).report(breakerSettings(b), { trial: "success" }); // closed by another isolate's trial
    c.hang.add("breakerState");
    const answers = await Promise.all([admit(c.env, b, d.defer), admit(c.env, b, d.defer)]);
    expect(answers).toEqual([
      { ok: true, trial: false },
      { ok: true, trial: false },
    ]);
    expect(c.count("tryAcquireTrial")).toBe(1);
  });

  it("are refused as half-open when the trial went to the call that asked", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend({ cooldownSeconds: 1 });
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    const first = await admit(c.env, b, d.defer);
    vi.setSystemTime((first as { retryAt: number }).retryAt);
    c.hang.add("breakerState");
    const [asked, waited] = await Promise.all([admit(c.env, b, d.defer), admit(c.env, b, d.defer)]);
    expect(asked).toEqual({ ok: true, trial: true });
    expect(waited).toMatchObject({ ok: false, state: "half-open" });
    expect(c.count("tryAcquireTrial")).toBe(1);
  });
});

describe("the staleness bound", () => {
  it("a state exactly STATE_MAX_STALE_MS old is still used at once (refreshed behind); only an older one is waited for", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    await fail(b, 3); // the backend died while this isolate did not call it
    vi.setSystemTime(Date.now() + STATE_MAX_STALE_MS);
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    await d.settle();
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    expect(c.calls).toEqual(["breakerState", "breakerState"]);
  });
});

describe("when batches go", () => {
  /** A backend whose last batch went just now (frozen clock), so the next non-urgent one waits the full interval. */
  async function justFlushed(failureThreshold: number) {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend({ failureThreshold });
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    report(c.env, d.defer, b, "failure"); // the first batch goes at once
    await d.settle();
    expect(c.count("report")).toBe(1);
    return { b, c, d };
  }

  it("a batch that may trip the breaker goes within URGENT_FLUSH_MS even when a later batch was already due", async () => {
    const { b, c, d } = await justFlushed(3);
    report(c.env, d.defer, b, "failure"); // 1 + 1 of 3: due at the end of the flush interval
    report(c.env, d.defer, b, "failure"); // 1 + 2 of 3: may trip, so sooner
    await pastUrgentFlushes();
    expect(c.count("report")).toBe(2);
    await d.settle();
    expect(c.count("report")).toBe(2);
    expect(await direct(b).breakerState()).toMatchObject({ state: "open" });
  });

  it("a batch that may trip the breaker goes within URGENT_FLUSH_MS even when an outcome that could wait follows it", async () => {
    const { b, c, d } = await justFlushed(2);
    report(c.env, d.defer, b, "failure"); // 1 + 1 of 2: may trip
    report(c.env, d.defer, b, "success"); // now it could wait for the interval; the sooner send stays
    await pastUrgentFlushes();
    expect(c.count("report")).toBe(2);
    await d.settle();
    expect(c.count("report")).toBe(2);
  });

  it("a batch due while the breaker is learned to be open is not sent when its time comes", async () => {
    const { b, c, d } = await justFlushed(3);
    await fail(b, 3); // opened by other isolates' reports
    report(c.env, d.defer, b, "failure"); // 1 + 1 of 3 as known here: due at the end of the flush interval
    vi.setSystemTime(Date.now() + STATE_MAX_STALE_MS + 1);
    // This call waits for a fresh read, which says open (and drops the pending failure).
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    await d.settle();
    expect(c.count("report")).toBe(1);
  });
});

describe("the isolate's own breaker", () => {
  it("is closed by its local trial's success only, not by another call that succeeds meanwhile", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend({ failureThreshold: 3, cooldownSeconds: 10 });
    const c = countingEnv();
    const d = deferred();
    const early = await admitCall(c.env, d.defer, b); // under way while the backend starts failing
    expect(early.rejected).toBeNull();
    c.hang.add("report"); // the global breaker never hears of any of this
    for (let i = 0; i < 3; i++) report(c.env, d.defer, b, "failure");
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    vi.setSystemTime(Date.now() + 10_000);
    c.hang.add("breakerState");
    const trial = await admitCall(c.env, d.defer, b); // this isolate's trial
    expect(trial.rejected).toBeNull();
    // Calls that are not the trial succeeding now (one admitted before, one reported plainly) decide nothing.
    early.done();
    report(c.env, d.defer, b, "success");
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "half-open" });
    trial.done();
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
  });
});
