// The isolate's breaker view (breaker-client.ts) through its real breaker shard and BackendDO: what it answers from memory, and when it asks or reports.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { breakerSettings } from "../../src/backends/breaker";
import { admit, admitCall, report, unavailableFailure } from "../../src/backends/breaker-client";
import { failureReply } from "../../src/edge/errors";
import { CALM_STATE_TTL_MS, TTL_JITTER, UNSETTLED_STATE_TTL_MS } from "../../src/util/shard-policy";
import { backend, countingEnv, deferred, direct, fail } from "./breaker-helpers";

afterEach(() => {
  vi.useRealTimers();
});

describe("admission from memory", () => {
  it("the first call on an isolate waits for the state; later ones are answered from memory", async () => {
    const b = backend();
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open", retryAt: expect.any(Number) });
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    await d.settle();
    expect(c.calls).toEqual(["breakerState"]);
  });

  it("a healthy backend costs its shard one state read per TTL (2 s ±20% while calm) and no reports", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    for (let i = 0; i < 5; i++) {
      const guard = await admitCall(c.env, d.defer, b);
      expect(guard.rejected).toBeNull();
      guard.done();
    }
    await d.settle();
    expect(c.calls).toEqual(["breakerState"]);
    vi.setSystemTime(Date.now() + CALM_STATE_TTL_MS * (1 - TTL_JITTER)); // the shortest calm TTL: still fresh
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    expect(c.count("breakerState")).toBe(1);
    vi.setSystemTime(Date.now() + 2 * CALM_STATE_TTL_MS * TTL_JITTER + 1); // past the longest
    await admit(c.env, b, d.defer);
    await admit(c.env, b, d.defer); // a refresh is under way: no second one
    await d.settle();
    expect(c.calls).toEqual(["breakerState", "breakerState"]);
  });

  it("learns of a state change within its TTL, in the background, and keeps the last state when the read fails", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    await fail(b, 3);
    expect((await admit(c.env, b, d.defer)).ok).toBe(true); // from memory
    vi.setSystemTime(Date.now() + CALM_STATE_TTL_MS * (1 + TTL_JITTER) + 1);
    expect((await admit(c.env, b, d.defer)).ok).toBe(true); // served at once, refreshed behind
    await d.settle();
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });

    c.fail.add("breakerState");
    vi.setSystemTime(Date.now() + 1001);
    await admit(c.env, b, d.defer);
    await d.settle();
    const reads = c.count("breakerState");
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    await d.settle();
    expect(c.count("breakerState")).toBe(reads); // the failed read counts as a check
  });

  it("an entry made by a report is refreshed by the next call", async () => {
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    report(c.env, d.defer, b, "neutral");
    await fail(b, 3);
    await admit(c.env, b, d.defer);
    await d.settle();
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
  });

  it("a new URL, transport or breaker settings start over with a fresh read", async () => {
    const b = backend();
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    await fail(b, 3);
    expect((await admit(c.env, b, d.defer)).ok).toBe(true);
    for (const changed of [{ url: "https://93.184.215.14/other" }, { failureThreshold: 4 }, { cooldownSeconds: 11 }]) {
      expect((await admit(c.env, { ...b, ...changed }, d.defer)).ok).toBe(false);
    }
    expect(c.count("breakerState")).toBe(4);
  });

  it("admits a first call when the Durable Object does not answer in time", async () => {
    const b = backend();
    const c = countingEnv();
    c.hang.add("breakerState");
    const d = deferred();
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    // The read goes on in waitUntil, and the next call does not start another one.
    expect(d.list).toHaveLength(1);
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: false });
    expect(c.count("breakerState")).toBe(1);
  });
});

