// rate_limit with shards (issue 20): a hot key's budget split over sub-counters that never add up to more than the limit, two picks per call, and the pure split rules.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rateKey } from "../../src/plugins/kinds/rate-limit";
import { MAX_RATE_SHARDS, pickShards, shardBudget, shardKey } from "../../src/plugins/kinds/rate-shards";
import { uniqueName } from "./helpers";
import { builtin, configIssues, fakeContext, runOnce } from "./plugin-helpers";

/** Calls counted by one sub-counter's RateLimiterDO (0 when it was never hit). */
async function counted(key: string): Promise<number> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
  return runInDurableObject(stub, async (_obj, state) => {
    const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'windows'").toArray();
    if (tables.length === 0) return 0;
    const row = state.storage.sql.exec("SELECT coalesce(sum(count), 0) AS n FROM windows").one();
    return Number(row.n);
  });
}

describe("rate_limit with shards", () => {
  it("spreads a key over its sub-counters and never lets more than the limit through", async () => {
    const name = uniqueName("rls");
    const p = builtin("rate_limit", { limit: 8, window_seconds: 86_400, per: ["server"], shards: 4 }, name);
    const ctx = fakeContext({ backend: "alpha" });
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await runOnce(p, "tool_pre_invoke", {}, ctx));
    const allowed = results.filter((r) => r === undefined).length;
    expect(allowed).toBeLessThanOrEqual(8);
    expect(allowed).toBeGreaterThanOrEqual(4); // two picks per call: at least the first sub-counters' room is used
    expect(results.at(-1)?.violation?.code).toBe("RATE_LIMITED");
    const key = rateKey(name, ["server"], ctx);
    const perShard = await Promise.all([0, 1, 2, 3].map((i) => counted(shardKey(key, 4, i))));
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(allowed); // every admitted call was counted once
    for (const n of perShard) expect(n).toBeLessThanOrEqual(2); // each sub-counter's budget is 8 / 4
    expect(perShard.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(await counted(key)).toBe(0); // the unsharded object is not used
  });

  it("refuses more shards than calls in the limit, and more than MAX_RATE_SHARDS", () => {
    expect(configIssues("rate_limit", { limit: 2, window_seconds: 10, shards: 3 })).toEqual(["shards"]);
    expect(configIssues("rate_limit", { limit: 1_000, window_seconds: 10, shards: MAX_RATE_SHARDS + 1 })).toEqual([
      "shards",
    ]);
    expect(configIssues("rate_limit", { limit: 1_000, window_seconds: 10, shards: 64 })).toEqual([]);
  });
});

describe("rate-shards rules", () => {
  it("budgets add up to the limit exactly and differ by at most one", () => {
    for (const [limit, shards] of [
      [10, 3],
      [1_000, 64],
      [7, 7],
      [100, 1],
    ] as const) {
      const budgets = Array.from({ length: shards }, (_, i) => shardBudget(limit, shards, i));
      expect(budgets.reduce((a, b) => a + b, 0)).toBe(limit);
      expect(Math.max(...budgets) - Math.min(...budgets)).toBeLessThanOrEqual(1);
    }
  });

  it("picks two distinct sub-counters in range, spread over all of them", () => {
    let state = 7;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648; // a small LCG: deterministic picks
      return state / 2_147_483_648;
    };
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const [a, b] = pickShards(16, random);
      expect(a).not.toBe(b);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(16);
      seen.add(a);
    }
    expect(seen.size).toBe(16);
    expect(pickShards(1)).toEqual([0, 0]);
    expect(shardKey("k", 1, 0)).toBe("k");
    expect(shardKey("k", 4, 2)).toBe("k#2/4");
  });
});
