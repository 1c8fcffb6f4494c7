/**
 * The input-required bridge: a 2025 client in front of a 2026-07-28 backend
 * (brief §13, "C25 → B26"; the model is the SDK's own legacy shim).
 *
 * A 2026 backend that needs the client's input answers a call with an
 * `InputRequiredResult` (MCP 2026-07-28 basic/patterns/mrtr) instead of
 * sending server-to-client requests. A 2025 client cannot take that result,
 * so the gateway does what a 2026 client would: it sends each of
 * `inputRequests` to the client as a real JSON-RPC request on the call's SSE
 * stream (ids `mcpgw-in:<random>`), waits for the answers, and retries the
 * backend call with a new id, the answers as `inputResponses` and the
 * byte-exact `requestState`, until the backend completes.
 *
 * The client POSTs each answer to whichever isolate its request lands on; the
 * client session's SessionDO is the rendezvous (`LegacyClient`), so the
 * isolate running the call gets it. Bounded (design rule 5): at most
 * `maxRounds` rounds and `maxRequests` requests per round, each round
 * `roundTimeoutMs`; a round with only `requestState` (load shedding) is
 * retried after `statePauseMs`. Requests the client did not declare the
 * capability for end the call with -32021 and `requiredCapabilities`, as a
 * 2026 server would answer. Plugins' hooks run once, before the first
 * attempt and on the final result, as in the other era.
 */
import { ModernError } from "../protocol/eras";
import { ErrorCode, type JsonRpcRequest, type JsonRpcResponse, RpcError } from "../protocol/jsonrpc";
import { isModernVersion } from "../protocol/versions";
import { BackendFailure } from "../upstream/failure";
import type { UpstreamSession } from "../upstream/types";
import { randomHex } from "../util/bytes";
import { sleep } from "../util/time";
import type { LegacyClient } from "./context";

/** Ids of the gateway's own requests to a 2025 client (never `mcpgw:`, which names a backend's request). */
export const INPUT_ID_PREFIX = "mcpgw-in:";

/** The bridge's bounds. */
export interface InputLimits {
  maxRounds: number;
  maxRequests: number;
  roundTimeoutMs: number;
  statePauseMs: number;
  maxStateBytes: number;
}

/** The bounds in use: 8 rounds and the pause as the SDK's shim; a person gets 5 minutes per round. */
export const INPUT_LIMITS: InputLimits = {
  maxRounds: 8,
  maxRequests: 16,
  roundTimeoutMs: 300_000,
  statePauseMs: 250,
  maxStateBytes: 256 * 1024,
};

/** True for the id of a gateway request to a 2025 client (its answer goes to the rendezvous). */
export function isInputAnswerId(id: unknown): id is string {
  return typeof id === "string" && id.startsWith(INPUT_ID_PREFIX) && id.length <= 64;
}

/**
 * The client of a 2025-03-26 batch: messages a backend sends during a
 * batch member's call are not relayed (`edge/messages.ts`), so input
 * requests cannot reach it; asking fails the call at once instead of
 * waiting out a round. Answers arriving in a batch are still delivered.
 */
export function batchClient(client: LegacyClient): LegacyClient {
  return {
    awaitAnswer: async () => {
      throw new RpcError(ErrorCode.InvalidRequest, "A call inside a JSON-RPC batch cannot ask the client for input");
    },
    deliverAnswer: (id, answer) => client.deliverAnswer(id, answer),
  };
}

/** True when `reply` is an `InputRequiredResult` the gateway must fulfil for a 2025 client. */
export function needsInput(
  legacyClient: LegacyClient | undefined,
  upstream: UpstreamSession | undefined,
  reply: JsonRpcResponse,
): boolean {
  return (
    legacyClient !== undefined &&
    isModernVersion(upstream?.protocolVersion) &&
    "result" in reply &&
    reply.result.resultType === "input_required"
  );
}

