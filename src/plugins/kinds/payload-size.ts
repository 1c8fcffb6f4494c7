/**
 * `payload_size`: limits the size of what clients send and what backends
 * return. Requests are measured by the raw MCP body's byte length, read once
 * by the transport (never by serialising the arguments); results by a bounded
 * walk that stops as soon as the limit is passed (walk.ts).
 */
import { z } from "zod";
import { commonSettings } from "../settings";
import { defineKind, HOOKS } from "../types";
import { estimateJsonBytes } from "../walk";

const Bytes = z
  .number()
  .int()
  .min(1)
  .max(64 * 1024 * 1024);

const schema = z
  .strictObject({
    max_request_bytes: Bytes.optional().describe("Largest request body (pre hooks)"),
    max_result_bytes: Bytes.optional().describe("Largest result (post hooks)"),
    ...commonSettings(),
  })
  .refine((c) => c.max_request_bytes !== undefined || c.max_result_bytes !== undefined, {
    message: "set max_request_bytes, max_result_bytes or both",
    path: ["max_request_bytes"],
  });

export const payloadSize = defineKind({
  kind: "payload_size",
  description: "Limits request size (raw body bytes) and result size.",
  hooks: HOOKS,
  defaultHooks: ["tool_pre_invoke", "tool_post_invoke"],
  schema,
  create(config) {
    return {
      modifies: () => false,
      run(hook, value, ctx) {
        const limit = hook.phase === "pre" ? config.max_request_bytes : config.max_result_bytes;
        if (limit === undefined) return undefined;
        const size = hook.phase === "pre" ? ctx.requestBytes : estimateJsonBytes(value, limit);
        if (size <= limit) return undefined;
        return {
          violation: {
            code: "PAYLOAD_TOO_LARGE",
            description: `The ${hook.phase === "pre" ? "request" : "result"} is larger than ${limit} bytes`,
            details: { limit_bytes: limit },
          },
        };
      },
    };
  },
});
