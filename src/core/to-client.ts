/**
 * What a message a backend sends during a call or on its own stream becomes
 * for the client (MCP basic/transports): server-to-client request ids made
 * routable from any isolate (`names.ts`), the references it carries in
 * public form (`references.ts`), and a listing change that drops the
 * isolate's cached catalogs of that backend.
 */
import type { JsonRpcId } from "../protocol/jsonrpc";
import { forgetCatalogs } from "./catalog";
import { gatewayRequestId } from "./names";
import { mapMessage, outbound } from "./references";

/** Rewrites a message the backend sent during a call into what the client sees. */
export function toClient(backend: string, prefix: boolean, message: Record<string, unknown>): Record<string, unknown> {
  const method = typeof message.method === "string" ? message.method : "";
  const mapped = prefix ? mapMessage(message, outbound(backend)) : message;
  if ("id" in message && method) {
    return { ...mapped, id: gatewayRequestId(backend, message.id as JsonRpcId) };
  }
  const params = (message.params ?? {}) as Record<string, unknown>;
  if (method === "notifications/cancelled" && params.requestId !== undefined) {
    return { ...message, params: { ...params, requestId: gatewayRequestId(backend, params.requestId as JsonRpcId) } };
  }
  if (method.endsWith("/list_changed")) forgetCatalogs(backend);
  return mapped;
}
