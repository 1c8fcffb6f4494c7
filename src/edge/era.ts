/**
 * Which protocol era a POST belongs to (MCP 2026-07-28 basic/versioning,
 * "Backward compatibility"; the order is the SDK v2's `classifyInboundRequest`,
 * which the conformance suite's probes pin). The body decides; the
 * `MCP-Protocol-Version` header only cross-checks it and never changes the era:
 *
 * - a request whose `_meta` carries `io.modelcontextprotocol/protocolVersion`
 *   is modern (served statelessly), even with an `Mcp-Session-Id`;
 * - `initialize`, session traffic, posted responses and all-2025 batches are
 *   legacy, unchanged;
 * - contradictions are refused before anything runs: a batch holding a modern
 *   message (-32600), an invalid envelope (-32602), a header naming another
 *   version or method than the body (-32020), a modern header on a request
 *   without the envelope (-32602), all with HTTP 400.
 *
 * Pure: tested without a Worker.
 */
import { ModernError } from "../protocol/eras";
import { claimsModern, type RequestEnvelope, readEnvelope } from "../protocol/meta";
import { isModernVersion } from "../protocol/versions";

/** A refusal: HTTP status, JSON-RPC code and message (the request's id is added by the caller). */
export interface EraRefusal {
  status: number;
  code: number;
  message: string;
}

/** The verdict on one POST body. */
export type EraVerdict =
  | { era: "legacy" }
  | { era: "modern"; method: string; params: Record<string, unknown>; envelope: RequestEnvelope }
  | { era: "modern-notification"; method: string }
  | { refuse: EraRefusal };

/** The headers the classification reads (null when absent). */
export interface EraHeaders {
  protocolVersion: string | null;
  method: string | null;
}

function refuse(status: number, code: number, message: string): EraVerdict {
  return { refuse: { status, code, message } };
}

function paramsOf(message: Record<string, unknown>): unknown {
  return message.params;
}

/** Classifies a parsed POST body. */
export function classifyEra(body: unknown, headers: EraHeaders): EraVerdict {
  const headerModern = headers.protocolVersion !== null && isModernVersion(headers.protocolVersion);
  if (Array.isArray(body)) {
    const modern = body.some((m) => typeof m === "object" && m !== null && claimsModern(paramsOf(m)));
    return modern
      ? refuse(400, -32600, "Invalid Request: batches are not part of protocol 2026-07-28")
      : { era: "legacy" };
  }
  if (typeof body !== "object" || body === null || typeof (body as { method?: unknown }).method !== "string") {
    return { era: "legacy" };
  }
  const message = body as Record<string, unknown>;
  const method = message.method as string;
  const params = paramsOf(message);
  if (!claimsModern(params)) {
    if (!headerModern) return { era: "legacy" };
    if (method === "initialize") {
      return refuse(
        400,
        ModernError.HeaderMismatch,
        `Header mismatch: MCP-Protocol-Version ${headers.protocolVersion} does not fit initialize`,
      );
    }
    return refuse(400, -32602, 'Invalid params: _meta["io.modelcontextprotocol/protocolVersion"] is required');
  }
  if (!("id" in message)) return { era: "modern-notification", method };
  const read = readEnvelope(params);
  if (!read.ok) return refuse(400, -32602, read.problem);
  const { envelope } = read;
  if (headers.protocolVersion !== null && headers.protocolVersion !== envelope.protocolVersion) {
    return refuse(
      400,
      ModernError.HeaderMismatch,
      `Header mismatch: MCP-Protocol-Version '${headers.protocolVersion.slice(0, 64)}' does not match the body's '${envelope.protocolVersion}'`,
    );
  }
  if (headers.method !== null && headers.method !== method) {
    return refuse(
      400,
      ModernError.HeaderMismatch,
      `Header mismatch: Mcp-Method '${headers.method.slice(0, 256)}' does not match the body's '${method.slice(0, 256)}'`,
    );
  }
  return { era: "modern", method, params: params as Record<string, unknown>, envelope };
}
