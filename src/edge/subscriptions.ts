/**
 * `subscriptions/listen` (MCP 2026-07-28 basic/patterns/subscriptions): a
 * POST whose answer is a long-lived SSE stream of the notifications the
 * client asked for, each stamped with `_meta.subscriptionId` = the listen
 * request's id, after an acknowledgement that comes first and names the
 * honoured subset. Progress and log messages never travel here.
 *
 * Behind it, each streamable-HTTP backend of the endpoint gets an upstream
 * session of its own for this stream (opened here, closed when the client
 * leaves): its GET stream carries list changes, and `resources/subscribe`
 * in it brings updates for the subscribed URIs. One session per stream keeps
 * two subscriptions of one caller from fighting over a backend's single GET
 * stream (409), and nothing outlives the client (design rule 8).
 *
 * Bounds (design rule 5): at most `MAX_STREAMS` per isolate, `MAX_BACKENDS`
 * backends and `MAX_URIS` URIs per stream, the acknowledgement waits at most
 * `READY_MS` for the backends' streams, and a stream ends gracefully (with
 * the closing result) after `MAX_LIFETIME_MS`; the client reconnects.
 */
import type { BackendConfig } from "../config/snapshot";
import { serverCapabilities } from "../core/capabilities";
import type { McpContext } from "../core/context";
import { routeUri } from "../core/federation";
import { toClient } from "../core/to-client";
import { federatedView } from "../core/views";
import { ErrorCode, type JsonRpcId, RpcError } from "../protocol/jsonrpc";
import { META } from "../protocol/meta";
import { profileCapabilities } from "../protocol/profiles";
import { encodeSseComment, encodeSseMessage, parseSse } from "../protocol/sse";
import { initialize, openStream, request, terminate } from "../upstream/http";
import type { UpstreamSession } from "../upstream/types";
import { sleep } from "../util/time";

const MAX_STREAMS = 256;
const MAX_BACKENDS = 64;
const MAX_URIS = 100;
const READY_MS = 3_000;
const KEEPALIVE_MS = 15_000;
const MAX_LIFETIME_MS = 60 * 60 * 1000;

/** What a listen request asks for (all optional but the object itself). */
export interface SubscriptionFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

let open = 0;

/** Reads the filter; -32602 when it is missing or malformed. */
export function readFilter(params: Record<string, unknown>): SubscriptionFilter {
  const raw = params.notifications;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new RpcError(ErrorCode.InvalidParams, "Invalid params: 'notifications' must be an object");
  }
  const n = raw as Record<string, unknown>;
  const flag = (key: string) => {
    if (n[key] !== undefined && typeof n[key] !== "boolean") {
      throw new RpcError(ErrorCode.InvalidParams, `Invalid params: 'notifications.${key}' must be a boolean`);
    }
    return n[key] === true;
  };
  const uris = n.resourceSubscriptions;
  if (uris !== undefined && (!Array.isArray(uris) || uris.some((u) => typeof u !== "string" || u.length > 2048))) {
    throw new RpcError(ErrorCode.InvalidParams, "Invalid params: 'notifications.resourceSubscriptions' must list URIs");
  }
  if (Array.isArray(uris) && uris.length > MAX_URIS) {
    throw new RpcError(ErrorCode.InvalidParams, `Invalid params: at most ${MAX_URIS} resource subscriptions`);
  }
  return {
    toolsListChanged: flag("toolsListChanged"),
    promptsListChanged: flag("promptsListChanged"),
    resourcesListChanged: flag("resourcesListChanged"),
    resourceSubscriptions: (uris as string[] | undefined) ?? [],
  };
}

/** The subset the server can honour, given its capabilities (the acknowledgement's `notifications`). */
export function honoured(
  filter: SubscriptionFilter,
  capabilities: Readonly<Record<string, unknown>>,
): SubscriptionFilter {
  const listChanged = (key: string) =>
    (capabilities[key] as { listChanged?: unknown } | undefined)?.listChanged === true;
  const subscribe = (capabilities.resources as { subscribe?: unknown } | undefined)?.subscribe === true;
  const out: SubscriptionFilter = {};
  if (filter.toolsListChanged && listChanged("tools")) out.toolsListChanged = true;
  if (filter.promptsListChanged && listChanged("prompts")) out.promptsListChanged = true;
  if (filter.resourcesListChanged && listChanged("resources")) out.resourcesListChanged = true;
  if (subscribe && filter.resourceSubscriptions?.length) out.resourceSubscriptions = filter.resourceSubscriptions;
  return out;
}

/** Whether a backend notification (public URIs already) is one the subscription asked for. */
export function wanted(filter: SubscriptionFilter, message: Record<string, unknown>): boolean {
  switch (message.method) {
    case "notifications/tools/list_changed":
      return filter.toolsListChanged === true;
    case "notifications/prompts/list_changed":
      return filter.promptsListChanged === true;
    case "notifications/resources/list_changed":
      return filter.resourcesListChanged === true;
    case "notifications/resources/updated": {
      const uri = (message.params as { uri?: unknown } | undefined)?.uri;
      if (typeof uri !== "string") return false;
      // The updated URI may be a sub-resource of a subscribed one.
      return (filter.resourceSubscriptions ?? []).some(
        (s) => uri === s || uri.startsWith(s.endsWith("/") ? s : `${s}/`),
      );
    }
    default:
      return false;
  }
}