/** What one bridged call needs from the relay. */
export interface InputRound {
  backend: string;
  client: LegacyClient;
  /** The client's capabilities, as declared to the backend. */
  capabilities: Record<string, unknown>;
  /** The request as first sent to the backend. */
  request: JsonRpcRequest;
  /** Sends a retry to the backend and reads its reply, relaying what the backend streams meanwhile. */
  send(request: JsonRpcRequest): Promise<JsonRpcResponse>;
  /** Writes a gateway request on the client's stream. */
  ask(message: Record<string, unknown>): Promise<void>;
  /** Stops the call's idle deadline while a person answers; `touch` restarts it. */
  hold(): void;
  touch(): void;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

type InputRequest = { method: string; params: Record<string, unknown> };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The requests and state of an `InputRequiredResult`; a malformed one is the backend's failure. */
function parse(
  io: InputRound,
  result: Record<string, unknown>,
  limits: InputLimits,
): { requests: Array<[string, InputRequest]>; state?: string } {
  const malformed = (why: string) =>
    new BackendFailure(io.backend, "malformed", `Backend '${io.backend}' sent a malformed InputRequiredResult: ${why}`);
  const { inputRequests, requestState } = result;
  if (inputRequests !== undefined && !isRecord(inputRequests)) throw malformed("inputRequests is not an object");
  if (requestState !== undefined && typeof requestState !== "string") throw malformed("requestState is not a string");
  if (typeof requestState === "string" && requestState.length > limits.maxStateBytes)
    throw malformed("requestState is too large");
  const requests: Array<[string, InputRequest]> = [];
  for (const [key, value] of Object.entries(inputRequests ?? {})) {
    if (requests.length >= limits.maxRequests) throw malformed(`more than ${limits.maxRequests} input requests`);
    if (!isRecord(value) || typeof value.method !== "string") throw malformed(`input request '${key.slice(0, 64)}'`);
    requests.push([key, { method: value.method, params: isRecord(value.params) ? value.params : {} }]);
  }
  if (requests.length === 0 && requestState === undefined) throw malformed("neither inputRequests nor requestState");
  return { requests, ...(typeof requestState === "string" && { state: requestState }) };
}

/**
 * The capabilities the client lacks for `requests`, as a 2026
 * `requiredCapabilities` object (basic/patterns/mrtr, server requirements;
 * the SDK's rules: a bare `elicitation: {}` means form mode, URL mode needs
 * `elicitation.url`, sampling with tools needs `sampling.tools`), or null.
 */
export function missingCapabilities(
  backend: string,
  requests: ReadonlyArray<[string, InputRequest]>,
  capabilities: Record<string, unknown>,
): Record<string, object> | null {
  const missing: Record<string, Record<string, object>> = {};
  const need = (cap: string, sub?: string) => {
    missing[cap] = { ...missing[cap], ...(sub && { [sub]: {} }) };
  };
  for (const [, { method, params }] of requests) {
    if (method === "elicitation/create") {
      const declared = capabilities.elicitation;
      const modes = isRecord(declared) ? declared : null;
      if (params.mode === "url") {
        if (!isRecord(modes?.url)) need("elicitation", "url");
      } else if (!modes || (modes.form === undefined && modes.url !== undefined)) need("elicitation", "form");
    } else if (method === "sampling/createMessage") {
      const sampling = capabilities.sampling;
      if (!isRecord(sampling)) need("sampling");
      else if ((params.tools !== undefined || params.toolChoice !== undefined) && !isRecord(sampling.tools))
        need("sampling", "tools");
    } else if (method === "roots/list") {
      if (capabilities.roots === undefined) need("roots");
    } else {
      throw new BackendFailure(
        backend,
        "malformed",
        `Backend '${backend}' asked for input with '${method.slice(0, 64)}'`,
      );
    }
  }
  return Object.keys(missing).length > 0 ? missing : null;
}

/** The request as the 2025 wire has it: URL-mode elicitation needs an `elicitationId` there. */
function legacyRequest(id: string, { method, params }: InputRequest): Record<string, unknown> {
  const legacyParams =
    method === "elicitation/create" && params.mode === "url" && params.elicitationId === undefined
      ? { ...params, elicitationId: randomHex(16) }
      : params;
  return { jsonrpc: "2.0", id, method, params: legacyParams };
}

/** Asks the client every request of one round and collects the answers by key. */
async function gather(
  io: InputRound,
  requests: Array<[string, InputRequest]>,
  limits: InputLimits,
): Promise<Record<string, unknown>> {
  io.hold();
  try {
    const gone = new Promise<never>((_, reject) => {
      const stop = () => reject(new RpcError(ErrorCode.InternalError, "The client went away"));
      if (io.signal.aborted) stop();
      else io.signal.addEventListener("abort", stop, { once: true });
    });
    gone.catch(() => undefined);
    const answers = await Promise.all(
      requests.map(async ([key, request]) => {
        const id = `${INPUT_ID_PREFIX}${randomHex(16)}`;
        // Waiting starts before the request is written, so an instant answer finds its waiter.
        const waiting = io.client.awaitAnswer(id, limits.roundTimeoutMs);
        waiting.catch(() => undefined); // awaited below; a rejection must not count as unhandled meanwhile
        await io.ask(legacyRequest(id, request));
        return [key, await Promise.race([waiting, gone])] as const;
      }),
    );
    const responses: Record<string, unknown> = {};
    for (const [key, answer] of answers) {
      const name = key.slice(0, 64);
      if (answer === null) {
        throw new RpcError(ErrorCode.InternalError, `The client did not answer input request '${name}' in time`);
      }
      if ("error" in answer) {
        throw new RpcError(ErrorCode.InternalError, `The client refused input request '${name}'`, {
          inputRequest: name,
          clientError: { code: answer.error.code, message: answer.error.message.slice(0, 500) },
        });
      }
      responses[key] = answer.result;
    }
    return responses;
  } finally {
    io.touch();
  }
}

/**
 * Fulfils `first` (an `InputRequiredResult`) and any further ones the
 * retries bring, and answers with the backend's final reply.
 */
export async function fulfilInputs(
  io: InputRound,
  first: JsonRpcResponse,
  limits: InputLimits = INPUT_LIMITS,
): Promise<JsonRpcResponse> {
  let reply = first;
  for (let round = 1; "result" in reply && reply.result.resultType === "input_required"; round++) {
    if (round > limits.maxRounds) {
      throw new RpcError(
        ErrorCode.InternalError,
        `Backend '${io.backend}' still asked for input after ${limits.maxRounds} rounds`,
      );
    }
    const { requests, state } = parse(io, reply.result, limits);
    const missing = missingCapabilities(io.backend, requests, io.capabilities);
    if (missing) {
      throw new RpcError(
        ModernError.MissingClientCapability,
        `Backend '${io.backend}' needs client capabilities this session did not declare: ${Object.keys(missing).join(", ")}`,
        { requiredCapabilities: missing },
      );
    }
    let responses: Record<string, unknown> | undefined;
    if (requests.length > 0) responses = await gather(io, requests, limits);
    else await sleep(limits.statePauseMs, io.signal);
    if (io.signal.aborted) throw new RpcError(ErrorCode.InternalError, "The client went away");
    const { inputResponses: _r, requestState: _s, ...params } = io.request.params ?? {};
    reply = await io.send({
      jsonrpc: "2.0",
      id: `gw-input-${randomHex(8)}`,
      method: io.request.method,
      params: {
        ...params,
        ...(responses && { inputResponses: responses }),
        ...(state !== undefined && { requestState: state }),
      },
    });
  }
  return reply;
}
