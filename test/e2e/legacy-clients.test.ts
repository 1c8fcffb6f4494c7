// Legacy HTTP+SSE clients (MCP 2024-11-05, GET /sse + POST /messages) through two isolates: the SDK's SSEClientTransport, auth, forged ids, session end.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type StatefulBackend,
  type StatelessBackend,
  startStatefulBackend,
  startStatelessBackend,
} from "../fixtures/backends";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let alpha: StatefulBackend;
let beta: StatelessBackend;
let mcpToken: string;
let otherToken: string;
let narrowToken: string;

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Which isolate answered each GET and POST of a client (the proxy's `x-e2e-isolate`). */
interface Seen {
  get: string[];
  post: string[];
}

async function connect(
  path = "/sse",
  options: { sampling?: boolean; token?: string | null; seen?: Seen } = {},
): Promise<Client> {
  const capabilities = options.sampling ? { sampling: {}, elicitation: {} } : {};
  const client = new Client({ name: "e2e-legacy", version: "1" }, { capabilities });
  if (options.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const first = req.params.messages[0]?.content;
      const asked = first && "text" in first ? first.text : "";
      return { model: "e2e-model", role: "assistant", content: { type: "text", text: `model says: ${asked}` } };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { answer: "forty-two" } }));
  }
  const token = options.token === undefined ? mcpToken : options.token;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const seen = options.seen;
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    seen?.[(init?.method ?? "GET") === "POST" ? "post" : "get"].push(res.headers.get("x-e2e-isolate") ?? "?");
    return res;
  };
  await client.connect(
    new SSEClientTransport(new URL(`${gateway.url}${path}`), { requestInit: { headers }, fetch: recording }),
  );
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

/** A raw legacy session: the endpoint the gateway named, and the stream's events as they arrive. */
interface RawSession {
  endpoint: string;
  /** The next `message` event's JSON (keep-alive comments skipped). */
  next(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function openRaw(path = "/sse", token: string | null = mcpToken): Promise<RawSession> {
  const res = await fetch(`${gateway.url}${path}`, {
    headers: { accept: "text/event-stream", ...(token && { authorization: `Bearer ${token}` }) },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextEvent = async (): Promise<{ event: string; data: string }> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split("\n").filter((l) => !l.startsWith(":"));
        if (lines.length === 0) continue;
        const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
        const data = lines
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        return { event, data };
      }
      const { done, value } = await reader.read();
      if (done) throw new Error("stream ended");
      buffer += value;
    }
  };
  const first = await nextEvent();
  expect(first.event).toBe("endpoint");
  return {
    endpoint: first.data,
    async next() {
      const event = await nextEvent();
      expect(event.event).toBe("message");
      return JSON.parse(event.data) as Record<string, unknown>;
    },
    close: () => reader.cancel(),
  };
}

async function post(endpoint: string, body: unknown, token: string | null = mcpToken, raw?: string): Promise<Response> {
  return fetch(new URL(endpoint, gateway.url), {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: raw ?? JSON.stringify(body),
  });
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

beforeAll(async () => {
  [gateway, alpha, beta] = await Promise.all([
    // A short deadline for legacy requests, so that one test can reach it (the default is 25 s).
    startGateway({ isolates: 2, vars: { LEGACY_SSE_DEADLINE_MS: "3000" } }),
    startStatefulBackend("alpha"),
    startStatelessBackend("beta"),
  ]);
  for (const [name, url] of [
    ["alpha", alpha.url],
    ["beta", beta.url],
  ] as const) {
    expect((await adminCall("POST", "/api/backends", { name, url })).status).toBe(201);
  }
  expect(
    (
      await adminCall("POST", "/api/servers", {
        name: "plain",
        backends: ["beta"],
        prefix: false,
        tools: ["add"],
        auth: "none",
      })
    ).status,
  ).toBe(201);
  expect((await adminCall("POST", "/api/servers", { name: "only-alpha", backends: ["alpha"] })).status).toBe(201);
  const token = async (name: string, servers?: string[]) =>
    (
      (await adminCall("POST", "/api/tokens", { name, scopes: ["mcp"], ...(servers && { servers }) })).json as {
        token: string;
      }
    ).token;
  mcpToken = await token("legacy-client");
  otherToken = await token("another-client");
  narrowToken = await token("narrow-client", ["only-alpha"]);
  // Both isolates see the new configuration once their caches revalidate (within 3 s).
  await eventually(async () => {
    const res = await fetch(`${gateway.url}/servers/plain/sse`);
    await res.body?.cancel();
    return res.status === 200;
  });
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), alpha?.close(), beta?.close()]);
});

