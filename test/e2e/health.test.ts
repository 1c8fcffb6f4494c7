/**
 * End to end: circuit breakers, health probes and catalog refresh, with the
 * gateway bundle as two isolates behind a round-robin proxy (so breaker state
 * must travel through the backend's Durable Object, not one isolate's
 * memory), real SDK backends, and the SDK's own client.
 *
 * Nothing here asserts elapsed time: state changes are polled with a deadline.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChaosBackend,
  type StatelessBackend,
  startChaosBackend,
  startStatelessBackend,
} from "../fixtures/backends";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let flaky: ChaosBackend;
let growing: ChaosBackend;
let steady: StatelessBackend;
let mcpToken: string;

interface Health {
  breaker: "closed" | "open" | "half-open";
  healthy: boolean;
  consecutiveFailures: number;
  lastCheckAt: string | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  nextCheckAt: string | null;
  retryAt?: string;
}

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${gateway.adminToken}`,
      ...(body !== undefined && { "content-type": "application/json" }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function health(name: string): Promise<Health> {
  const res = await adminCall("GET", `/api/backends/${name}/health`);
  expect(res.status).toBe(200);
  return res.json as Health;
}

async function connect(): Promise<Client> {
  const client = new Client({ name: "e2e-health", version: "1" }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${mcpToken}` } },
    }),
  );
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

/** How a call ended: its text, or the JSON-RPC error the client got. */
async function attempt(client: Client, tool: string): Promise<{ text?: string; error?: McpError }> {
  try {
    return { text: textOf(await client.callTool({ name: tool, arguments: { text: "hi" } })) };
  } catch (err) {
    if (err instanceof McpError) return { error: err };
    throw err;
  }
}

function unavailable(outcome: { error?: McpError }): boolean {
  return (outcome.error?.data as { reason?: string } | undefined)?.reason === "unavailable";
}

/** Polls `read` until `done` holds or the deadline passes; returns the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

beforeAll(async () => {
  [gateway, flaky, growing, steady] = await Promise.all([
    startGateway({ isolates: 2 }),
    startChaosBackend("flaky"),
    startChaosBackend("growing"),
    startStatelessBackend("steady"),
  ]);
  const backends: Array<[string, string, Record<string, unknown>]> = [
    // Cooldown long enough for the fail-fast checks to run inside it, short enough for the test.
    ["flaky", flaky.url, { failureThreshold: 2, cooldownSeconds: 5, healthIntervalSeconds: 5, timeoutMs: 2000 }],
    ["growing", growing.url, {}],
    ["steady", steady.url, {}],
  ];
  for (const [name, url, extra] of backends) {
    const res = await adminCall("POST", "/api/backends", { name, url, ...extra });
    expect(res.status).toBe(201);
  }
  const token = await adminCall("POST", "/api/tokens", { name: "e2e-health", scopes: ["mcp"] });
  mcpToken = (token.json as { token: string }).token;
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), flaky?.close(), growing?.close(), steady?.close()]);
});

describe("circuit breaker and health checks through two isolates", () => {
  it("a failing backend opens its breaker: calls fail fast naming it, others keep working; it closes by itself", async () => {
    const client = await connect();
    expect((await attempt(client, "flaky__echo")).text).toBe("hi");
    expect(await health("flaky")).toMatchObject({ breaker: "closed", healthy: true });

    flaky.mode = "down";
    // Failures open the breaker; the round-robin proxy alternates isolates, so two
    // rejections in a row mean both isolates know without asking the backend.
    let streak = 0;
    await until(
      async () => {
        streak = unavailable(await attempt(client, "flaky__echo")) ? streak + 1 : 0;
        return streak;
      },
      (s) => s >= 2,
    );
    expect(streak).toBeGreaterThanOrEqual(2);

    const upstreamRequests = flaky.received.length;
    for (let i = 0; i < 4; i++) {
      const outcome = await attempt(client, "flaky__echo");
      expect(outcome.error?.code).toBe(-32010);
      expect(outcome.error?.message).toMatch(/Backend 'flaky' is unavailable/);
      const data = outcome.error?.data as { backend: string; reason: string; retryAt: string };
      expect(data).toMatchObject({ backend: "flaky", reason: "unavailable" });
      expect(Number.isNaN(Date.parse(data.retryAt))).toBe(false);
    }
    // Failing fast means no request reached the backend.
    expect(flaky.received.length).toBe(upstreamRequests);

    const open = await health("flaky");
    expect(open.breaker).not.toBe("closed");
    expect(open.healthy).toBe(false);
    expect(open.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(open.retryAt).toBeDefined();

    // Another backend is unaffected.
    expect((await attempt(client, "steady__echo")).text).toBe("hi");

    // The backend recovers: the health probe after the cooldown closes the breaker, with no traffic.
    flaky.mode = "up";
    const closed = await until(
      () => health("flaky"),
      (h) => h.breaker === "closed",
    );
    expect(closed).toMatchObject({ breaker: "closed", healthy: true, consecutiveFailures: 0, lastError: null });
    expect(closed.lastCheckAt).not.toBeNull();
    expect(typeof closed.lastLatencyMs).toBe("number");

    // Both isolates admit calls again (each within a second of its cached state going stale).
    const ok = await until(
      async () => [await attempt(client, "flaky__echo"), await attempt(client, "flaky__echo")],
      (pair) => pair.every((o) => o.text === "hi"),
      10_000,
    );
    expect(ok.map((o) => o.text)).toEqual(["hi", "hi"]);
    await client.close();
  }, 90_000);

  it("refresh re-discovers a backend's tools now", async () => {
    const before = await adminCall("POST", "/api/backends/growing/refresh");
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({ backend: "growing", tools: 1 });

    growing.addTool("shout");
    const after = await adminCall("POST", "/api/backends/growing/refresh");
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({ backend: "growing", tools: 2, prompts: 0 });

    // Every isolate lists it once its few-second catalog cache expires (the refreshing one at once).
    const client = await connect();
    const names = await until(
      async () => (await client.listTools()).tools.map((t) => t.name),
      (list) => list.includes("growing__shout"),
      15_000,
    );
    expect(names).toContain("growing__shout");
    expect((await attempt(client, "growing__shout")).text).toBe("hi");
    await client.close();
  }, 60_000);

  it("refresh of a failing backend is a 502 naming the failure; unknown backends are 404", async () => {
    growing.mode = "down";
    const res = await adminCall("POST", "/api/backends/growing/refresh");
    growing.mode = "up";
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: { code: "bad_gateway", message: expect.stringMatching(/growing.*503/) } });
    expect((await adminCall("POST", "/api/backends/nope/refresh")).status).toBe(404);
    expect((await adminCall("GET", "/api/backends/nope/health")).status).toBe(404);
  });
});
