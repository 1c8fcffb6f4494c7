// Fault injection on Durable Objects and the span queue (real bindings wrapped to throw, be overloaded or hang): a clear JSON-RPC error naming the backend or a retryable 503, never a 500; a failing queue changes no response.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type Fault, faultyNamespace, fetchWith, overloaded } from "./faults";
import { startFuzzBackend } from "./fuzz-backend";

const URL_A = "https://93.184.215.14/fb-a/mcp";
const HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };

type Reply = {
  id?: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

async function post(bindings: Partial<typeof env>, body: unknown, session?: string) {
  const res = await fetchWith(bindings, "POST", "/mcp", {
    headers: { ...HEADERS, ...(session && { "mcp-session-id": session }) },
    body,
  });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  // An SSE answer ends with the reply: the last data line.
  const json = type.startsWith("text/event-stream")
    ? text
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .pop()
        ?.slice(6)
    : text;
  return {
    status: res.status,
    type,
    text,
    reply: (json ? JSON.parse(json) : null) as Reply | null,
    session: res.headers.get("mcp-session-id"),
  };
}

const init = (id: number | string = 0) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
const call = (id: number, name: string, args: object = {}) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

async function session(bindings: Partial<typeof env> = {}): Promise<string> {
  const res = await post(bindings, init());
  expect(res.status).toBe(200);
  return res.session as string;
}

describe("Durable Objects throwing or overloaded", () => {
  beforeAll(async () => {
    startFuzzBackend(URL_A, "fb-a", "x-none");
    expect(
      (await fetchWith({}, "POST", "/api/backends", { body: { name: "fb-a", url: URL_A }, wait: true })).status,
    ).toBe(201);
  });

  for (const [label, error] of [
    ["throwing", () => new Error("Network connection lost.")],
    ["overloaded", overloaded],
  ] as const) {
    it(`a ${label} SessionDO: the call fails with -32010 naming the backend, and the next call succeeds`, async () => {
      const sid = await session();
      const fault: Fault = { mode: "fail", hits: 0 };
      const SESSION = faultyNamespace(env.SESSION, fault, error, ["upstream"]);
      const failed = await post({ SESSION }, call(7, "fb-a__echo", { text: "x" }), sid);
      expect(failed.status).toBe(200);
      expect(failed.reply).toMatchObject({
        id: 7,
        error: {
          code: -32010,
          message: expect.stringContaining("Backend 'fb-a' is unavailable"),
          data: { backend: "fb-a", reason: "unavailable" },
        },
      });
      expect(fault.hits).toBe(1);
      const ok = await post({}, call(8, "fb-a__echo", { text: "back" }), sid);
      expect(ok.reply).toMatchObject({ id: 8, result: { content: [{ text: "back" }] } });
    });
  }

  it("a SessionDO that fails on initialize, the liveness check or DELETE answers a JSON-RPC 503 the client can retry", async () => {
    const fault: Fault = { mode: "fail", hits: 0 };
    const SESSION = faultyNamespace(env.SESSION, fault, overloaded);
    const start = await post({ SESSION }, init(3));
    expect(start.status).toBe(503);
    expect(start.reply).toMatchObject({
      jsonrpc: "2.0",
      error: { code: -32000, message: expect.stringMatching(/retry/) },
    });
    const sid = await session();
    // Every request asks the object whether the session is live.
    const live = await post({ SESSION }, { jsonrpc: "2.0", id: 4, method: "ping" }, sid);
    expect(live.status).toBe(503);
    const del = await fetchWith({ SESSION }, "DELETE", "/mcp", { headers: { ...HEADERS, "mcp-session-id": sid } });
    expect(del.status).toBe(503);
    expect(((await del.json()) as Reply).error?.code).toBe(-32000);
    expect(fault.hits).toBe(3);
    // The session itself is intact once the object answers again.
    expect((await post({}, { jsonrpc: "2.0", id: 5, method: "ping" }, sid)).reply).toEqual({
      jsonrpc: "2.0",
      id: 5,
      result: {},
    });
  });

  it("a failing BackendDO costs neither calls nor listings, and its health read is a 503", async () => {
    const fault: Fault = { mode: "fail", hits: 0 };
    const BACKEND = faultyNamespace(env.BACKEND, fault, overloaded);
    const sid = await session({ BACKEND });
    const ok = await post({ BACKEND }, call(9, "fb-a__echo", { text: "still" }), sid);
    expect(ok.reply).toMatchObject({ id: 9, result: { content: [{ text: "still" }] } });
    const list = await post({ BACKEND }, { jsonrpc: "2.0", id: 10, method: "tools/list" }, sid);
    expect(list.reply?.result).toBeDefined();
    const health = await fetchWith({ BACKEND }, "GET", "/api/backends/fb-a/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({
      error: { code: "service_unavailable", message: "Backend 'fb-a' health is unavailable right now; retry" },
    });
    expect(fault.hits).toBeGreaterThan(0);
  });

  it("a failing RateLimiterDO stops the call with -32012 naming the plugin (or lets it through with on_error: ignore)", async () => {
    const create = async (name: string, onError: string) =>
      fetchWith({}, "POST", "/api/plugins", {
        body: {
          name,
          kind: "rate_limit",
          config: { limit: 100, window_seconds: 60, on_error: onError },
          conditions: [{ tools: ["fb-a__echo"] }],
        },
      });
    expect((await create("fb-limit", "fail")).status).toBe(201);
    const fault: Fault = { mode: "fail", hits: 0 };
    const RATE_LIMITER = faultyNamespace(env.RATE_LIMITER, fault, overloaded);
    const sid = await session();
    const stopped = await post({ RATE_LIMITER }, call(11, "fb-a__echo", { text: "x" }), sid);
    expect(stopped.reply).toMatchObject({
      id: 11,
      error: { code: -32012, message: "Plugin 'fb-limit' failed", data: { plugin: "fb-limit", code: "PLUGIN_ERROR" } },
    });
    expect(fault.hits).toBe(1);
    expect((await fetchWith({}, "DELETE", "/api/plugins/fb-limit")).status).toBe(204);
    expect((await create("fb-open", "ignore")).status).toBe(201);
    const sid2 = await session();
    const passed = await post({ RATE_LIMITER }, call(12, "fb-a__echo", { text: "through" }), sid2);
    expect(passed.reply).toMatchObject({ id: 12, result: { content: [{ text: "through" }] } });
    expect((await fetchWith({}, "DELETE", "/api/plugins/fb-open")).status).toBe(204);
  });
});