describe("legacy HTTP+SSE clients", () => {
  it("lists and calls tools, prompts and resources with the GET and the POSTs on different isolates", async () => {
    const seen: Seen = { get: [], post: [] };
    const client = await connect("/sse", { seen });
    expect(client.getServerVersion()?.name).toBe("mcp-edge-gateway");
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["alpha__echo", "alpha__whoami", "beta__echo", "beta__add"]));
    expect(textOf(await client.callTool({ name: "beta__add", arguments: { a: 2, b: 3 } }))).toBe("5");
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "hi" } }))).toBe("hi");
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain("alpha__greet");
    const prompt = await client.getPrompt({ name: "alpha__greet", arguments: { name: "bob" } });
    expect(JSON.stringify(prompt.messages)).toContain("Hello, bob!");
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    expect(uris).toContain("mcpgw://alpha/mem://alpha/readme");
    const read = await client.readResource({ uri: "mcpgw://alpha/mem://alpha/readme" });
    expect(read.contents[0]).toMatchObject({ uri: "mcpgw://alpha/mem://alpha/readme" });
    // The stream was served by one isolate, and the POSTs by both.
    expect(seen.get).toHaveLength(1);
    expect(new Set(seen.post)).toEqual(new Set(["0", "1"]));
    await client.close();
  });

  it("relays progress, sampling and elicitation; the client's answers go back to the backend", async () => {
    const client = await connect("/sse", { sampling: true });
    const names = (await client.listTools()).tools.map((t) => t.name);
    // The capability profile comes from the POSTed initialize.
    expect(names).toContain("alpha__ask_llm");
    const sampled = await client.callTool({ name: "alpha__ask_llm", arguments: { prompt: "ping?" } });
    expect(textOf(sampled)).toBe("model says: ping?");
    const elicited = await client.callTool({ name: "alpha__ask_user", arguments: { question: "answer?" } });
    expect(textOf(elicited)).toBe("forty-two");
    const progress: number[] = [];
    const slow = await client.callTool({ name: "alpha__slow", arguments: { ms: 300 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(slow)).toBe("slept 300 ms");
    expect(progress.length).toBeGreaterThan(0);
    await client.close();

    const plain = await connect();
    expect((await plain.listTools()).tools.map((t) => t.name)).not.toContain("alpha__ask_llm");
    await plain.close();
  });

  it("gives each legacy session its own upstream session", async () => {
    const a = await connect();
    const b = await connect();
    const a1 = textOf(await a.callTool({ name: "alpha__whoami", arguments: {} }));
    const a2 = textOf(await a.callTool({ name: "alpha__whoami", arguments: {} }));
    const b1 = textOf(await b.callTool({ name: "alpha__whoami", arguments: {} }));
    expect(a1).toBe(a2);
    expect(a1).not.toBe(b1);
    await a.close();
    await b.close();
  });

  it("relays what a backend sends outside any call (resource updates, with the public URI)", async () => {
    const client = await connect();
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    await client.subscribeResource({ uri: "mcpgw://alpha/mem://alpha/readme" });
    // The stream's isolate follows alpha's GET stream once the subscribe opened the upstream session (it polls).
    await eventually(
      async () => {
        await alpha.notifyResourceUpdated("mem://alpha/readme");
        return updated.includes("mcpgw://alpha/mem://alpha/readme");
      },
      10_000,
      250,
    );
    await client.close();
  });

  it("cancels a call at the backend when the client cancels", async () => {
    const client = await connect();
    const before = alpha.cancelled.length;
    const calls = () => alpha.received.filter((r) => r.method === "tools/call").length;
    const callsBefore = calls();
    const controller = new AbortController();
    const call = client.callTool({ name: "alpha__slow", arguments: { ms: 10_000 } }, undefined, {
      signal: controller.signal,
    });
    await eventually(async () => calls() > callsBefore);
    controller.abort("changed my mind");
    await expect(call).rejects.toThrow();
    await eventually(async () => alpha.cancelled.length > before, 5_000);
    // The session goes on.
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "still here" } }))).toBe("still here");
    await client.close();
  });

  it("ends a request at its deadline with a JSON-RPC error on the stream, and the session goes on", async () => {
    const client = await connect();
    const calls = () => alpha.received.filter((r) => r.method === "tools/call").length;
    const callsBefore = calls();
    await expect(client.callTool({ name: "alpha__slow", arguments: { ms: 20_000 } })).rejects.toThrow(
      /-32000.*may run 3000 ms after its POST was accepted/,
    );
    expect(calls()).toBe(callsBefore + 1);
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "after" } }))).toBe("after");
    await client.close();
  });

  it("serves a virtual server without prefixes and without auth, posting to its own messages path", async () => {
    const raw = await openRaw("/servers/plain/sse", null);
    expect(raw.endpoint).toMatch(/^\/servers\/plain\/messages\?sessionId=v2\./);
    await raw.close();
    const client = await connect("/servers/plain/sse", { token: null });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["add"]);
    expect(textOf(await client.callTool({ name: "add", arguments: { a: 1, b: 1 } }))).toBe("2");
    await expect(client.callTool({ name: "echo", arguments: { text: "hidden" } })).rejects.toThrow(/Unknown tool/);
    await client.close();
  });

  it("refuses a missing or invalid token (401) and a token for another server (403)", async () => {
    await expect(connect("/sse", { token: null })).rejects.toThrow(/401/);
    await expect(connect("/sse", { token: "mcpgw_not-a-token" })).rejects.toThrow(/401/);
    await expect(connect("/sse", { token: narrowToken })).rejects.toThrow(/403/);
    const allowed = await connect("/servers/only-alpha/sse", { token: narrowToken });
    expect((await allowed.listTools()).tools.map((t) => t.name)).toContain("alpha__echo");
    await allowed.close();
    // The POSTs authenticate too.
    const raw = await openRaw();
    const unauthenticated = await post(raw.endpoint, INITIALIZE, null);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("www-authenticate")).toContain("Bearer");
    await raw.close();
  });

  it("answers a forged, someone else's or missing sessionId with 4xx, and nothing reaches the stream", async () => {
    const raw = await openRaw();
    const sessionId = new URL(raw.endpoint, gateway.url).searchParams.get("sessionId") as string;
    const forged = `${sessionId.slice(0, -4)}${sessionId.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    for (const [endpoint, token, status] of [
      [`/messages?sessionId=${encodeURIComponent(forged)}`, mcpToken, 404],
      ["/messages?sessionId=not-sealed", mcpToken, 404],
      ["/messages", mcpToken, 400],
      [raw.endpoint, otherToken, 404],
      // Another endpoint's session.
      [`/servers/plain/messages?sessionId=${encodeURIComponent(sessionId)}`, null, 404],
    ] as const) {
      const res = await post(endpoint, INITIALIZE, token);
      expect(res.status, endpoint).toBe(status);
      expect(((await res.json()) as { id: unknown }).id).toBe(0);
    }
    // Bad bodies are 4xx on the POST.
    const notJson = await post(raw.endpoint, null, mcpToken, "{nope");
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
    expect((await post(raw.endpoint, [INITIALIZE])).status).toBe(400);
    expect((await post(raw.endpoint, { jsonrpc: "2.0", id: 9, method: 42 })).status).toBe(400);
    // The session itself is untouched: its first message is the answer to its own initialize.
    expect((await post(raw.endpoint, INITIALIZE)).status).toBe(202);
    const answer = await raw.next();
    expect(answer).toMatchObject({ id: 0, result: { protocolVersion: "2024-11-05" } });
    await raw.close();
  });

  it("answers every failure on the stream with the request's id", async () => {
    const raw = await openRaw();
    // Before initialize only ping is served.
    expect((await post(raw.endpoint, { jsonrpc: "2.0", id: "early", method: "tools/list" })).status).toBe(202);
    expect(await raw.next()).toMatchObject({ id: "early", error: { code: -32600 } });
    expect((await post(raw.endpoint, { jsonrpc: "2.0", id: "p", method: "ping" })).status).toBe(202);
    expect(await raw.next()).toMatchObject({ id: "p", result: {} });
    expect((await post(raw.endpoint, INITIALIZE)).status).toBe(202);
    expect(await raw.next()).toMatchObject({ id: 0, result: { serverInfo: { name: "mcp-edge-gateway" } } });
    expect((await post(raw.endpoint, INITIALIZE)).status).toBe(202);
    expect(await raw.next()).toMatchObject({ id: 0, error: { code: -32600 } });
    const call = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "nope__x", arguments: {} } };
    expect((await post(raw.endpoint, call)).status).toBe(202);
    expect(await raw.next()).toMatchObject({ id: 7, error: { code: -32602 } });
    expect((await post(raw.endpoint, { jsonrpc: "2.0", id: 8, method: "no/such" })).status).toBe(202);
    expect(await raw.next()).toMatchObject({ id: 8, error: { code: -32601 } });
    // A response to nothing the gateway asked is the POST's 400.
    expect((await post(raw.endpoint, { jsonrpc: "2.0", id: "mcpgw:zzz:1", result: {} })).status).toBe(400);
    await raw.close();
  });

  it("ends the session when the stream closes: its upstream sessions are closed and its POSTs get 404", async () => {
    const client = await connect();
    const transport = client.transport as SSEClientTransport;
    const upstream = textOf(await client.callTool({ name: "alpha__whoami", arguments: {} }));
    expect(alpha.sessionIds()).toContain(upstream);
    const endpoint = (transport as unknown as { _endpoint: URL })._endpoint.href;
    await client.close();
    await eventually(
      async () => (await post(endpoint, { jsonrpc: "2.0", id: 1, method: "ping" })).status === 404,
      40_000,
    );
    await eventually(async () => !alpha.sessionIds().includes(upstream), 10_000);
    expect(alpha.received.some((r) => r.httpMethod === "DELETE" && r.sessionId === upstream)).toBe(true);
  }, 60_000);
});
