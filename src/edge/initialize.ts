/**
 * `initialize` (MCP basic/lifecycle): version negotiation, the gateway's own
 * server info, the union of the endpoint's backend capabilities, and a new
 * session. Backends are initialized lazily, per client session, on first use.
 */
import { z } from "zod";
import { serverCapabilities } from "../core/capabilities";
import { catalogs } from "../core/catalog";
import type { Endpoint } from "../core/federation";
import { buildView } from "../core/federation";
import type { Bindings } from "../env";
import {
  ErrorCode,
  errorResponse,
  type JsonRpcRequest,
  type JsonRpcResponse,
  resultResponse,
} from "../protocol/jsonrpc";
import { capabilityProfile } from "../protocol/profiles";
import { LATEST_PROTOCOL_VERSION, SERVER_INFO, SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/versions";
import type { ClientInit } from "../upstream/types";
import { createSession } from "./sessions";

const InitializeParams = z.object({
  protocolVersion: z.string().max(64),
  capabilities: z
    .record(z.string(), z.unknown())
    .refine((c) => JSON.stringify(c).length <= 8192, "capabilities too large"),
  clientInfo: z.object({ name: z.string().max(256), version: z.string().max(256) }).passthrough(),
});

/** The answer to `initialize` and, when it is a success, what the session starts from. */
export interface InitializeAnswer {
  body: JsonRpcResponse;
  /** Present on success: the client's init for upstream sessions and the negotiated version. */
  accepted?: { init: ClientInit; protocolVersion: string };
}

/**
 * Answers initialize for an endpoint without opening a session (each
 * transport opens its own): validation, negotiation among `versions`, the
 * gateway's own server info and the union of the endpoint's capabilities.
 */
export async function initializeAnswer(
  env: Bindings,
  endpoint: Endpoint,
  request: JsonRpcRequest,
  defer: (work: Promise<unknown>) => void,
  versions: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS,
): Promise<InitializeAnswer> {
  const parsed = InitializeParams.safeParse(request.params ?? {});
  if (!parsed.success) {
    return {
      body: errorResponse(
        request.id,
        ErrorCode.InvalidParams,
        "Invalid initialize params",
        parsed.error.issues.map((i) => i.path.join(".")),
      ),
    };
  }
  const { protocolVersion, capabilities, clientInfo } = parsed.data;
  const negotiated = versions.includes(protocolVersion) ? protocolVersion : LATEST_PROTOCOL_VERSION;

  const profile = capabilityProfile(capabilities);
  const { catalogs: found } = await catalogs(env, endpoint.backends, profile, defer);
  const merged = serverCapabilities(buildView(endpoint, found));
  return {
    body: resultResponse(request.id, { protocolVersion: negotiated, capabilities: merged, serverInfo: SERVER_INFO }),
    accepted: {
      init: { capabilities, clientInfo: { name: clientInfo.name, version: clientInfo.version } },
      protocolVersion: negotiated,
    },
  };
}

/** Handles initialize; returns the response and the new session id. */
export async function handleInitialize(
  env: Bindings,
  endpoint: Endpoint,
  subject: string,
  request: JsonRpcRequest,
  defer: (work: Promise<unknown>) => void,
): Promise<{ body: JsonRpcResponse; sessionId?: string }> {
  const answer = await initializeAnswer(env, endpoint, request, defer);
  if (!answer.accepted) return { body: answer.body };
  const session = await createSession(
    env,
    subject,
    endpoint.key,
    answer.accepted.protocolVersion,
    answer.accepted.init,
  );
  return { body: answer.body, sessionId: session.id };
}
