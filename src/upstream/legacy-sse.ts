/**
 * Reaching legacy HTTP+SSE backends from the request path: every message
 * goes to the backend's Durable Object, which holds the connection
 * (`durable-objects/sse-connections.ts`) and answers like a Streamable HTTP
 * backend would, so the rest of the edge treats both transports alike.
 */
import { env } from "cloudflare:workers";
import type { LegacyAnswer } from "../../durable-objects/sse-connections";
import type { Bindings } from "../env";
import { backendObject } from "../stubs";
import { BackendFailure } from "./failure";
import type { LegacyPoster } from "./types";

/** Turns a Durable Object's answer into the HTTP response a Streamable HTTP backend would give. */
export function legacyResponse(backend: string, answer: LegacyAnswer): Response {
  if (!answer.ok) throw new BackendFailure(backend, answer.kind, answer.message);
  if (!answer.stream) return new Response(null, { status: 202 });
  return new Response(answer.stream, { headers: { "content-type": "text/event-stream" } });
}

/** Rejects when `signal` aborts, so a caller's deadline also bounds the RPC. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    work.then(resolve, reject);
  });
}

/** The default route to a legacy backend: its Durable Object, by name. */
export const viaBackendObject: LegacyPoster = async (backend, message, options) => {
  const key = options.session?.sessionId;
  if (!key) throw new BackendFailure(backend.name, "session-expired", `Backend '${backend.name}' has no connection`);
  const stub = backendObject(env as Bindings, backend.name);
  const call: Promise<LegacyAnswer> = (async () => (await stub.ssePost(backend, key, message)) as LegacyAnswer)();
  return legacyResponse(backend.name, await raceAbort(call, options.signal));
};