/** Stamps a notification with the subscription's id (the listen request's id, same JSON type). */
function stamped(message: Record<string, unknown>, id: JsonRpcId): Record<string, unknown> {
  const params = (message.params ?? {}) as Record<string, unknown>;
  const meta = (params._meta ?? {}) as Record<string, unknown>;
  return { ...message, params: { ...params, _meta: { ...meta, [META.subscriptionId]: id } } };
}

/**
 * Follows one backend for this subscription: a session of its own, its
 * resource subscriptions, and its GET stream until `signal` aborts.
 */
async function followBackend(
  ctx: McpContext,
  backend: BackendConfig,
  uris: readonly string[],
  deliver: (message: Record<string, unknown>) => void,
  ready: () => void,
  signal: AbortSignal,
): Promise<void> {
  let session: UpstreamSession | undefined;
  try {
    session = await initialize(backend, { capabilities: profileCapabilities(ctx.caller.profile) });
    for (const uri of uris) await request(backend, "resources/subscribe", { uri }, session).catch(() => undefined);
    const res = await openStream(backend, { session, signal, traceparent: ctx.traceparent });
    ready();
    if (!(res.headers.get("content-type") ?? "").includes("text/event-stream") || !res.body) {
      await res.body?.cancel();
      return;
    }
    for await (const event of parseSse(res.body)) {
      if (event.event !== "message" || !event.data) continue;
      const value: unknown = JSON.parse(event.data);
      if (typeof value !== "object" || value === null || "id" in value || !("method" in value)) continue;
      deliver(toClient(backend.name, ctx.endpoint.prefix, value as Record<string, unknown>));
    }
  } catch {
    // A backend that cannot be followed contributes nothing; the others go on.
  } finally {
    ready();
    if (session) ctx.defer(terminate(backend, session).catch(() => undefined));
  }
}

/** Opens the subscription stream for a listen request with id `id`. */
export async function subscriptionStream(
  ctx: McpContext,
  id: JsonRpcId,
  filter: SubscriptionFilter,
): Promise<ReadableStream<Uint8Array>> {
  if (open >= MAX_STREAMS) throw new RpcError(ErrorCode.InternalError, "Subscription limit reached");
  const view = await federatedView(ctx);
  const accepted = honoured(filter, serverCapabilities(view));
  // Resource URIs go to the backend that serves them, in its original form.
  const uris = new Map<string, string[]>();
  for (const uri of accepted.resourceSubscriptions ?? []) {
    const route = routeUri(ctx.endpoint, uri, view);
    if (route) uris.set(route.backend, [...(uris.get(route.backend) ?? []), route.uri]);
  }
  const backends = ctx.endpoint.backends.filter((b) => b.transport === "streamable-http").slice(0, MAX_BACKENDS);

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const stop = new AbortController();
  const write = (message: Record<string, unknown>) => writer.write(encodeSseMessage(message)).catch(() => stop.abort());
  let acknowledged = false;
  const early: Record<string, unknown>[] = [];
  const deliver = (message: Record<string, unknown>) => {
    if (!wanted(accepted, message)) return;
    const out = stamped(message, id);
    if (acknowledged) void write(out);
    else if (early.length < 64) early.push(out);
  };
  writer.closed.catch(() => stop.abort());
  ctx.clientSignal?.addEventListener("abort", () => stop.abort(), { once: true });

  open++;
  const work = (async () => {
    const keepalive = setInterval(
      () => writer.write(encodeSseComment("keep-alive")).catch(() => stop.abort()),
      KEEPALIVE_MS,
    );
    try {
      const readiness: Promise<void>[] = [];
      const following = backends.map((backend) => {
        let ready: () => void = () => undefined;
        readiness.push(
          new Promise<void>((resolve) => {
            ready = resolve;
          }),
        );
        return followBackend(ctx, backend, uris.get(backend.name) ?? [], deliver, () => ready(), stop.signal);
      });
      // The acknowledgement comes first; it waits (boundedly) for the backends' streams, so a
      // change made right after it is not missed.
      await Promise.race([Promise.all(readiness), sleep(READY_MS, stop.signal)]);
      await write({
        jsonrpc: "2.0",
        method: "notifications/subscriptions/acknowledged",
        params: { _meta: { [META.subscriptionId]: id }, notifications: accepted },
      });
      acknowledged = true;
      for (const message of early.splice(0)) await write(message);
      await sleep(MAX_LIFETIME_MS, stop.signal);
      if (!stop.signal.aborted) {
        // Ending it ourselves: the closing result, so the client knows it was not a drop.
        await write({ jsonrpc: "2.0", id, result: { resultType: "complete", _meta: { [META.subscriptionId]: id } } });
      }
      stop.abort();
      await Promise.all(following);
    } finally {
      clearInterval(keepalive);
      open--;
      await writer.close().catch(() => undefined);
    }
  })();
  ctx.defer(work);
  return readable;
}
