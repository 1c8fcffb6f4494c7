/**
 * The gateway's single HTTP error type and its JSON shape.
 *
 * Every non-MCP error response is `{"error": {"code", "message", "details"?}}`.
 * The message is public: never put a stack trace, a secret or an upstream body in it.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MissingKeyError } from "./auth/keys";

/** Stable machine-readable codes, one per status the API uses. */
export type ErrorCode =
  | "bad_request"
  | "invalid_json"
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "bad_gateway"
  | "service_unavailable"
  | "internal_error";

/** One invalid field: a dotted path and what is wrong with it. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** An error with an HTTP status and a message that is safe to show to the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Builds the JSON error body. */
export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

const codeByStatus: Partial<Record<number, ErrorCode>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  503: "service_unavailable",
};

/**
 * 503 for the configuration store (D1) failing or not answering in time.
 * Writes are one D1 batch (`config/store/write.ts`), so a failed one changed
 * nothing; one that timed out may still land, as a whole, and says so.
 */
export function storeUnavailable(cause: unknown, timedOut: boolean): HttpError {
  const err = new HttpError(
    503,
    "service_unavailable",
    timedOut
      ? "The configuration store did not answer in time; a change may still be applied as a whole, so read it back before retrying"
      : "The configuration store is unavailable; nothing was changed, retry later",
    undefined,
    { "retry-after": "5" },
  );
  err.cause = cause;
  return err;
}

/** The HttpError an error is or wraps (drizzle wraps a failed query's error in its own). */
function httpErrorIn(err: unknown): HttpError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof HttpError) return e;
  }
  return undefined;
}

/**
 * The one `app.onError`: maps HttpError (also when wrapped, e.g. by drizzle)
 * and Hono's HTTPException to JSON, and anything else to a bare 500 (logged,
 * never echoed).
 */
export function handleError(err: Error, c: Context): Response {
  const known = httpErrorIn(err);
  if (known) {
    if (known.status >= 500) {
      const cause = known.cause instanceof Error ? `${known.cause.name}: ${known.cause.message.slice(0, 200)}` : "";
      console.error("request failed", known.code, cause);
    }
    return c.json(errorBody(known.code, known.message, known.details), known.status, known.headers);
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    // Hono's JSON validator throws 400 "Malformed JSON in request body".
    const code = status === 400 && /json/i.test(err.message) ? "invalid_json" : (codeByStatus[status] ?? "bad_request");
    const message =
      status === 400 && code === "invalid_json" ? "Request body is not valid JSON" : err.message || "Request failed";
    return c.json(errorBody(code, message), status);
  }
  if (err instanceof MissingKeyError) {
    return c.json(errorBody("service_unavailable", "The gateway has no encryption key configured"), 503);
  }
  console.error("unhandled error", err.name, err.message);
  return c.json(errorBody("internal_error", "Internal error"), 500);
}
