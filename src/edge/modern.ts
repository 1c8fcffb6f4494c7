/**
 * POSTs of the 2026 era (MCP 2026-07-28 basic/transports): stateless, every
 * request carries its client's capabilities in `_meta`, the mirrored headers
 * must agree with the body, and the methods are the 2026 registry. After the
 * checks, the request goes to the same era-neutral dispatch as 2025 traffic,
 * with this era's adapter (`era-2026.ts`) shaping the answers and the caller's
 * upstream sessions (`callerSession`) for 2025 backends.
 *
 * Statuses (basic/transports, "Error handling"): -32020, -32021, -32022 and
 * envelope errors are HTTP 400, an unknown or removed method is 404 with
 * -32601, every other error is in-band with 200; all carry the request's id.
 */
import type { Context } from "hono";
import { credentialOf } from "../auth/authenticate";
import { gatewayOrigin } from "../auth/oauth/resource";
import { serverCapabilities } from "../core/capabilities";
import type { McpContext, Outcome } from "../core/context";
import { dispatch } from "../core/dispatch";
import { declaresTasks, needsTasksExtension, TASKS_EXTENSION } from "../core/task-extension";
import { federatedView } from "../core/views";
import { chainFor } from "../plugins/chain";
import { ModernError } from "../protocol/eras";
import { ErrorCode, type JsonRpcId, type JsonRpcRequest, resultResponse } from "../protocol/jsonrpc";
import { scanParamHeaders } from "../protocol/mcp-headers";
import { META, type RequestEnvelope } from "../protocol/meta";
import { capabilityProfile } from "../protocol/profiles";
import { MODERN_PROTOCOL_VERSIONS } from "../protocol/versions";
import { callerSession } from "./caller-sessions";
import type { EraVerdict } from "./era";
import { modernEra } from "./era-2026";
import { TransportError } from "./errors";
import { describe, outcomeResponse } from "./messages";
import type { McpEnv } from "./middleware";
import { paramHeaderProblem, standardHeaderProblem } from "./modern-headers";
import { readFilter, subscriptionStream } from "./subscriptions";

/**
 * The 2026 method registry. Removed methods are 404 -32601 here; any other
 * method goes to the core, which answers extensions (Skills) and applies the
 * unknown-method policy (`core/extensions.ts`: pass-through or 404 -32601).
 */
const METHODS = new Set([
  "server/discover",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
  "subscriptions/listen",
  // The tasks extension (core/task-extension.ts); its removed 2025 methods tasks/result and tasks/list stay 404.
  "tasks/get",
  "tasks/update",
  "tasks/cancel",
]);

/** 2025 methods the 2026 revision removed (changelog): never passed through, even to a single backend. */
const REMOVED = new Set([
  "initialize",
  "ping",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
  "tasks/result",
  "tasks/list",
]);

/** The capability a method needs the server to have advertised (else -32601, as discover promised). */
const NEEDS: Record<string, string> = {
  "tools/list": "tools",
  "tools/call": "tools",
  "prompts/list": "prompts",
  "prompts/get": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resources",
  "resources/read": "resources",
  "completion/complete": "completions",
  "tasks/get": "tasks",
  "tasks/update": "tasks",
  "tasks/cancel": "tasks",
};

/** `_meta` keys that describe the client to this hop; never forwarded (a backend gets its own envelope). */
const ENVELOPE_KEYS = new Set<string>([META.protocolVersion, META.clientCapabilities, META.clientInfo, META.logLevel]);

function withoutEnvelope(params: Record<string, unknown>): Record<string, unknown> {
  const meta = params._meta as Record<string, unknown>;
  const rest = Object.fromEntries(Object.entries(meta).filter(([k]) => !ENVELOPE_KEYS.has(k)));
  return { ...params, _meta: rest };
}

function refuse(status: number, code: number, message: string, data?: unknown): never {
  throw new TransportError(status, code, message, {}, data);
}

/** The context of a modern request: the caller's own upstream sessions and this era's adapter. */
async function modernContext(c: Context<McpEnv>, envelope: RequestEnvelope, bytes: number): Promise<McpContext> {
  const spans = c.get("spans");
  const config = c.get("config");
  const endpoint = c.get("endpoint");
  const subject = c.get("subject");
  const profile = capabilityProfile(envelope.capabilities);
  // A listing is the same for everyone only on an open server with no per-user list filter.
  const open = endpoint.server?.auth === "none" && (chainFor(config, c.env)?.listFilters.length ?? 0) === 0;
  return {
    env: c.env,
    config,
    endpoint,
    caller: { subject, profile, principal: c.get("principal"), ...credentialOf(c.req.header("authorization")) },
    upstreams: await callerSession(c.env, subject, endpoint.key, profile),
    era: modernEra({
      listScope: open ? "public" : "private",
      ...(envelope.logLevel && { logLevel: envelope.logLevel }),
    }),
    defer: (work) => c.executionCtx.waitUntil(work),
    traceparent: spans.root.traceparent,
    origin: gatewayOrigin(c.env, c.req.url),
    spans,
    requestBytes: bytes,
    clientSignal: c.req.raw.signal,
    tasksExtension: declaresTasks(envelope.capabilities),
  };
}

