/**
 * The 2025 era (protocol 2025-11-25 and earlier, with sessions) as the core
 * sees it: results and in-call messages pass unchanged, failures map as
 * `errors.ts` says.
 */
import type { EraAdapter } from "../core/context";
import { failureReply } from "./errors";

/** The adapter of every 2025-era request. */
export const ERA_2025: EraAdapter = {
  name: "2025",
  passesResults: true,
  fail: failureReply,
  result: (_method, result) => result,
  relayed: (message) => message,
};
