/**
 * An OpenAPI backend seen as an MCP server (README, "REST APIs as backends"):
 * the gateway's client (`../http.ts`, `postMessage`) hands this module every
 * JSON-RPC message for such a backend, and it answers with the Response a
 * stateless Streamable HTTP MCP server would send. So catalogs, their caches,
 * the breaker, health probes, plugins and spans treat it as any backend.
 *
 * - `initialize`, `tools/list`: answered from the operations derived when the
 *   backend was saved (in the snapshot; no I/O).
 * - `tools/call`: arguments checked against the tool's schema (-32602), then
 *   one HTTP request (path, query, header parameters, JSON body) with the
 *   backend's credentials (`auth.ts`), under the call's deadline, the reply
 *   bounded like any backend reply. A non-2xx answer is a tool result with
 *   `isError` (the API answered; the call did not fail); a network error or
 *   timeout throws the `BackendFailure` MCP backends throw (the breaker counts it).
 * - `ping` (health probes): GET of `healthPath` (2xx is healthy), or of the
 *   base URL (anything below 500 is alive).
 */
import { type Schema, Validator } from "@cfworker/json-schema";
import type { OpenApiOperation } from "../../config/openapi-types";
import type { BackendConfig } from "../../config/snapshot";
import { ErrorCode, type JsonRpcId } from "../../protocol/jsonrpc";
import { LATEST_PROTOCOL_VERSION, SERVER_INFO, SUPPORTED_PROTOCOL_VERSIONS } from "../../protocol/versions";
import { BackendFailure } from "../failure";
import { readBoundedText } from "../reply-bounds";
import type { CallOptions } from "../types";
import { openApiAuthHeaders } from "./auth";

type Json = Record<string, unknown>;

/** Tool arguments that cannot become a request (a -32602 to the client). */
class BadArguments extends Error {}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const result = (id: JsonRpcId, value: Json) => json({ jsonrpc: "2.0", id, result: value });
const failure = (id: JsonRpcId, code: number, message: string, data?: unknown) =>
  json({ jsonrpc: "2.0", id, error: { code, message, ...(data !== undefined && { data }) } });

/** Validators are built once per operation object (one snapshot's operations are stable). */
const validators = new WeakMap<OpenApiOperation, Validator>();
function validatorFor(op: OpenApiOperation): Validator {
  let v = validators.get(op);
  if (!v) {
    v = new Validator(op.inputSchema as Schema, op.dialect === "3.0" ? "4" : "2020-12", false);
    validators.set(op, v);
  }
  return v;
}

/** The MCP tool an operation is listed as. */
export function toolOf(op: OpenApiOperation): Json {
  return {
    name: op.tool,
    ...(op.description !== undefined && { description: op.description }),
    inputSchema: op.inputSchema,
    annotations: { readOnlyHint: op.method === "get" || op.method === "head" },
  };
}

function scalar(name: string, value: unknown): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map((v) => scalar(name, v)).join(",");
  throw new BadArguments(`argument '${name}' must be a string, number, boolean or array of them`);
}

/** The request URL: base URL + path template (segments percent-encoded) + query. */
function requestUrl(base: string, op: OpenApiOperation, args: Json): URL {
  const path = op.path.replace(/\{([^}]*)\}/g, (_, name: string) => {
    const value = scalar(name, args[name]);
    // Encoding keeps `/` and `?` inside the segment; dot segments would still climb the path.
    if (value === "." || value === ".." || value === "")
      throw new BadArguments(`argument '${name}' is not a usable path segment`);
    return encodeURIComponent(value);
  });
  const url = URL.parse(base.replace(/\/+$/, "") + path);
  if (!url) throw new BadArguments("the arguments do not make a valid URL");
  for (const p of op.params) {
    const value = args[p.name];
    if (p.in !== "query" || value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(p.name, scalar(p.name, v));
    else if (typeof value === "object") {
      // OpenAPI's default for objects (style form, explode): one parameter per property.
      for (const [k, v] of Object.entries(value as Json))
        if (v !== undefined && v !== null) url.searchParams.append(k, scalar(k, v));
    } else url.searchParams.append(p.name, scalar(p.name, value));
  }
  return url;
}

/** Headers OpenAPI says header parameters do not set (OpenAPI 3.1 §4.8.12.1), plus hop-by-hop ones. */
const RESERVED_HEADERS = new Set([
  "accept",
  "content-type",
  "authorization",
  "cookie",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "te",
  "traceparent",
  "proxy-authorization",
]);

function requestHeaders(backend: BackendConfig, op: OpenApiOperation, args: Json, options: CallOptions): Headers {
  const headers = new Headers();
  for (const p of op.params) {
    const value = args[p.name];
    if (p.in !== "header" || value === undefined || value === null || RESERVED_HEADERS.has(p.name.toLowerCase()))
      continue;
    try {
      headers.set(p.name, scalar(p.name, value));
    } catch (err) {
      if (err instanceof BadArguments) throw err;
      throw new BadArguments(`argument '${p.name}' is not a valid header value`);
    }
  }
  // The backend's credentials win over any argument (set last).
  for (const [name, value] of openApiAuthHeaders(backend)) headers.set(name, value);
  headers.set("accept", "application/json, */*;q=0.5");
  if (op.body && args.body !== undefined) headers.set("content-type", "application/json");
  if (options.traceparent) headers.set("traceparent", options.traceparent);
  return headers;
}

