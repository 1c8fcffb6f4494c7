/**
 * `rate_limit`: at most `limit` calls per `window_seconds`, counted per token,
 * per tool, per server (backend) or any combination, across every isolate:
 * each key is counted by its own RateLimiterDO (one awaited round trip per
 * call, bounded by `timeout_ms`; that is this plugin's job).
 *
 * Once a key is refused, this isolate refuses it locally until the DO's
 * `retry_after` has passed, so a client hammering a closed limit costs no
 * DO round trips.
 */
import { z } from "zod";
import type { RateDecision } from "../../../durable-objects/rate-limiter-do";
import { rateLimiterObject } from "../../stubs";
import { LruMap } from "../../util/lru";
import { commonSettings } from "../settings";
import { defineKind, type RequestContext } from "../types";

const DIMENSIONS = ["token", "tool", "server"] as const;

const schema = z.strictObject({
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
  ...commonSettings(),
});

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
        const decision: RateDecision = await rateLimiterObject({ RATE_LIMITER: ns }, key).hit(rule);
        if (decision.allowed) return undefined;
        closed.set(key, now + decision.retryAfterMs);
        return refused(decision.retryAfterMs);
      },
    };
  },
});
