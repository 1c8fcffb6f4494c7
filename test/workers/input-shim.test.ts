// The input-required bridge (2025 client, 2026 backend): rounds, bounds, capability checks, and the SessionDO rendezvous.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionDO } from "../../durable-objects/session-do";
import type { LegacyClient } from "../../src/core/context";
import {
  batchClient,
  fulfilInputs,
  INPUT_ID_PREFIX,
  type InputLimits,
  type InputRound,
} from "../../src/core/input-shim";
import type { JsonRpcRequest, JsonRpcResponse } from "../../src/protocol/jsonrpc";
import { BackendFailure } from "../../src/upstream/failure";
import { uniqueName } from "./helpers";

const LIMITS: InputLimits = { maxRounds: 8, maxRequests: 4, roundTimeoutMs: 1_000, statePauseMs: 5, maxStateBytes: 64 };

const elicit = { method: "elicitation/create", params: { message: "Name?", requestedSchema: { type: "object" } } };

function inputRequired(extra: Record<string, unknown>): JsonRpcResponse {
  return { jsonrpc: "2.0", id: 1, result: { resultType: "input_required", ...extra } };
}

const done: JsonRpcResponse = { jsonrpc: "2.0", id: "r", result: { resultType: "complete", content: [] } };

/**
 * A bridged call against scripted parts: `replies` answer the retries in turn, the client answers
 * every request it is asked with `answer` (null: never), and everything is recorded.
 */
function harness(
  replies: JsonRpcResponse[],
  options: {
    capabilities?: Record<string, unknown>;
    answer?: (m: Record<string, unknown>) => JsonRpcResponse | null;
  } = {},
) {
  const asked: Array<Record<string, unknown>> = [];
  const sent: JsonRpcRequest[] = [];
  const pending = new Map<string, (answer: JsonRpcResponse | null) => void>();
  const client: LegacyClient = {
    awaitAnswer: (id) => new Promise((resolve) => pending.set(id, resolve)),
    deliverAnswer: async () => true,
  };
  const answer =
    options.answer ??
    ((m: Record<string, unknown>) => ({
      jsonrpc: "2.0",
      id: String(m.id),
      result: { action: "accept", content: { name: "Ada" } },
    }));
  const io: InputRound = {
    backend: "nova",
    client,
    capabilities: options.capabilities ?? { elicitation: {} },
    request: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "ask", arguments: { x: 1 } } },
    async send(request) {
      sent.push(request);
      return replies.shift() ?? done;
    },
    async ask(message) {
      asked.push(message);
      const reply = answer(message);
      // Answers arrive later, from elsewhere; a null answer never comes (the timeout is the bridge's own).
      if (reply) setTimeout(() => pending.get(String(message.id))?.(reply), 1);
      else setTimeout(() => pending.get(String(message.id))?.(null), 20);
    },
    hold: () => undefined,
    touch: () => undefined,
    signal: new AbortController().signal,
  };
  return { io, asked, sent };
}

