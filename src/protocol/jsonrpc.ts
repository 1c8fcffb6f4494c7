/**
 * JSON-RPC 2.0 messages as MCP uses them, validated at the boundary with zod.
 */
import { z } from "zod";

export const JsonRpcIdSchema = z.union([z.string().max(256), z.number().int()]);
export type JsonRpcId = z.infer<typeof JsonRpcIdSchema>;

/**
 * A JSON object (params, result). Checked, not copied: `z.record` rebuilt
 * every key of every message and reply on the hot path for no extra safety
 * (handlers validate the fields they read).
 */
const JsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  { message: "Expected a JSON object" },
);

export const RequestSchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: JsonRpcIdSchema,
  method: z.string().min(1).max(256),
  params: JsonObject.optional(),
});
export const NotificationSchema = z.object({
  jsonrpc: z.literal("2.0"),
  method: z.string().min(1).max(256),
  params: JsonObject.optional(),
});
export const ErrorObjectSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});
export const ResponseSchema = z.union([
  z.object({ jsonrpc: z.literal("2.0"), id: JsonRpcIdSchema, result: JsonObject }),
  z.object({ jsonrpc: z.literal("2.0"), id: JsonRpcIdSchema.nullable(), error: ErrorObjectSchema }),
]);

export type JsonRpcRequest = z.infer<typeof RequestSchema>;
export type JsonRpcNotification = z.infer<typeof NotificationSchema>;
export type JsonRpcResponse = z.infer<typeof ResponseSchema>;
export type JsonRpcErrorObject = z.infer<typeof ErrorObjectSchema>;

/** A classified incoming message. */
export type JsonRpcMessage =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "response"; message: JsonRpcResponse };

/** Standard and MCP error codes. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Transport-level problems (the SDK's convention). */
  ServerError: -32000,
  SessionNotFound: -32001,
  /** MCP: resource not found. */
  ResourceNotFound: -32002,
  /** Gateway: the backend failed, timed out or is unavailable. */
  BackendError: -32010,
} as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The request the schema would accept, checked by hand, or null to let the
 * schema decide. Every client request is validated here (the boundary), and
 * zod's object parse was a measurable share of a warm call's CPU (issue 15);
 * this accepts exactly what `RequestSchema` accepts in the common shapes
 * and builds the same output (unknown keys dropped), and leaves anything
 * unusual, valid or not, to the schema.
 */
function plainRequest(value: Record<string, unknown>): JsonRpcRequest | null {
  const { jsonrpc, id, method, params } = value;
  if (jsonrpc !== "2.0" || typeof method !== "string" || method.length === 0 || method.length > 256) return null;
  if (validId(id) === null) return null;
  if (params === undefined) return { jsonrpc, id: id as JsonRpcId, method };
  return isPlainObject(params) ? { jsonrpc, id: id as JsonRpcId, method, params } : null;
}

/**
 * The result reply to request `id`, checked by hand (the backend's reply is
 * validated once, here), or null to let `ResponseSchema` decide: it accepts
 * a strict subset of what the schema accepts, and builds the same output.
 */
export function plainResultReply(value: unknown, id: JsonRpcId): JsonRpcResponse | null {
  if (!isPlainObject(value) || value.jsonrpc !== "2.0" || value.id !== id || !isPlainObject(value.result)) return null;
  if ("error" in value) return null;
  return { jsonrpc: "2.0", id, result: value.result };
}

/** Classifies one parsed JSON value, or null if it is not a JSON-RPC message. */
export function classify(value: unknown): JsonRpcMessage | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const hasMethod = "method" in value;
  const hasId = "id" in value;
  if (hasMethod && hasId) {
    const plain = plainRequest(value as Record<string, unknown>);
    if (plain) return { kind: "request", message: plain };
    const r = RequestSchema.safeParse(value);
    return r.success ? { kind: "request", message: r.data } : null;
  }
  if (hasMethod) {
    const r = NotificationSchema.safeParse(value);
    return r.success ? { kind: "notification", message: r.data } : null;
  }
  const r = ResponseSchema.safeParse(value);
  return r.success ? { kind: "response", message: r.data } : null;
}

/**
 * The id of a request-shaped value (it has a `method`) when the schema accepts
 * the id, even if the rest of the message is invalid: JSON-RPC 2.0 §5 answers
 * with a null id only when the id could not be read.
 */
export function readableId(value: unknown): JsonRpcId | null {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !("method" in value)) return null;
  return validId((value as { id?: unknown }).id);
}

/** `JsonRpcIdSchema` checked by hand (every request reads its id; zod's union was a few µs of each). */
function validId(id: unknown): JsonRpcId | null {
  if (typeof id === "string") return id.length <= 256 ? id : null;
  return Number.isSafeInteger(id) ? (id as number) : null;
}

/** A response that is an error. */
export type JsonRpcErrorReply = Extract<JsonRpcResponse, { error: unknown }>;

/** A JSON-RPC error response. */
export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcErrorReply {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** A JSON-RPC result response. */
export function resultResponse(id: JsonRpcId, result: Record<string, unknown>): JsonRpcResponse {
  return { jsonrpc: "2.0", id, result };
}

/** An error thrown inside method handlers, turned into a JSON-RPC error response. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}
