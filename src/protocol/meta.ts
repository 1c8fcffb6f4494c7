/**
 * The per-request `_meta` envelope of MCP 2026-07-28 (basic/index, "_meta"):
 * the keys, and reading a request's envelope. A request "claims" the modern
 * era when its `_meta` has the protocol version key; a claim whose envelope is
 * invalid is refused with -32602 naming the key.
 */
import { z } from "zod";

/** Reserved `_meta` keys (MCP 2026-07-28). */
export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
} as const;

/** Logging levels, lowest first (RFC 5424 order as MCP uses it). */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const JsonObject = z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), {
  message: "must be an object",
});

const Envelope = z.object({
  [META.protocolVersion]: z.string().min(1).max(64),
  [META.clientCapabilities]: JsonObject.refine((c) => JSON.stringify(c).length <= 8192, "is too large"),
  [META.clientInfo]: z
    .object({ name: z.string().max(256), version: z.string().max(256) })
    .passthrough()
    .optional(),
  [META.logLevel]: z.enum(LOG_LEVELS).optional(),
});

/** What a modern request says about its client. */
export interface RequestEnvelope {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo?: { name: string; version: string };
  logLevel?: LogLevel;
}

/** The `_meta` of a request's params, if it is an object. */
export function metaOf(params: unknown): Record<string, unknown> | undefined {
  if (typeof params !== "object" || params === null) return undefined;
  const meta = (params as { _meta?: unknown })._meta;
  return typeof meta === "object" && meta !== null && !Array.isArray(meta)
    ? (meta as Record<string, unknown>)
    : undefined;
}

/** True when the request claims the modern era (its `_meta` carries a protocol version key). */
export function claimsModern(params: unknown): boolean {
  const meta = metaOf(params);
  return meta !== undefined && META.protocolVersion in meta;
}

/** Reads the envelope; on failure names the offending key (for -32602). */
export function readEnvelope(
  params: unknown,
): { ok: true; envelope: RequestEnvelope } | { ok: false; problem: string } {
  const parsed = Envelope.safeParse(metaOf(params) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path[0] === undefined ? "_meta" : `_meta["${String(issue.path[0])}"]`;
    return {
      ok: false,
      problem: `Invalid params: ${key} ${issue?.code === "invalid_type" && issue.input === undefined ? "is required" : (issue?.message ?? "is invalid")}`,
    };
  }
  const data = parsed.data;
  const info = data[META.clientInfo];
  const level = data[META.logLevel];
  return {
    ok: true,
    envelope: {
      protocolVersion: data[META.protocolVersion],
      capabilities: data[META.clientCapabilities],
      ...(info && { clientInfo: { name: info.name, version: info.version } }),
      ...(level && { logLevel: level }),
    },
  };
}