describe("fulfilInputs", () => {
  it("asks each input request on the stream and retries with a new id, the answers and the exact state", async () => {
    const { io, asked, sent } = harness([]);
    const first = inputRequired({ inputRequests: { user_name: elicit }, requestState: "opaque+/=state" });
    expect(await fulfilInputs(io, first, LIMITS)).toBe(done);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ jsonrpc: "2.0", method: "elicitation/create", params: elicit.params });
    expect(String(asked[0]?.id).startsWith(INPUT_ID_PREFIX)).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.id).not.toBe(1);
    expect(sent[0]?.params).toEqual({
      name: "ask",
      arguments: { x: 1 },
      inputResponses: { user_name: { action: "accept", content: { name: "Ada" } } },
      requestState: "opaque+/=state",
    });
  });

  it("a round with only requestState is retried after a pause, without inputResponses", async () => {
    const { io, asked, sent } = harness([]);
    expect(await fulfilInputs(io, inputRequired({ requestState: "later" }), LIMITS)).toBe(done);
    expect(asked).toHaveLength(0);
    expect(sent[0]?.params).toEqual({ name: "ask", arguments: { x: 1 }, requestState: "later" });
  });

  it("stops after maxRounds retries of a backend that keeps asking", async () => {
    const again = inputRequired({ requestState: "again" });
    const { io, sent } = harness(Array.from({ length: 20 }, () => again));
    await expect(fulfilInputs(io, again, LIMITS)).rejects.toThrow("still asked for input after 8 rounds");
    expect(sent).toHaveLength(8);
  });

  it("answers -32021 with requiredCapabilities, asking nothing, when the client lacks a capability", async () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]> = [
      [{}, elicit, { elicitation: { form: {} } }],
      [{ elicitation: { url: {} } }, elicit, { elicitation: { form: {} } }],
      [
        { elicitation: {} },
        { method: "elicitation/create", params: { mode: "url", url: "https://x" } },
        { elicitation: { url: {} } },
      ],
      [{ elicitation: {} }, { method: "sampling/createMessage", params: { messages: [] } }, { sampling: {} }],
      [
        { sampling: {} },
        { method: "sampling/createMessage", params: { messages: [], tools: [] } },
        { sampling: { tools: {} } },
      ],
      [{ sampling: {} }, { method: "roots/list" }, { roots: {} }],
    ];
    for (const [capabilities, request, required] of cases) {
      const { io, asked, sent } = harness([], { capabilities });
      const error = await fulfilInputs(io, inputRequired({ inputRequests: { k: request } }), LIMITS).catch((e) => e);
      expect(error).toMatchObject({ code: -32021, data: { requiredCapabilities: required } });
      expect(asked).toHaveLength(0);
      expect(sent).toHaveLength(0);
    }
  });

  it("gives URL-mode elicitation the elicitationId the 2025 wire requires", async () => {
    const url = { method: "elicitation/create", params: { mode: "url", message: "Sign in", url: "https://login" } };
    const { io, asked } = harness([], { capabilities: { elicitation: { url: {} } } });
    await fulfilInputs(io, inputRequired({ inputRequests: { login: url } }), LIMITS);
    const params = (asked[0]?.params ?? {}) as { elicitationId?: unknown };
    expect(params.elicitationId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("fails the call when the client does not answer in time or answers with an error", async () => {
    const silent = harness([], { answer: () => null });
    await expect(fulfilInputs(silent.io, inputRequired({ inputRequests: { k: elicit } }), LIMITS)).rejects.toThrow(
      "did not answer input request 'k' in time",
    );
    expect(silent.sent).toHaveLength(0);
    const refusing = harness([], {
      answer: (m) => ({ jsonrpc: "2.0", id: String(m.id), error: { code: -32601, message: "no elicitation here" } }),
    });
    await expect(
      fulfilInputs(refusing.io, inputRequired({ inputRequests: { k: elicit } }), LIMITS),
    ).rejects.toMatchObject({
      data: { inputRequest: "k", clientError: { code: -32601 } },
    });
  });

  it("inside a batch (no stream to ask on) the call fails at once", async () => {
    const { io, sent } = harness([]);
    const batched = { ...io, client: batchClient(io.client) };
    await expect(fulfilInputs(batched, inputRequired({ inputRequests: { k: elicit } }), LIMITS)).rejects.toThrow(
      "inside a JSON-RPC batch",
    );
    expect(sent).toHaveLength(0);
  });

  it("treats a malformed InputRequiredResult as the backend's failure", async () => {
    const bad = [
      inputRequired({}),
      inputRequired({ inputRequests: [] }),
      inputRequired({ inputRequests: { k: { params: {} } } }),
      inputRequired({ inputRequests: { k: { method: "tools/call" } } }),
      inputRequired({ requestState: 42 }),
      inputRequired({ requestState: "x".repeat(65) }),
      inputRequired({ inputRequests: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, elicit])) }),
    ];
    for (const reply of bad) {
      const { io, sent } = harness([]);
      const error = await fulfilInputs(io, reply, LIMITS).catch((e) => e);
      expect(error).toBeInstanceOf(BackendFailure);
      expect(error).toMatchObject({ kind: "malformed", backend: "nova" });
      expect(sent).toHaveLength(0);
    }
  });
});

describe("the SessionDO rendezvous", () => {
  async function session(): Promise<DurableObjectStub<SessionDO>> {
    const stub = env.SESSION.get(env.SESSION.idFromName(uniqueName("sess")));
    await stub.start({ init: { capabilities: { elicitation: {} } }, expiresAt: Date.now() + 60_000 });
    return stub;
  }
  const answer = (id: string): JsonRpcResponse => ({ jsonrpc: "2.0", id, result: { action: "accept" } });

  it("hands an answer to the waiter, and keeps one that arrives before its waiter", async () => {
    const stub = await session();
    const waiting = stub.awaitAnswer("mcpgw-in:a", 5_000);
    expect(await stub.deliverAnswer("mcpgw-in:a", answer("mcpgw-in:a"))).toBe(true);
    expect(await waiting).toEqual(answer("mcpgw-in:a"));
    expect(await stub.deliverAnswer("mcpgw-in:b", answer("mcpgw-in:b"))).toBe(true);
    expect(await stub.awaitAnswer("mcpgw-in:b", 5_000)).toEqual(answer("mcpgw-in:b"));
  });

  it("times out with null, and ending the session releases waiters and refuses answers", async () => {
    const stub = await session();
    expect(await stub.awaitAnswer("mcpgw-in:never", 10)).toBeNull();
    const waiting = stub.awaitAnswer("mcpgw-in:c", 60_000);
    await stub.end();
    expect(await waiting).toBeNull();
    expect(await stub.deliverAnswer("mcpgw-in:c", answer("mcpgw-in:c"))).toBe(false);
  });

  it("a 2026 backend gets the stateless pseudo-session with the client's capabilities, and nothing is stored", async () => {
    const stub = await session();
    const backend = {
      name: "nova",
      url: "https://nova.example/mcp",
      transport: "streamable-http" as const,
      headers: {},
      timeoutMs: 1000,
      healthIntervalSeconds: 30,
      failureThreshold: 2,
      cooldownSeconds: 30,
      enabled: true,
    };
    expect(await stub.upstream(backend, "modern")).toEqual({
      ok: true,
      session: { sessionId: null, protocolVersion: "2026-07-28", client: { capabilities: { elicitation: {} } } },
    });
    expect(await stub.opened()).toEqual([]);
  });
});