/** A fetch that failed as MCP backends' do: timeout (the deadline fired) or network. */
function fetchFailure(backend: string, signal: AbortSignal | undefined): BackendFailure {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof BackendFailure) return reason;
    return new BackendFailure(backend, "timeout", `Backend '${backend}' did not answer in time`);
  }
  return new BackendFailure(backend, "network", `Backend '${backend}' is unreachable`);
}

async function send(backend: BackendConfig, url: URL, init: RequestInit, signal?: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "manual", ...(signal && { signal }) });
  } catch {
    throw fetchFailure(backend.name, signal);
  }
}

/** A tool result from the API's answer: its text, and `structuredContent` when it is JSON. */
async function toolResult(backend: BackendConfig, res: Response): Promise<Json> {
  const text = await readBoundedText(backend.name, res);
  if (!res.ok) {
    const head = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
    return { content: [{ type: "text", text: text ? `${head}: ${text}` : head }], isError: true };
  }
  const out: Json = { content: [{ type: "text", text: text || `HTTP ${res.status}` }] };
  if ((res.headers.get("content-type") ?? "").toLowerCase().includes("json") && text) {
    try {
      const value: unknown = JSON.parse(text);
      // MCP 2025 wants an object; anything else is wrapped as the gateway does for 2026 results.
      out.structuredContent =
        typeof value === "object" && value !== null && !Array.isArray(value) ? value : { result: value };
    } catch {
      // Text that says it is JSON but is not: the text alone.
    }
  }
  return out;
}

async function callTool(backend: BackendConfig, id: JsonRpcId, params: Json, options: CallOptions): Promise<Response> {
  const op = backend.openapi?.operations.find((o) => o.tool === params.name);
  if (!op) return failure(id, ErrorCode.InvalidParams, `Unknown tool: ${String(params.name).slice(0, 100)}`);
  const args = (params.arguments ?? {}) as Json;
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return failure(id, ErrorCode.InvalidParams, "arguments must be an object");
  }
  const checked = validatorFor(op).validate(args);
  if (!checked.valid) {
    const errors = checked.errors.slice(0, 10).map((e) => `${e.instanceLocation}: ${e.error}`);
    return failure(id, ErrorCode.InvalidParams, `Invalid arguments for tool ${op.tool}`, { errors });
  }
  let url: URL;
  let headers: Headers;
  try {
    url = requestUrl(backend.url, op, args);
    headers = requestHeaders(backend, op, args, options);
  } catch (err) {
    if (err instanceof BadArguments) return failure(id, ErrorCode.InvalidParams, err.message);
    throw err;
  }
  const body = op.body && args.body !== undefined ? JSON.stringify(args.body) : undefined;
  const res = await send(
    backend,
    url,
    { method: op.method.toUpperCase(), headers, ...(body !== undefined && { body }) },
    options.signal,
  );
  return result(id, await toolResult(backend, res));
}

/** A health probe: GET of the health path (2xx) or of the base URL (below 500). */
async function ping(backend: BackendConfig, id: JsonRpcId, options: CallOptions): Promise<Response> {
  const path = backend.openapi?.healthPath;
  const url = URL.parse(path ? backend.url.replace(/\/+$/, "") + path : backend.url);
  if (!url) throw new BackendFailure(backend.name, "malformed", `Backend '${backend.name}' has no usable health URL`);
  const res = await send(backend, url, { method: "GET", headers: openApiAuthHeaders(backend) }, options.signal);
  await res.body?.cancel().catch(() => undefined);
  const healthy = path ? res.ok : res.status < 500;
  if (!healthy)
    throw new BackendFailure(backend.name, "http", `Backend '${backend.name}' answered HTTP ${res.status}`, res.status);
  return result(id, {});
}

/**
 * Answers one JSON-RPC message sent to an OpenAPI backend as a stateless
 * MCP server would (JSON replies, 202 for notifications, no session).
 */
export async function postToOpenApi(backend: BackendConfig, message: unknown, options: CallOptions): Promise<Response> {
  const m = (typeof message === "object" && message !== null ? message : {}) as Json;
  const method = typeof m.method === "string" ? m.method : "";
  if (!("id" in m) || m.id === null) return new Response(null, { status: 202 });
  const id = m.id as JsonRpcId;
  const params = (typeof m.params === "object" && m.params !== null ? m.params : {}) as Json;
  switch (method) {
    case "initialize": {
      const asked = params.protocolVersion;
      const supported = (SUPPORTED_PROTOCOL_VERSIONS as readonly unknown[]).includes(asked);
      return result(id, {
        protocolVersion: supported ? asked : LATEST_PROTOCOL_VERSION,
        capabilities: { tools: {} },
        serverInfo: { name: `${SERVER_INFO.name}/openapi`, version: SERVER_INFO.version },
      });
    }
    case "tools/list":
      return result(id, { tools: (backend.openapi?.operations ?? []).map(toolOf) });
    case "tools/call":
      return callTool(backend, id, params, options);
    case "ping":
      return ping(backend, id, options);
    default:
      return failure(id, ErrorCode.MethodNotFound, `Method not found: ${method.slice(0, 100)}`);
  }
}
