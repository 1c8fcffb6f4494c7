/**
 * The one error type of a failed backend call (network, timeout, HTTP,
 * malformed or too large a reply, ended session, wrong protocol era, unavailable): its message
 * names the backend and is safe to show to clients (`relay.ts` turns it into
 * the JSON-RPC error -32010), and its `kind` decides what the circuit breaker
 * counts (`backends/outcome.ts`).
 */

/** Why a backend call failed; the message is safe to show to clients. */
export type FailureKind =
  | "network"
  | "timeout"
  | "http"
  | "malformed"
  | "too-large"
  | "session-expired"
  /** The backend refused the request's protocol era (-32022, or -32020 on the version header). */
  | "version"
  | "unsupported"
  | "unavailable"
  | "credentials";

/** A backend call that failed for a transport reason (not a tool's own error). */
export class BackendFailure extends Error {
  constructor(
    readonly backend: string,
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
    /** Extra facts safe to show to the client (e.g. the breaker's state and retry time). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = "BackendFailure";
  }
}