describe("trials", () => {
  it("after the cooldown one call on the isolate asks for the trial and the others wait for its answer", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    const first = await admit(c.env, b, d.defer);
    expect(first).toMatchObject({ ok: false, state: "open" });
    vi.setSystemTime((first as { retryAt: number }).retryAt); // exactly the end of the cooldown
    const [one, two] = await Promise.all([admit(c.env, b, d.defer), admit(c.env, b, d.defer)]);
    // Whichever asks first gets the trial (the other waited for a read of the state, older than STATE_MAX_STALE_MS).
    expect([one, two]).toContainEqual({ ok: true, trial: true });
    expect([one, two]).toContainEqual(expect.objectContaining({ ok: false, state: "half-open" }));
    expect(c.count("tryAcquireTrial")).toBe(1);

    // The trial fails: reported at once, the breaker opens again; after the next cooldown the isolate asks again.
    const guard = await admitCall(c.env, d.defer, b);
    expect(guard.rejected).not.toBeNull();
    report(c.env, d.defer, b, "failure", true);
    expect(c.count("report")).toBe(1);
    await d.settle();
    expect((await direct(b).breakerState()).state).toBe("open");
    vi.setSystemTime(Date.now() + 10_000);
    expect(await admit(c.env, b, d.defer)).toEqual({ ok: true, trial: true });
    expect(c.count("tryAcquireTrial")).toBe(2);
  });

  it("a trial granted to another isolate is waited for from memory, and the state re-read while it runs", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    await fail(b, 3);
    vi.setSystemTime(Date.now() + 10_000);
    expect(await direct(b).tryAcquireTrial(60_000)).toMatchObject({ admitted: true, trial: true });
    const c = countingEnv();
    const d = deferred();
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "half-open" });
    vi.setSystemTime(Date.now() + UNSETTLED_STATE_TTL_MS * (1 - TTL_JITTER)); // the shortest unsettled TTL
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "half-open" });
    expect(c.calls).toEqual(["breakerState"]);
    vi.setSystemTime(Date.now() + 2 * UNSETTLED_STATE_TTL_MS * TTL_JITTER + 1); // past the longest
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "half-open" });
    // Refused from memory until the trial's lease ends; the state is read again in the background, the trial never asked.
    expect(c.calls).toEqual(["breakerState", "breakerState"]);
  });

  it("a first read after the cooldown asks for the trial at once", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    await fail(b, 3);
    vi.setSystemTime(Date.now() + 10_000);
    const c = countingEnv();
    expect(await admit(c.env, b, () => undefined)).toEqual({ ok: true, trial: true });
    expect(c.calls).toEqual(["breakerState", "tryAcquireTrial"]);
  });

  it("when the breaker closed meanwhile, every waiting call is admitted, none as a trial", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer); // the isolate learns: open
    vi.setSystemTime(Date.now() + 10_000);
    await direct(b).tryAcquireTrial(5_000);
    await direct(b).report(breakerSettings(b), { trial: "success" }); // closed by another isolate's trial
    c.hang.add("breakerState"); // the background refresh does not get there first
    const answers = await Promise.all([admit(c.env, b, d.defer), admit(c.env, b, d.defer)]);
    expect(answers).toEqual([
      { ok: true, trial: false },
      { ok: true, trial: false },
    ]);
    expect(c.count("tryAcquireTrial")).toBe(1);
  });

  it("a trial request the Durable Object does not answer is a rejection, not an error", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const b = backend();
    await fail(b, 3);
    const c = countingEnv();
    const d = deferred();
    await admit(c.env, b, d.defer);
    vi.setSystemTime(Date.now() + 10_000);
    c.fail.add("tryAcquireTrial");
    c.hang.add("breakerState");
    expect(await admit(c.env, b, d.defer)).toMatchObject({ ok: false, state: "open" });
  });
});

describe("the caller's error", () => {
  it("names the backend, the breaker state and when calls resume", async () => {
    const b = backend();
    await fail(b, 3);
    const guard = await admitCall(env, () => undefined, b);
    const retryAt = (await direct(b).breakerState()).retryAt as number;
    // The client sees the failure through the era's one mapping (edge/errors.ts).
    expect(failureReply(guard.rejected, 42)).toMatchObject({
      id: 42,
      error: {
        code: -32010,
        data: { backend: b.name, reason: "unavailable", breaker: "open", retryAt: new Date(retryAt).toISOString() },
      },
    });
    expect(failureReply(unavailableFailure("b", { ok: false, state: "half-open", retryAt: null }), 1)).toMatchObject({
      error: {
        data: {
          backend: "b",
          reason: "unavailable",
          breaker: "half-open",
          retryAt: null,
        },
      },
    });
  });
});
