import { describe, expect, it } from "vitest";
import { outcomeOf } from "../../src/backends/outcome";
import { backoffDelay, withRetry } from "../../src/backends/retry";
import { BackendFailure } from "../../src/upstream/failure";

describe("what a call's ending means for the breaker", () => {
  it.each([
    ["network", undefined, "failure"],
    ["timeout", undefined, "failure"],
    ["malformed", undefined, "failure"],
    ["http", 503, "failure"],
    ["http", 500, "failure"],
    ["http", 404, "success"],
    ["http", 401, "success"],
    ["http", undefined, "success"],
    ["session-expired", 404, "success"],
    ["unsupported", undefined, "neutral"],
  ] as const)("%s %s → %s", (kind, status, expected) => {
    expect(outcomeOf(new BackendFailure("b", kind, "m", status))).toBe(expected);
  });

  it("a normal return is a success; the gateway's own errors are neutral", () => {
    expect(outcomeOf()).toBe("success");
    expect(outcomeOf(new Error("session ended"))).toBe("neutral");
  });
});

describe("retries with capped, jittered backoff", () => {
  it("draws each delay below min(cap, base·2^n)", () => {
    expect(backoffDelay(0, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.999)).toBe(799);
    expect(backoffDelay(10, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffDelay(5, 100, 1000, () => 0)).toBe(0);
  });

  it("retries only retryable errors, and at most `attempts` times", async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls += 1;
        throw new Error("transient");
      },
      {
        attempts: 3,
        baseMs: 100,
        capMs: 150,
        retryable: () => true,
        sleep: async (ms) => void sleeps.push(ms),
        random: () => 0.999,
      },
    );
    await expect(failing).rejects.toThrow("transient");
    expect(calls).toBe(3);
    expect(sleeps).toEqual([99, 149]);

    calls = 0;
    const fatal = withRetry(
      async () => {
        calls += 1;
        throw new Error("fatal");
      },
      { attempts: 3, baseMs: 100, capMs: 150, retryable: () => false, sleep: async () => undefined },
    );
    await expect(fatal).rejects.toThrow("fatal");
    expect(calls).toBe(1);
  });
});
