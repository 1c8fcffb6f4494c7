/**
 * Settings every plugin kind accepts inside its `config`, next to its own fields.
 */
import { z } from "zod";

export const DEFAULT_TIMEOUT_MS = 1_000;
export const MAX_TIMEOUT_MS = 30_000;

/** `timeout_ms`: past it the plugin has failed. `on_error`: what a failure (throw or timeout) does in enforce mode. */
export function commonSettings(defaultTimeoutMs = DEFAULT_TIMEOUT_MS) {
  return {
    timeout_ms: z
      .number()
      .int()
      .min(1)
      .max(MAX_TIMEOUT_MS)
      .default(defaultTimeoutMs)
      .describe("Time the plugin may take per hook; past it the plugin has failed"),
    on_error: z
      .enum(["fail", "ignore"])
      .default("fail")
      .describe("enforce mode: `fail` stops the request when the plugin fails, `ignore` continues without it"),
  };
}

/** The common settings of a parsed or stored config (defaults when absent or malformed). */
export function readSettings(config: unknown): { timeoutMs: number; onError: "fail" | "ignore" } {
  const c = (typeof config === "object" && config !== null ? config : {}) as {
    timeout_ms?: unknown;
    on_error?: unknown;
  };
  const t = c.timeout_ms;
  return {
    timeoutMs: typeof t === "number" && Number.isInteger(t) && t >= 1 && t <= MAX_TIMEOUT_MS ? t : DEFAULT_TIMEOUT_MS,
    onError: c.on_error === "ignore" ? "ignore" : "fail",
  };
}
