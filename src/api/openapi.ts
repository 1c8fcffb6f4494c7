/**
 * Shared pieces for defining admin routes: the validation hook that turns zod
 * issues into our 400 format, and the standard error responses.
 */
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import { ErrorResponse } from "../config/shapes";
import type { AppEnv } from "../env";
import { type FieldIssue, HttpError } from "../errors";

/** Flattens zod issues into one entry per invalid field. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => ({ path: base ? `${base}.${k}` : k, message: "is not a known field" }));
    }
    return [{ path: base || "(body)", message: issue.message }];
  });
}

/** An OpenAPIHono whose validation failures are 400s naming every invalid field. */
export function apiRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new HttpError(400, "validation_failed", "Invalid request", fieldIssues(result.error));
      }
    },
  });
}

const errorContent = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorResponse } },
});

/** Error responses every admin route can return. */
export const commonErrors = {
  400: errorContent("Invalid input; `details` names each invalid field"),
  401: errorContent("Missing or invalid credentials"),
  403: errorContent("The token lacks the admin scope"),
  413: errorContent("Body larger than 1 MiB"),
  503: errorContent("The configuration store (D1) failed or did not answer in time; a failed write changed nothing"),
} as const;

export const notFound = { 404: errorContent("Not found") } as const;
export const conflict = { 409: errorContent("Name conflict, or the item is still referenced") } as const;

/** A JSON request body that must be present. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

/** 204 No Content. */
export const noContent = { 204: { description: "Deleted" } } as const;