describe("a failing or hanging span queue", () => {
  it("changes no response: the same calls answer the same, JSON and streamed", async () => {
    const sinks: Array<[string, Queue<unknown>]> = [
      ["healthy", env.SPANS],
      [
        "rejecting",
        {
          send: () => Promise.reject(new Error("queue down")),
          sendBatch: () => Promise.reject(new Error("queue down")),
        } as unknown as Queue<unknown>,
      ],
      [
        "throwing",
        {
          send: () => {
            throw new Error("binding broken");
          },
          sendBatch: () => {
            throw new Error("binding broken");
          },
        } as unknown as Queue<unknown>,
      ],
      [
        "hanging",
        {
          send: () => new Promise(() => undefined),
          sendBatch: () => new Promise(() => undefined),
        } as unknown as Queue<unknown>,
      ],
    ];
    const answers = new Map<string, string>();
    for (const [label, SPANS] of sinks) {
      const sid = await session({ SPANS });
      const json = await post({ SPANS }, call(21, "fb-a__echo", { text: "q" }), sid);
      const streamed = await post(
        { SPANS },
        { ...call(22, "fb-a__stream"), params: { name: "fb-a__stream", _meta: { progressToken: 1 } } },
        sid,
      );
      expect(streamed.type).toBe("text/event-stream");
      const list = await post({ SPANS }, { jsonrpc: "2.0", id: 23, method: "tools/list" }, sid);
      // SSE event ids and priming are random per stream: compare the messages only.
      const messages = streamed.text.split("\n").filter((l) => l.startsWith("data: {"));
      answers.set(label, JSON.stringify([json.status, json.text, messages, list.text]));
    }
    const healthy = answers.get("healthy");
    expect(healthy).toContain("streamed");
    for (const [label, answer] of answers) expect(answer, label).toBe(healthy);
  });
});
