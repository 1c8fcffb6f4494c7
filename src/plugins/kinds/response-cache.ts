/**
 * `response_cache`: answers repeated calls of read-only or idempotent tools
 * (annotations `readOnlyHint` / `idempotentHint`) from memory.
 *
 * - Key: backend, tool, the arguments in canonical form (sorted keys) and,
 *   unless `shared`, the endpoint and the user. Arguments are only serialised
 *   for the key when the request body is small (`max_key_bytes`).
 * - Store: a bounded LRU per isolate and per config version (an edit starts
 *   a fresh cache); entries expire after `ttl_seconds`. Isolates do not share
 *   entries, so a hit rate across N isolates is lower than with one.
 * - On a hit the pre chain stops and the post chain resumes after the cache's
 *   band: post plugins with a lower priority number than the cache already
 *   ran before the result was stored. Error results are never stored.
 */
import { z } from "zod";
import { LruMap } from "../../util/lru";
import { commonSettings } from "../settings";
import { defineKind } from "../types";
import { estimateJsonBytes, MAX_DEPTH, TooDeep } from "../walk";

/** JSON with object keys sorted, so equal arguments give equal keys. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const rec = value as Record<string, unknown>;
    const keys = Object.keys(rec)
      .filter((k) => rec[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(rec[k], depth + 1)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const ANNOTATIONS = ["readOnlyHint", "idempotentHint"] as const;

const schema = z.strictObject({
  ttl_seconds: z.number().int().min(1).max(86_400).default(60),
  max_entries: z.number().int().min(1).max(10_000).default(500).describe("Entries per isolate (LRU)"),
  max_entry_bytes: z.number().int().min(1).max(4_194_304).default(262_144).describe("Larger results are not stored"),
  max_key_bytes: z
    .number()
    .int()
    .min(1)
    .max(1_048_576)
    .default(65_536)
    .describe("Requests with a larger body are not looked up"),
  shared: z.boolean().default(false).describe("Share entries between users of an endpoint"),
  annotations: z
    .array(z.enum(ANNOTATIONS))
    .min(1)
    .default([...ANNOTATIONS])
    .describe("A tool is cached when any of these annotations is true"),
  ...commonSettings(),
});

interface Entry {
  result: Record<string, unknown>;
  expires: number;
}

export const responseCache = defineKind({
  kind: "response_cache",
  description: "Caches results of tools annotated readOnlyHint/idempotentHint, per isolate, with a TTL.",
  hooks: ["tool_pre_invoke", "tool_post_invoke"],
  defaultHooks: ["tool_pre_invoke", "tool_post_invoke"],
  requiredTogether: ["tool_pre_invoke", "tool_post_invoke"],
  schema,
  create(config, name) {
    const entries = new LruMap<string, Entry>(config.max_entries);
    const ttlMs = config.ttl_seconds * 1000;
    return {
      modifies: () => false,
      async run(hook, value, ctx) {
        if (hook.phase === "pre") {
          if (ctx.requestBytes > config.max_key_bytes) return undefined;
          const annotations = (await ctx.tool())?.annotations as Record<string, unknown> | undefined;
          if (!config.annotations.some((a) => annotations?.[a] === true)) return undefined;
          const scope = config.shared ? ctx.endpoint : `${ctx.endpoint}\0${ctx.user}`;
          const key = `${scope}\0${ctx.backend}\0${ctx.original}\0${canonicalJson(value)}`;
          const hit = entries.get(key);
          if (hit && hit.expires > Date.now()) return { respond: hit.result };
          if (hit) entries.delete(key);
          ctx.setState(name, "key", key);
          return undefined;
        }
        const key = ctx.getState(name, "key");
        const result = value as Record<string, unknown>;
        if (typeof key !== "string" || result.isError === true) return undefined;
        if (estimateJsonBytes(result, config.max_entry_bytes) > config.max_entry_bytes) return undefined;
        entries.set(key, { result, expires: Date.now() + ttlMs });
        return undefined;
      },
    };
  },
});
