import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uniqueName } from "./helpers";

const limiter = (key = uniqueName("rl")) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));

describe("RateLimiterDO", () => {
  it("fixed window: allows `limit` calls, then refuses with a retry delay", async () => {
    const stub = limiter();
    const rule = { limit: 3, windowMs: 60_000, algorithm: "fixed" as const };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await stub.hit(rule));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3]?.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[3]?.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("sliding window: allows `limit` calls, then refuses", async () => {
    const stub = limiter();
    const rule = { limit: 2, windowMs: 60_000, algorithm: "sliding" as const };
    expect((await stub.hit(rule)).allowed).toBe(true);
    expect((await stub.hit(rule)).allowed).toBe(true);
    expect((await stub.hit(rule)).allowed).toBe(false);
  });

  it("weights the previous window in sliding mode, and ignores it in fixed mode", async () => {
    const windowMs = 86_400_000;
    const start = Math.floor(Date.now() / windowMs) * windowMs;
    const seed = async (stub: ReturnType<typeof limiter>) => {
      await stub.hit({ limit: 1, windowMs, algorithm: "fixed" }); // creates the tables for this window size
      await runInDurableObject(stub, async (_obj, state) => {
        state.storage.sql.exec("DELETE FROM windows");
        state.storage.sql.exec("INSERT INTO windows (start, count) VALUES (?, 1000000000)", start - windowMs);
      });
    };
    const sliding = limiter();
    const fixed = limiter();
    await seed(sliding);
    await seed(fixed);
    // A huge previous window still overlapping the sliding window closes it; a fixed window starts afresh.
    expect((await sliding.hit({ limit: 10, windowMs, algorithm: "sliding" })).allowed).toBe(false);
    expect((await fixed.hit({ limit: 10, windowMs, algorithm: "fixed" })).allowed).toBe(true);
  });

  it("starts over when the window size changes", async () => {
    const stub = limiter();
    expect((await stub.hit({ limit: 1, windowMs: 60_000, algorithm: "fixed" })).allowed).toBe(true);
    expect((await stub.hit({ limit: 1, windowMs: 60_000, algorithm: "fixed" })).allowed).toBe(false);
    expect((await stub.hit({ limit: 1, windowMs: 120_000, algorithm: "fixed" })).allowed).toBe(true);
  });

  it("forgets everything when its alarm fires", async () => {
    const stub = limiter();
    await stub.hit({ limit: 1, windowMs: 1_000, algorithm: "fixed" });
    expect((await stub.hit({ limit: 1, windowMs: 1_000, algorithm: "fixed" })).allowed).toBe(false);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const tables = await runInDurableObject(stub, async (_obj, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'windows'").toArray(),
    );
    expect(tables).toEqual([]);
    // Still usable afterwards, with a fresh count.
    expect((await stub.hit({ limit: 1, windowMs: 1_000, algorithm: "fixed" })).allowed).toBe(true);
  });
});
