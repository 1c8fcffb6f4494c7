/**
 * What a backend call's ending means for the circuit breaker.
 *
 * - `failure`: the backend is not serving: network error, timeout, HTTP 5xx,
 *   a reply that is not JSON-RPC.
 * - `success`: the backend answered, even if the answer is an error (a tool's
 *   `isError` result, a JSON-RPC error, an HTTP 4xx, "unknown session").
 * - `neutral`: the call never reached the backend or failed for the gateway's
 *   own reasons (a client session that ended, an unsupported transport,
 *   stored credentials no configured key decrypts, a Durable Object of the
 *   gateway that could not be reached), or the reply
 *   went over the gateway's size bound (one tool's answer, not the backend's
 *   availability).
 */
import { BackendFailure } from "../upstream/failure";

export type CallOutcome = "success" | "failure" | "neutral";

/** Classifies how a call ended: `undefined` means it returned normally. */
export function outcomeOf(err?: unknown): CallOutcome {
  if (err === undefined) return "success";
  if (!(err instanceof BackendFailure)) return "neutral";
  switch (err.kind) {
    case "network":
    case "timeout":
    case "malformed":
      return "failure";
    case "http":
      // No status: the backend answered with a JSON-RPC error (e.g. it refused initialize).
      return err.status !== undefined && err.status >= 500 ? "failure" : "success";
    case "session-expired":
    case "version":
      // The backend answered: it refused this request's protocol era, which is re-detected.
      return "success";
    case "unsupported":
    case "credentials":
    case "unavailable":
    case "too-large":
      return "neutral";
  }
}
