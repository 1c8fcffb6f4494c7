/**
 * What an OpenAPI backend (README, "REST APIs as backends") stores: the
 * settings an operator gave (where the document is, which operations to
 * offer, the health probe's path) and the operations derived from the
 * document when the backend was saved. The request path reads only the
 * derived operations from the snapshot (design rule 1: no I/O to list or
 * call; the document is fetched and parsed at save time, not per call).
 */

/** Where the OpenAPI document comes from: fetched from a URL, or given inline (JSON or YAML text, or a JSON object). */
export type OpenApiSource = { url: string } | { inline: string | Record<string, unknown> };

/** An OpenAPI backend's settings, as the admin API takes and returns them. */
export interface OpenApiSettings {
  document: OpenApiSource;
  /** Only these operationIds become tools (absent: all). */
  include?: string[];
  /** These operationIds never become tools. */
  exclude?: string[];
  /** The health probe GETs this path under the backend's URL (absent: the URL itself, any answer below 500 is alive). */
  healthPath?: string;
}

/** Where one tool argument goes in the HTTP request. */
export interface OpenApiParam {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
}

/** One operation as a tool: how a call becomes an HTTP request. */
export interface OpenApiOperation {
  /** The tool's name: the operation's `operationId`. */
  tool: string;
  method: "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";
  /** The path template, e.g. `/pets/{petId}`. */
  path: string;
  description?: string;
  params: OpenApiParam[];
  /** Whether the tool takes a JSON request body (the argument `body`), and whether it must. */
  body?: { required: boolean };
  /** JSON Schema of the tool's arguments (local `$ref`s resolved). */
  inputSchema: Record<string, unknown>;
  /** `3.0` or `3.1`: which JSON Schema dialect the schemas are in. */
  dialect: "3.0" | "3.1";
}

/** What the request path needs of an OpenAPI backend (in `BackendConfig.openapi`). */
export interface OpenApiRuntime {
  operations: OpenApiOperation[];
  healthPath?: string;
}
