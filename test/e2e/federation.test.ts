/**
 * End to end: the gateway bundle on workerd as two isolates behind a
 * round-robin proxy, real SDK backends on 127.0.0.1, and the SDK's own
 * Client as the MCP client. Every request of a session alternates isolates,
 * so in-memory shortcuts fail here.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConformanceFixture, startConformanceFixture } from "../conformance/fixture-server";
import {
  type ChaosBackend,
  type LegacySseBackend,
  type StatefulBackend,
  type StatelessBackend,
  startChaosBackend,
  startLegacySseBackend,
  startStatefulBackend,
  startStatelessBackend,
} from "../fixtures/backends";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let alpha: StatefulBackend;
let beta: StatelessBackend;
let chaos: ChaosBackend;
let resumable: ConformanceFixture;
let gamma: LegacySseBackend;
let mcpToken: string;

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function connect(
  path = "/mcp",
  options: { sampling?: boolean; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Client> {
  const capabilities = options.sampling ? { sampling: {}, elicitation: {} } : {};
  const client = new Client({ name: "e2e", version: "1" }, { capabilities });
  if (options.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const first = req.params.messages[0]?.content;
      const asked = first && "text" in first ? first.text : "";
      return { model: "e2e-model", role: "assistant", content: { type: "text", text: `model says: ${asked}` } };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { answer: "forty-two" } }));
  }
  const token = options.token === undefined ? mcpToken : options.token;
  const headers: Record<string, string> = {
    ...options.headers,
    ...(token && { authorization: `Bearer ${token}`, cookie: "client-cookie=secret" }),
  };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}${path}`), { requestInit: { headers } }),
  );
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

beforeAll(async () => {
  [gateway, alpha, beta, chaos, resumable, gamma] = await Promise.all([
    startGateway({ isolates: 2 }),
    startStatefulBackend("alpha"),
    startStatelessBackend("beta"),
    startChaosBackend("chaos"),
    startConformanceFixture(),
    startLegacySseBackend("gamma"),
  ]);
  for (const [name, url, extra] of [
    ["alpha", alpha.url, { headers: { "X-Backend-Key": "alpha-secret" } }],
    ["beta", beta.url, {}],
    ["chaos", chaos.url, { timeoutMs: 1500 }],
    ["resumable", resumable.url, {}],
    ["gamma", gamma.url, { transport: "sse" }],
  ] as const) {
    const res = await adminCall("POST", "/api/backends", { name, url, ...extra });
    expect(res.status).toBe(201);
  }
  const token = await adminCall("POST", "/api/tokens", { name: "e2e-client", scopes: ["mcp"] });
  mcpToken = (token.json as { token: string }).token;
});

afterAll(async () => {
  await Promise.all([
    gateway?.stop(),
    alpha?.close(),
    beta?.close(),
    chaos?.close(),
    resumable?.close(),
    gamma?.close(),
  ]);
});

describe("federation through two isolates", () => {
  it("merges every backend's tools under prefixed names and routes calls", async () => {
    const client = await connect();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(["alpha__echo", "alpha__whoami", "beta__echo", "beta__add", "chaos__echo"]),
    );
    expect(textOf(await client.callTool({ name: "beta__add", arguments: { a: 2, b: 3 } }))).toBe("5");
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "hi" } }))).toBe("hi");
    await client.close();
  });

  it("serves prompts, resources, templates and completion from the owning backend", async () => {
    const client = await connect();
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain("alpha__greet");
    const prompt = await client.getPrompt({ name: "alpha__greet", arguments: { name: "bob" } });
    expect(JSON.stringify(prompt.messages)).toContain("Hello, bob!");
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    expect(uris).toContain("mcpgw://alpha/mem://alpha/readme");
    const read = await client.readResource({ uri: "mcpgw://alpha/mem://alpha/readme" });
    expect(read.contents[0]).toMatchObject({ uri: "mcpgw://alpha/mem://alpha/readme" });
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toContain("mcpgw://alpha/mem://alpha/items/{id}");
    const item = await client.readResource({ uri: "mcpgw://alpha/mem://alpha/items/2" });
    expect(item.contents).toHaveLength(1);
    const completion = await client.complete({
      ref: { type: "ref/prompt", name: "alpha__greet" },
      argument: { name: "name", value: "al" },
    });
    expect(completion.completion.values).toEqual(expect.arrayContaining(["alice", "alfred"]));
    await client.close();
  });

  it("relays progress notifications during a call", async () => {
    const client = await connect();
    const progress: number[] = [];
    const result = await client.callTool({ name: "alpha__slow", arguments: { ms: 300 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(result.isError).toBeFalsy();
    expect(progress.length).toBeGreaterThan(0);
    await client.close();
  });

  it("relays sampling and elicitation, with answers landing on the other isolate", async () => {
    const client = await connect("/mcp", { sampling: true });
    const names = (await client.listTools()).tools.map((t) => t.name);
    // Capability-dependent tools appear exactly when the client supports sampling.
    expect(names).toContain("alpha__ask_llm");
    const sampled = await client.callTool({ name: "alpha__ask_llm", arguments: { prompt: "ping?" } });
    expect(textOf(sampled)).toContain("model says");
    const elicited = await client.callTool({ name: "alpha__ask_user", arguments: { question: "answer?" } });
    expect(textOf(elicited)).toContain("forty-two");
    await client.close();

    const plain = await connect();
    expect((await plain.listTools()).tools.map((t) => t.name)).not.toContain("alpha__ask_llm");
    await plain.close();
  });

  it("gives each client session its own upstream session", async () => {
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

  it("never forwards the client's credentials; sends the backend's configured headers", async () => {
    const client = await connect();
    await client.callTool({ name: "alpha__echo", arguments: { text: "headers" } });
    const calls = alpha.received.filter((r) => r.method === "tools/call");
    expect(calls.length).toBeGreaterThan(0);
    for (const call of alpha.received) {
      expect(call.headers.authorization).toBeUndefined();
      expect(call.headers.cookie).toBeUndefined();
    }
    expect(calls.every((c) => c.headers["x-backend-key"] === "alpha-secret")).toBe(true);
    await client.close();
  });

  it("relays resource updates on the GET stream, with the public URI", async () => {
    const client = await connect();
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    await client.subscribeResource({ uri: "mcpgw://alpha/mem://alpha/readme" });
    // The gateway starts following alpha's GET stream once the subscribe opened the upstream
    // session (it polls for new ones); until then the backend has no stream to notify on.
    await eventually(
      async () => {
        await alpha.notifyResourceUpdated("mem://alpha/readme");
        return updated.includes("mcpgw://alpha/mem://alpha/readme");
      },
      10_000,
      250,
    );
    await client.unsubscribeResource({ uri: "mcpgw://alpha/mem://alpha/readme" });
    await client.close();
  });

  it("resumes a backend stream closed mid-call (Last-Event-ID) and still delivers the result", async () => {
    const client = await connect();
    // The backend closes its POST stream before answering; the answer only arrives on a GET resumption.
    const result = await client.callTool({ name: "resumable__test_reconnection", arguments: {} });
    expect(textOf(result)).toBe("Reconnection test completed successfully");
    await client.close();
  });

  it("serves a legacy HTTP+SSE backend through its Durable Object, one connection per session", async () => {
    const a = await connect();
    const b = await connect();
    const names = (await a.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["gamma__echo", "gamma__add"]));
    const streamsBefore = gamma.received.filter((r) => r.httpMethod === "GET").length;
    expect(textOf(await a.callTool({ name: "gamma__echo", arguments: { text: "via sse" } }))).toBe("via sse");
    expect(textOf(await a.callTool({ name: "gamma__add", arguments: { a: 20, b: 22 } }))).toBe("42");
    expect(textOf(await b.callTool({ name: "gamma__echo", arguments: { text: "other" } }))).toBe("other");
    // Two client sessions, two upstream SSE connections; calls of one session reuse its connection.
    expect(gamma.received.filter((r) => r.httpMethod === "GET").length - streamsBefore).toBe(2);
    const posts = gamma.received.filter((r) => r.httpMethod === "POST");
    // initialize, initialized and three calls at least: never an empty list to check.
    expect(posts.length).toBeGreaterThanOrEqual(5);
    for (const request of gamma.received) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers.cookie).toBeUndefined();
    }

    // The backend goes away: its stream breaks, and the next call fails naming it.
    await gamma.close();
    await expect(a.callTool({ name: "gamma__echo", arguments: { text: "gone" } })).rejects.toThrow(/gamma/);
    expect(textOf(await a.callTool({ name: "beta__echo", arguments: { text: "unaffected" } }))).toBe("unaffected");
    await a.close();
    await b.close();
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
    await client.close();
  });

  it("continues the client's W3C trace to backends, and starts one when there is none", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traced = await connect("/mcp", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await traced.callTool({ name: "alpha__echo", arguments: { text: "traced" } });
    await traced.close();
    const sent = alpha.received.filter((r) => r.method === "tools/call").map((r) => String(r.headers.traceparent));
    const continued = sent.find((t) => t.includes(traceId));
    expect(continued).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The backend's parent is the gateway's own span, not the client's.
    expect(continued).not.toContain("00f067aa0ba902b7");

    const untraced = await connect();
    const count = alpha.received.length;
    await untraced.callTool({ name: "alpha__echo", arguments: { text: "untraced" } });
    await untraced.close();
    const fresh = alpha.received.slice(count).find((r) => r.method === "tools/call");
    expect(String(fresh?.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("answers GET without a session with 400, a non-SSE Accept with 406, other methods with 405", async () => {
    const auth = { authorization: `Bearer ${mcpToken}` };
    const noSession = await fetch(`${gateway.url}/mcp`, { headers: { ...auth, accept: "text/event-stream" } });
    expect(noSession.status).toBe(400);
    const client = await connect();
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    const wrongAccept = await fetch(`${gateway.url}/mcp`, {
      headers: { ...auth, accept: "application/json", "mcp-session-id": sessionId },
    });
    expect(wrongAccept.status).toBe(406);
    const put = await fetch(`${gateway.url}/mcp`, { method: "PUT", headers: auth });
    expect(put.status).toBe(405);
    const stream = await fetch(`${gateway.url}/mcp`, {
      headers: { ...auth, accept: "text/event-stream", "mcp-session-id": sessionId },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    await stream.body?.cancel();
    await client.close();
  });

  it("ends the session on DELETE: the next request is 404", async () => {
    const client = await connect();
    const transport = client.transport as StreamableHTTPClientTransport;
    const sessionId = transport.sessionId as string;
    await transport.terminateSession();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gateway.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${mcpToken}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": sessionId,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "alpha__echo", arguments: { text: "x" } },
        }),
      });
      expect(res.status).toBe(404);
    }
  });

  it("a failing backend yields an error naming it, and the others keep working", async () => {
    const client = await connect();
    for (const mode of ["down", "garbage", "hang"] as const) {
      chaos.mode = mode;
      const result = client.callTool({ name: "chaos__echo", arguments: { text: "x" } });
      await expect(result).rejects.toThrow(/chaos/);
      expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "still here" } }))).toBe(
        "still here",
      );
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("beta__add");
    }
    chaos.mode = "up";
    await client.close();
  });

  it("refuses to save a server without prefixes whose backends share a tool name", async () => {
    const clash = await adminCall("POST", "/api/servers", {
      name: "clash",
      backends: ["alpha", "beta"],
      prefix: false,
    });
    expect(clash.status).toBe(409);
    expect(JSON.stringify(clash.json)).toContain("tool 'echo' is offered by alpha, beta");
    expect((await adminCall("GET", "/api/servers/clash")).status).toBe(404);
    // Exposing only non-colliding tools is fine; turning prefixes off later is checked too.
    const narrow = await adminCall("POST", "/api/servers", {
      name: "narrow",
      backends: ["alpha", "beta"],
      prefix: false,
      tools: ["whoami", "slow"],
    });
    expect(narrow.status).toBe(201);
    const widened = await adminCall("PATCH", "/api/servers/narrow", { tools: ["whoami", "echo"] });
    expect(widened.status).toBe(409);
    expect((await adminCall("GET", "/api/servers/narrow")).json).toMatchObject({ tools: ["whoami", "slow"] });
    expect((await adminCall("DELETE", "/api/servers/narrow")).status).toBe(204);
  });

  it("serves a virtual server without prefixes and a tool subset", async () => {
    const created = await adminCall("POST", "/api/servers", {
      name: "plain",
      backends: ["beta"],
      prefix: false,
      tools: ["add"],
      auth: "none",
    });
    expect(created.status).toBe(201);
    // The other isolate sees the new server once its config cache revalidates (about a second).
    let client: Client | undefined;
    for (let attempt = 0; !client; attempt++) {
      try {
        client = await connect("/servers/plain/mcp", { token: null });
      } catch (err) {
        if (attempt > 50) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["add"]);
    expect(textOf(await client.callTool({ name: "add", arguments: { a: 1, b: 1 } }))).toBe("2");
    await expect(client.callTool({ name: "echo", arguments: { text: "hidden" } })).rejects.toThrow(/Unknown tool/);
    await client.close();
  });
});
