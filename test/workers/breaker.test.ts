// Circuit breaker transitions (pure): thresholds, cooldowns, trials and their leases, batches, probes, messages.
import { describe, expect, it } from "vitest";
import {
  acquireTrial,
  applyBatch,
  type Breaker,
  CLOSED,
  effectiveState,
  probeAfterCooldown,
  recordFailures,
  recordSuccess,
  releaseTrial,
  retryAt,
  trialLeaseMs,
  unavailableMessage,
} from "../../src/backends/breaker";

const settings = { failureThreshold: 3, cooldownMs: 10_000 };
const T = 1_000_000;

function failTimes(b: Breaker, n: number, now = T): Breaker {
  let next = b;
  for (let i = 0; i < n; i++) next = recordFailures(next, settings, now);
  return next;
}

describe("circuit breaker transitions", () => {
  it("stays closed below the threshold and opens at it", () => {
    const two = failTimes(CLOSED, 2);
    expect(two).toMatchObject({ state: "closed", consecutiveFailures: 2 });
    const three = recordFailures(two, settings, T);
    expect(three).toMatchObject({ state: "open", consecutiveFailures: 3, openedAt: T, retryAt: T + 10_000 });
    expect(retryAt(three, T)).toBe(T + 10_000);
  });

  it("counts only consecutive failures: a success resets the count", () => {
    const reset = recordSuccess(failTimes(CLOSED, 2), T, false);
    expect(reset).toEqual(CLOSED);
    expect(failTimes(reset, 2).state).toBe("closed");
  });

  it("opens with a threshold of 1 on the first failure", () => {
    expect(recordFailures(CLOSED, { ...settings, failureThreshold: 1 }, T).state).toBe("open");
  });

  it("admits no call while open, and reports half-open once the cooldown elapsed", () => {
    const open = failTimes(CLOSED, 3);
    expect(acquireTrial(open, T + 9_999, 5_000).admitted).toBe(false);
    expect(effectiveState(open, T + 9_999)).toBe("open");
    expect(effectiveState(open, T + 10_000)).toBe("half-open");
  });

  it("grants exactly one trial after the cooldown; its success closes the breaker", () => {
    const open = failTimes(CLOSED, 3);
    const first = acquireTrial(open, T + 10_000, 5_000);
    expect(first).toMatchObject({ admitted: true, trial: true });
    expect(first.breaker).toMatchObject({ state: "half-open", trialUntil: T + 15_000 });
    const second = acquireTrial(first.breaker, T + 10_001, 5_000);
    expect(second).toMatchObject({ admitted: false, trial: false });
    expect(retryAt(first.breaker, T + 10_001)).toBe(T + 15_000);
    expect(recordSuccess(first.breaker, T + 10_100, true)).toEqual(CLOSED);
  });

  it("a failed trial opens the breaker for another full cooldown", () => {
    const trial = acquireTrial(failTimes(CLOSED, 3), T + 10_000, 5_000).breaker;
    const reopened = recordFailures(trial, settings, T + 10_500);
    expect(reopened).toMatchObject({ state: "open", retryAt: T + 20_500, trialUntil: null });
    expect(acquireTrial(reopened, T + 20_000, 5_000).admitted).toBe(false);
  });

  it("grants a new trial when the previous one's lease ran out or it was released", () => {
    const trial = acquireTrial(failTimes(CLOSED, 3), T + 10_000, 5_000).breaker;
    expect(acquireTrial(trial, T + 15_000, 5_000)).toMatchObject({ admitted: true, trial: true });
    expect(acquireTrial(releaseTrial(trial), T + 10_001, 5_000)).toMatchObject({ admitted: true, trial: true });
  });

  it("ignores non-decisive successes while open or half-open", () => {
    const open = failTimes(CLOSED, 3);
    expect(recordSuccess(open, T + 1, false)).toBe(open);
    const trial = acquireTrial(open, T + 10_000, 5_000).breaker;
    expect(recordSuccess(trial, T + 10_001, false)).toBe(trial);
  });

  it("a decisive success (probe) closes only after the cooldown", () => {
    const open = failTimes(CLOSED, 3);
    expect(recordSuccess(open, T + 5_000, true)).toBe(open);
    expect(recordSuccess(open, T + 10_000, true)).toEqual(CLOSED);
  });

  it("failures while still open count but do not extend the cooldown", () => {
    const open = failTimes(CLOSED, 3);
    const more = recordFailures(open, settings, T + 5_000, 4);
    expect(more).toMatchObject({ state: "open", consecutiveFailures: 7, retryAt: T + 10_000 });
  });

  it("applies a batch: trailing failures after a success, all failures without one", () => {
    const two = failTimes(CLOSED, 2);
    expect(applyBatch(two, settings, { successes: 1, failures: 5, trailingFailures: 1 }, T)).toMatchObject({
      state: "closed",
      consecutiveFailures: 1,
    });
    expect(applyBatch(two, settings, { successes: 0, failures: 1, trailingFailures: 1 }, T).state).toBe("open");
    expect(applyBatch(CLOSED, settings, { successes: 4, failures: 0, trailingFailures: 0 }, T)).toEqual(CLOSED);
  });

  it("probes an open breaker when the cooldown ends, spread by up to 20% of it (at most 5 s)", () => {
    const open = failTimes(CLOSED, 3);
    expect(probeAfterCooldown(CLOSED)).toBeNull();
    expect(probeAfterCooldown(open, () => 0)).toBe(T + 10_000);
    expect(probeAfterCooldown(open, () => 1)).toBe(T + 12_000);
    const long = recordFailures(CLOSED, { failureThreshold: 1, cooldownMs: 3_600_000 }, T);
    expect(probeAfterCooldown(long, () => 1)).toBe(T + 3_600_000 + 5_000);
  });

  it("answers no retry time while closed, and the trial's lease end or now while half-open", () => {
    expect(retryAt(CLOSED, T)).toBeNull();
    const trial = acquireTrial(failTimes(CLOSED, 3), T + 10_000, 5_000).breaker;
    expect(retryAt(trial, T + 14_999)).toBe(T + 15_000);
    expect(retryAt(trial, T + 15_000)).toBe(T + 15_000);
    expect(retryAt(trial, T + 15_001)).toBe(T + 15_001);
    expect(retryAt(releaseTrial(trial), T + 11_000)).toBe(T + 11_000);
  });

  it("zero failures change nothing, not even a half-open breaker", () => {
    const two = failTimes(CLOSED, 2);
    expect(recordFailures(two, settings, T, 0)).toBe(two);
    const open = failTimes(CLOSED, 3);
    expect(recordFailures(open, settings, T + 10_000, 0)).toBe(open);
  });

  it("returns the same breaker when nothing changes (the Durable Object skips the write)", () => {
    expect(recordSuccess(CLOSED, T, false)).toBe(CLOSED);
    expect(releaseTrial(CLOSED)).toBe(CLOSED);
    const open = failTimes(CLOSED, 3);
    expect(releaseTrial(open)).toBe(open);
    expect(acquireTrial(open, T + 1, 5_000)).toEqual({ breaker: open, admitted: false, trial: false });
    expect(acquireTrial(CLOSED, T, 5_000)).toEqual({ breaker: CLOSED, admitted: true, trial: false });
  });

  it("a batch's successes are never decisive: they do not close a half-open breaker", () => {
    const open = failTimes(CLOSED, 3);
    expect(applyBatch(open, settings, { successes: 3, failures: 0, trailingFailures: 0 }, T + 10_000)).toBe(open);
  });

  it("leases a trial for the call timeout plus 5 s, at most 330 s", () => {
    expect(trialLeaseMs({ timeoutMs: 10_000 })).toBe(15_000);
    expect(trialLeaseMs({ timeoutMs: 325_000 })).toBe(330_000);
    expect(trialLeaseMs({ timeoutMs: 400_000 })).toBe(330_000);
  });

  it("tells callers when calls will be retried", () => {
    expect(unavailableMessage("alpha", Date.UTC(2030, 0, 2, 3, 4, 5))).toBe(
      "Backend 'alpha' is unavailable (circuit breaker open); calls will be retried after 2030-01-02T03:04:05.000Z",
    );
    expect(unavailableMessage("alpha", null)).toBe(
      "Backend 'alpha' is unavailable (circuit breaker open); calls will be retried shortly",
    );
  });
});
