/**
 * `rate_limit`: at most `limit` calls per `window_seconds`, counted per token,
 * per tool, per server (backend) or any combination, across every isolate:
 * each key is counted by its own RateLimiterDO (one awaited round trip per
 * call, bounded by `timeout_ms`; that is this plugin's job).
 *
 * Once a key is refused, this isolate refuses it locally until the DO's
 * `retry_after` has passed, so a client hammering a closed limit costs no
 * DO round trips.
 *
 * A hot key (more calls a second than one object serves, about 1,000) takes
 * `shards: k`: its budget is split over k sub-counters, each its own
 * RateLimiterDO, and a call counts against a random one, trying a second
 * when the first is full (`rate-shards.ts` says what that costs in accuracy:
 * never more than `limit` per window, but some refusals before all of it is
 * used).
 */
import { z } from "zod";
import type { RateDecision } from "../../../durable-objects/rate-limiter-do";
import { rateLimiterObject } from "../../stubs";
import { LruMap } from "../../util/lru";
import { commonSettings } from "../settings";
import { defineKind, type RequestContext } from "../types";
import { MAX_RATE_SHARDS, pickShards, shardBudget, shardKey } from "./rate-shards";

const DIMENSIONS = ["token", "tool", "server"] as const;

const schema = z
  .strictObject({
    limit: z.number().int().min(1).max(1_000_000).describe("Calls allowed per window"),
    window_seconds: z.number().int().min(1).max(86_400),
    per: z
      .array(z.enum(DIMENSIONS))
      .min(1)
      .max(3)
      .refine((a) => new Set(a).size === a.length, "must not repeat")
      .default(["token"])
      .describe("What is counted separately: token (API token), tool (tool/prompt/resource), server (backend)"),
    algorithm: z.enum(["fixed", "sliding"]).default("fixed"),
    shards: z
      .number()
      .int()
      .min(1)
      .max(MAX_RATE_SHARDS)
      .default(1)
      .describe("Sub-counters per key, for keys hotter than one Durable Object serves (each gets limit/shards)"),
    ...commonSettings(),
  })
  .refine((c) => c.shards <= Math.max(1, c.limit), { message: "shards must not exceed limit", path: ["shards"] });

/** The Durable Object key of a call: the plugin's name plus the chosen dimensions. */
export function rateKey(plugin: string, per: readonly (typeof DIMENSIONS)[number][], ctx: RequestContext): string {
  let key = plugin;
  for (const d of per) {
    // OAuth callers by subject: user names are chosen by identity providers and may repeat across them.
    if (d === "token") key += `|u=${ctx.subject?.startsWith("oauth:") ? ctx.subject : ctx.user}`;
    else if (d === "tool") key += `|t=${ctx.entity}:${ctx.backend}/${ctx.original}`;
    else key += `|s=${ctx.backend}`;
  }
  return key;
}

export const rateLimit = defineKind({
  kind: "rate_limit",
  description: "Limits calls per token, tool and/or server across isolates (fixed or sliding window).",
  hooks: ["tool_pre_invoke", "prompt_pre_fetch", "resource_pre_fetch"],
  defaultHooks: ["tool_pre_invoke"],
  schema,
  create(config, name) {
    const closed = new LruMap<string, number>(10_000);
    const rule = { limit: config.limit, windowMs: config.window_seconds * 1000, algorithm: config.algorithm };
    const refused = (retryAfterMs: number) => ({
      violation: {
        code: "RATE_LIMITED",
        description: `Rate limit of ${config.limit} calls per ${config.window_seconds} s reached`,
        details: { limit: config.limit, window_seconds: config.window_seconds, retry_after_ms: retryAfterMs },
      },
    });
    return {
      modifies: () => false,
      async run(_hook, _value, ctx) {
        const key = rateKey(name, config.per, ctx);
        const until = closed.get(key);
        const now = Date.now();
        if (until !== undefined && until > now) return refused(until - now);
        const ns = ctx.env.RATE_LIMITER;
        if (!ns) throw new Error("the RATE_LIMITER Durable Object binding is missing");
        const hit = (index: number): Promise<RateDecision> =>
          rateLimiterObject({ RATE_LIMITER: ns }, shardKey(key, config.shards, index)).hit({
            ...rule,
            limit: shardBudget(config.limit, config.shards, index),
          });
        const [first, second] = pickShards(config.shards);
        let decision = await hit(first);
        if (!decision.allowed && second !== first) {
          const other = await hit(second);
          decision = other.allowed
            ? other
            : { ...other, retryAfterMs: Math.min(decision.retryAfterMs, other.retryAfterMs) };
        }
        if (decision.allowed) return undefined;
        closed.set(key, now + decision.retryAfterMs);
        return refused(decision.retryAfterMs);
      },
    };
  },
});