/** `server/discover`: what the federated server speaks and offers (server/discover; cacheable). */
async function discover(ctx: McpContext, id: JsonRpcId): Promise<Outcome> {
  const { tasks, ...offered } = serverCapabilities(await federatedView(ctx));
  const capabilities: Record<string, unknown> = { ...offered };
  // 2026 has no `tasks` slot: task-capable backends make the gateway offer the extension (SEP-2663).
  if (tasks !== undefined) {
    const extensions = (capabilities.extensions ?? {}) as Record<string, unknown>;
    capabilities.extensions = { ...extensions, [TASKS_EXTENSION]: {} };
  }
  const result = { supportedVersions: [...MODERN_PROTOCOL_VERSIONS], capabilities };
  return { kind: "json", body: resultResponse(id, ctx.era.result("server/discover", result)) };
}

function statusOf(outcome: Outcome): number {
  if (outcome.kind !== "json" || !("error" in outcome.body)) return 200;
  const code = outcome.body.error.code;
  if (code === ErrorCode.MethodNotFound) return 404;
  return code === ModernError.MissingClientCapability ? 400 : 200;
}

/** Mcp-Param-* must mirror the arguments the called tool's schema marks with `x-mcp-header`. */
async function checkParamHeaders(c: Context<McpEnv>, ctx: McpContext, params: Record<string, unknown>): Promise<void> {
  const tool = (await federatedView(ctx)).toolsByName.get(String(params.name))?.item;
  const declared = scanParamHeaders(tool?.inputSchema) ?? [];
  if (declared.length === 0) return;
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  const problem = paramHeaderProblem(declared, args, (name) => c.req.header(name) ?? null);
  if (problem) refuse(400, ModernError.HeaderMismatch, problem);
}

/** Serves one modern request (`verdict` from `classifyEra`). */
export async function modernPost(
  c: Context<McpEnv>,
  verdict: Extract<EraVerdict, { era: "modern" }>,
  id: JsonRpcId,
  bytes: number,
): Promise<Response> {
  const { method, params, envelope } = verdict;
  if (!(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(envelope.protocolVersion)) {
    refuse(400, ModernError.UnsupportedVersion, "Unsupported protocol version", {
      supported: [...MODERN_PROTOCOL_VERSIONS],
      requested: envelope.protocolVersion,
    });
  }
  const header = (name: string) => c.req.header(name) ?? null;
  const headers = {
    protocolVersion: header("mcp-protocol-version"),
    method: header("mcp-method"),
    name: header("mcp-name"),
  };
  const problem = standardHeaderProblem(headers, method, params);
  if (problem) refuse(400, ModernError.HeaderMismatch, problem);
  if (!METHODS.has(method) && (REMOVED.has(method) || method.startsWith("notifications/"))) {
    refuse(404, ErrorCode.MethodNotFound, `Method not found: ${method.slice(0, 256)}`);
  }

  const ctx = await modernContext(c, envelope, bytes);
  const request: JsonRpcRequest = { jsonrpc: "2.0", id, method, params: withoutEnvelope(params) };
  describe(c.get("spans"), { kind: "request", message: request });
  let outcome: Outcome;
  try {
    if (method === "server/discover") {
      outcome = await discover(ctx, id);
    } else if (method === "subscriptions/listen") {
      outcome = { kind: "sse", stream: await subscriptionStream(ctx, id, readFilter(params)) };
    } else {
      const needs = NEEDS[method];
      if (needs && serverCapabilities(await federatedView(ctx))[needs] === undefined) {
        refuse(404, ErrorCode.MethodNotFound, `Method not found: ${method} (this server has no ${needs})`);
      }
      if (method.startsWith("tasks/") && !ctx.tasksExtension) throw needsTasksExtension();
      if (method === "tools/call") await checkParamHeaders(c, ctx, params);
      outcome = await dispatch(ctx, request);
    }
  } catch (err) {
    if (err instanceof TransportError) throw err;
    outcome = { kind: "json", body: ctx.era.fail(err, id) };
  }
  if (outcome.kind === "json" && "error" in outcome.body) {
    c.get("spans").root.set({ "rpc.error": outcome.body.error.code });
  }
  const response = outcomeResponse(outcome);
  const status = statusOf(outcome);
  return status === 200 ? response : new Response(response.body, { status, headers: response.headers });
}
