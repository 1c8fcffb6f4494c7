/**
 * Proves the e2e harness itself: the production bundle on workerd (one and
 * two isolates), the round-robin proxy (including SSE streaming), and every
 * fixture backend driven directly by the SDK's own client.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  type ClientCapabilities,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type Progress,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChaosBackend,
  type LegacySseBackend,
  type StatefulBackend,
  type StatelessBackend,
  startChaosBackend,
  startLegacySseBackend,
  startStatefulBackend,
  startStatelessBackend,
} from "../fixtures/backends.ts";
import { eventually } from "../helpers/eventually.ts";
import { d1Bindings, durableObjectBindings, type Gateway, PROJECT_ROOT, startGateway } from "../helpers/gateway.ts";
import { type RoundRobinProxy, startRoundRobinProxy } from "../helpers/proxy.ts";

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

async function connect(
  url: string,
  opts: { capabilities?: ClientCapabilities; headers?: Record<string, string>; legacy?: boolean } = {},
): Promise<Client> {
  const client = new Client({ name: "e2e-harness", version: "1.0.0" }, { capabilities: opts.capabilities ?? {} });
  const requestInit = opts.headers ? { headers: opts.headers } : undefined;
  const transport = opts.legacy
    ? new SSEClientTransport(new URL(url), requestInit ? { requestInit } : undefined)
    : new StreamableHTTPClientTransport(new URL(url), requestInit ? { requestInit } : undefined);
  await client.connect(transport);
  return client;
}

function textOf(result: unknown): string {
  const parsed: CallToolResult = CallToolResultSchema.parse(result);
  return parsed.content.map((part) => (part.type === "text" ? part.text : `[${part.type}]`)).join("");
}

function admin(gateway: Gateway, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json", ...init.headers },
  };
}

// ---------------------------------------------------------------------------
// the gateway on workerd
// ---------------------------------------------------------------------------

describe.each([1, 2] as const)("gateway bundle on workerd, %i isolate(s)", (isolates) => {
  let gateway: Gateway;
  let backend: StatefulBackend;

  beforeAll(async () => {
    [gateway, backend] = await Promise.all([startGateway({ isolates }), startStatefulBackend("alpha")]);
  });
  afterAll(async () => {
    await Promise.all([gateway?.stop(), backend?.close()]);
  });

  it("listens on 127.0.0.1 with one socket per isolate", () => {
    expect(new URL(gateway.url).hostname).toBe("127.0.0.1");
    expect(gateway.isolateUrls).toHaveLength(isolates);
    for (const url of gateway.isolateUrls) expect(new URL(url).hostname).toBe("127.0.0.1");
    if (isolates === 1) expect(gateway.url).toBe(gateway.isolateUrls[0]);
  });

  it("GET /health is 200 {status: ok} on every isolate", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gateway.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
      seen.add(res.headers.get("x-e2e-isolate") ?? "direct");
    }
    expect(seen.size).toBe(isolates === 2 ? 2 : 1);
    for (const url of gateway.isolateUrls) {
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
    }
  });

  it("the admin API needs the admin token", async () => {
    const res = await fetch(`${gateway.url}/api/backends`);
    expect(res.status).toBe(401);
    const wrong = await fetch(`${gateway.url}/api/backends`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  it("admin round trip: a backend written on one isolate is readable on every isolate", async () => {
    const created = await fetch(
      `${gateway.url}/api/backends`,
      admin(gateway, {
        method: "POST",
        body: JSON.stringify({ name: "alpha", url: backend.url, transport: "streamable-http" }),
      }),
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: "alpha", url: backend.url, transport: "streamable-http" });

    for (const url of gateway.isolateUrls) {
      await eventually(async () => {
        const res = await fetch(`${url}/api/backends/alpha`, admin(gateway));
        if (res.status !== 200) return false;
        const body = (await res.json()) as { url?: string };
        return body.url === backend.url;
      });
    }
    // And through the proxy (both isolates in turn).
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gateway.url}/api/backends`, admin(gateway));
      expect(res.status).toBe(200);
      const list = (await res.json()) as Array<{ name: string }>;
      expect(list.map((b) => b.name)).toContain("alpha");
    }
  });

  it("D1 is migrated (every migrations/*.sql recorded) and shared by every isolate", async () => {
    const expected = (await readdir(path.join(PROJECT_ROOT, "migrations"))).filter((f) => f.endsWith(".sql")).sort();
    expect(expected.length).toBeGreaterThan(0);
    for (const binding of d1Bindings()) {
      for (const worker of gateway.workerNames) {
        const db = await gateway.miniflare.getD1Database(binding, worker);
        const { results } = await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
        expect(results.map((r) => r.name)).toEqual(expected);
      }
    }
  });

  it("every Durable Object binding from wrangler.toml resolves to one namespace across isolates", async () => {
    const bindings = durableObjectBindings();
    expect(bindings.map((b) => b.name)).toContain("BACKEND");
    for (const binding of bindings) {
      const ids = new Set<string>();
      for (const worker of gateway.workerNames) {
        const namespace = await gateway.miniflare.getDurableObjectNamespace(binding.name, worker);
        // A class declared separately per worker would give a different id for the same name.
        ids.add(String(namespace.idFromName("e2e-shared")));
      }
      expect(ids.size).toBe(1);
    }
  });

  it("the span queue (producer binding of every isolate) accepts messages", async () => {
    for (const worker of gateway.workerNames) {
      const producer = await gateway.miniflare.getQueueProducer("SPANS", worker);
      await producer.send({ e2e: worker });
    }
  });

  it("a write on the first isolate reaches the last one (config propagation)", async () => {
    const first = gateway.isolateUrls[0] as string;
    const second = gateway.isolateUrls.at(-1) as string;
    const created = await fetch(
      `${first}/api/servers`,
      admin(gateway, { method: "POST", body: JSON.stringify({ name: "cross", backends: ["alpha"] }) }),
    );
    expect(created.status).toBe(201);
    await eventually(async () => {
      const res = await fetch(`${second}/api/servers`, admin(gateway));
      const list = (await res.json()) as Array<{ name: string }>;
      return list.some((s) => s.name === "cross");
    }, 5_000);
  });
});

// ---------------------------------------------------------------------------
// the round-robin proxy streams
// ---------------------------------------------------------------------------

describe("round-robin proxy", () => {
  let legacy: LegacySseBackend;
  let stateful: StatefulBackend;
  let legacyProxy: RoundRobinProxy;
  let statefulProxy: RoundRobinProxy;

  beforeAll(async () => {
    [legacy, stateful] = await Promise.all([startLegacySseBackend("sse-proxied"), startStatefulBackend("proxied")]);
    // The same target twice: round-robin without breaking the backend's in-memory sessions.
    [legacyProxy, statefulProxy] = await Promise.all([
      startRoundRobinProxy([new URL(legacy.url).origin, new URL(legacy.url).origin]),
      startRoundRobinProxy([new URL(stateful.url).origin, new URL(stateful.url).origin]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([legacyProxy?.close(), statefulProxy?.close(), legacy?.close(), stateful?.close()]);
  });

  it("streams a long-lived SSE response (legacy transport) without buffering", async () => {
    const client = await connect(`${legacyProxy.url}/sse`, { legacy: true });
    try {
      expect(textOf(await client.callTool({ name: "echo", arguments: { text: "through the proxy" } }))).toBe(
        "through the proxy",
      );
    } finally {
      await client.close();
    }
    expect(legacyProxy.counts.every((n) => n > 0)).toBe(true);
  });

  it("streams progress notifications of a Streamable HTTP call as they happen", async () => {
    const client = await connect(`${statefulProxy.url}/mcp`);
    try {
      const arrivals: number[] = [];
      const started = Date.now();
      const result = await client.callTool({ name: "slow", arguments: { ms: 600 } }, undefined, {
        onprogress: () => {
          arrivals.push(Date.now() - started);
        },
      });
      expect(textOf(result)).toBe("slept 600 ms");
      expect(arrivals.length).toBeGreaterThanOrEqual(3);
      // The first progress arrived long before the result: nothing was buffered.
      expect(arrivals[0]).toBeLessThan(450);
    } finally {
      await client.close();
    }
  });

  it("forwards the client's headers and answers 502 when a target is down", async () => {
    const client = await connect(`${statefulProxy.url}/mcp`, { headers: { "x-probe": "kept" } });
    await client.close();
    expect(stateful.received.some((r) => r.headers["x-probe"] === "kept")).toBe(true);

    const dead = await startRoundRobinProxy(["http://127.0.0.1:9"]);
    try {
      const res = await fetch(`${dead.url}/anything`);
      expect(res.status).toBe(502);
    } finally {
      await dead.close();
    }
  });
});

// ---------------------------------------------------------------------------
// fixture backends, driven directly by the SDK's client
// ---------------------------------------------------------------------------

describe("fixture backends (SDK client, no gateway)", () => {
  let stateful: StatefulBackend;
  let stateless: StatelessBackend;
  let legacy: LegacySseBackend;
  let chaos: ChaosBackend;

  beforeAll(async () => {
    [stateful, stateless, legacy, chaos] = await Promise.all([
      startStatefulBackend("one"),
      startStatelessBackend("two"),
      startLegacySseBackend("three"),
      startChaosBackend("four"),
    ]);
  });
  afterAll(async () => {
    await Promise.all([stateful?.close(), stateless?.close(), legacy?.close(), chaos?.close()]);
  });

  it("stateful: tools, echo, add, fail, prompt, resources, template, completion", async () => {
    const client = await connect(stateful.url);
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(tools).toEqual(["add", "ask_user", "echo", "fail", "log", "slow", "whoami"]);
      expect(textOf(await client.callTool({ name: "echo", arguments: { text: "hi" } }))).toBe("hi");
      expect(textOf(await client.callTool({ name: "add", arguments: { a: 2, b: 40 } }))).toBe("42");
      const failed = CallToolResultSchema.parse(await client.callTool({ name: "fail", arguments: {} }));
      expect(failed.isError).toBe(true);

      const prompt = await client.getPrompt({ name: "greet", arguments: { name: "alice" } });
      expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Hello, alice! (from one)" });

      const readme = await client.readResource({ uri: "mem://one/readme" });
      expect(readme.contents[0]).toMatchObject({ uri: "mem://one/readme", mimeType: "text/plain" });
      const item = await client.readResource({ uri: "mem://one/items/7" });
      expect(item.contents[0]).toMatchObject({ text: JSON.stringify({ id: "7", backend: "one" }) });
      const templates = await client.listResourceTemplates();
      expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain("mem://one/items/{id}");

      const completion = await client.complete({
        ref: { type: "ref/prompt", name: "greet" },
        argument: { name: "name", value: "al" },
      });
      expect(completion.completion.values).toEqual(["alice", "alfred"]);
      const itemCompletion = await client.complete({
        ref: { type: "ref/resource", uri: "mem://one/items/{id}" },
        argument: { name: "id", value: "1" },
      });
      expect(itemCompletion.completion.values).toEqual(["1", "10"]);
    } finally {
      await client.close();
    }
  });

  it("stateful: sampling round trip, only offered to clients that declare sampling", async () => {
    const client = new Client({ name: "sampler", version: "1.0.0" }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const first = request.params.messages[0]?.content;
      const prompt = first && "type" in first && first.type === "text" ? first.text : "?";
      return { role: "assistant", model: "fake-model", content: { type: "text", text: `model says: ${prompt}` } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(stateful.url)));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain("ask_llm");
      const result = await client.callTool({ name: "ask_llm", arguments: { prompt: "2+2?" } });
      expect(textOf(result)).toBe("model says: 2+2?");
      // The sampling result came back to the backend as a POSTed JSON-RPC response.
      expect(stateful.received.some((r) => r.method === "response")).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("stateful: elicitation, logging, progress, per-session identity, headers", async () => {
    const client = await connect(stateful.url, {
      capabilities: { elicitation: {} },
      headers: { authorization: "Bearer client-secret", "x-trace": "t1" },
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { answer: "blue" } }));
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(String(notification.params.data));
    });
    const other = await connect(stateful.url);
    try {
      expect(textOf(await client.callTool({ name: "ask_user", arguments: { question: "colour?" } }))).toBe("blue");
      expect(textOf(await client.callTool({ name: "log", arguments: { count: 2, text: "line" } }))).toBe("logged 2");
      expect(logs).toEqual(["line 1", "line 2"]);

      const progress: Progress[] = [];
      await client.callTool({ name: "slow", arguments: { ms: 100 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ progress: 100, total: 100 });

      const mine = textOf(await client.callTool({ name: "whoami", arguments: {} }));
      const theirs = textOf(await other.callTool({ name: "whoami", arguments: {} }));
      expect(mine).not.toBe(theirs);
      expect(stateful.sessionIds()).toEqual(expect.arrayContaining([mine, theirs]));

      const fromClient = stateful.received.filter((r) => r.sessionId === mine);
      expect(fromClient.length).toBeGreaterThan(0);
      expect(fromClient.every((r) => r.headers.authorization === "Bearer client-secret")).toBe(true);
      expect(fromClient.every((r) => r.headers["x-trace"] === "t1")).toBe(true);
      expect(stateful.received.map((r) => r.method)).toEqual(expect.arrayContaining(["initialize", "tools/call"]));
    } finally {
      await Promise.all([client.close(), other.close()]);
    }
  });

  it("stateful: cancellation aborts the call and is recorded", async () => {
    const client = await connect(stateful.url);
    try {
      const controller = new AbortController();
      const call = client.callTool({ name: "slow", arguments: { ms: 10_000 } }, undefined, {
        signal: controller.signal,
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      controller.abort("changed my mind");
      await expect(call).rejects.toThrow();
      await eventually(async () => stateful.cancelled.length > 0, 3_000);
    } finally {
      await client.close();
    }
  });

  it("stateful: resource subscriptions and updates", async () => {
    const client = await connect(stateful.url);
    try {
      const updated: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updated.push(n.params.uri);
      });
      await client.subscribeResource({ uri: "mem://one/readme" });
      // Unsolicited notifications travel on the standalone GET stream; give it a moment to open.
      await eventually(async () => stateful.received.some((r) => r.httpMethod === "GET"), 3_000);
      expect(await stateful.notifyResourceUpdated("mem://one/readme")).toBe(1);
      await eventually(async () => updated.includes("mem://one/readme"), 3_000);
    } finally {
      await client.close();
    }
  });

  it("stateless: list tools and call echo", async () => {
    const client = await connect(stateless.url);
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["add", "echo"]);
      expect(textOf(await client.callTool({ name: "echo", arguments: { text: "stateless" } }))).toBe("stateless");
      expect(stateless.received.every((r) => r.sessionId === undefined)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("legacy HTTP+SSE: list tools and call echo", async () => {
    const client = await connect(legacy.url, { legacy: true });
    try {
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["add", "echo"]);
      expect(textOf(await client.callTool({ name: "echo", arguments: { text: "legacy" } }))).toBe("legacy");
      expect(legacy.received[0]).toMatchObject({ httpMethod: "GET", path: "/sse" });
    } finally {
      await client.close();
    }
  });

  it("chaos: up, down, garbage and hang", async () => {
    chaos.mode = "up";
    const client = await connect(chaos.url);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["echo"]);
      expect(textOf(await client.callTool({ name: "echo", arguments: { text: "fine" } }))).toBe("fine");

      chaos.mode = "down";
      await expect(client.callTool({ name: "echo", arguments: { text: "x" } })).rejects.toThrow();
      const down = await fetch(chaos.url, { method: "POST", body: "{}" });
      expect(down.status).toBe(503);

      chaos.mode = "garbage";
      const garbage = await fetch(chaos.url, { method: "POST", body: "{}" });
      expect(garbage.status).toBe(200);
      await expect(garbage.json()).rejects.toThrow();

      chaos.mode = "hang";
      await expect(
        fetch(chaos.url, { method: "POST", body: "{}", signal: AbortSignal.timeout(300) }),
      ).rejects.toThrow();

      chaos.mode = "up";
      expect(textOf(await client.callTool({ name: "echo", arguments: { text: "back" } }))).toBe("back");
    } finally {
      chaos.mode = "up";
      await client.close();
    }
  });
});
