/**
 * End to end, two isolates: 2026-07-28 clients (the SDK v2 `Client` pinned to
 * 2026-07-28 and in `auto` negotiation) in front of 2025 SDK v1 backends,
 * beside a 2025 client on the same endpoint: discovery, listings, calls,
 * prompts, resources, progress, `subscriptions/listen` receiving a resource
 * update routed through the backend's own subscription, and a 2025 backend's
 * elicitation and sampling requests answered through `InputRequiredResult`
 * retries that land on the other isolate; forged and replayed request state
 * refused.
 */
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatefulBackend, startStatefulBackend } from "../fixtures/backends";
import { adminCall, mcpPost } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let alpha: StatefulBackend;
let token: string;
const clients: Array<{ close(): Promise<void> }> = [];

async function modern(mode: "pin" | "auto" = "pin", asks = false): Promise<ModernClient> {
  const client = new ModernClient(
    { name: "e2e-modern", version: "1" },
    {
      versionNegotiation: { mode: mode === "pin" ? { pin: "2026-07-28" } : "auto" },
      ...(asks && { capabilities: { elicitation: {}, sampling: {} } }),
    },
  );
  if (asks) {
    client.setRequestHandler("elicitation/create", async (request) => ({
      action: "accept",
      content: { answer: `answer to ${String(request.params.message)}` },
    }));
    client.setRequestHandler("sampling/createMessage", async () => ({
      model: "test-model",
      role: "assistant",
      content: { type: "text", text: "sampled by the 2026 client" },
    }));
  }
  await client.connect(
    new ModernTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

beforeAll(async () => {
  alpha = await startStatefulBackend("alpha");
  gateway = await startGateway({ isolates: 2 });
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(gateway.url, gateway.adminToken, method, path, body);
  expect((await admin("POST", "/api/backends", { name: "alpha", url: alpha.url })).status).toBe(201);
  token = ((await admin("POST", "/api/tokens", { name: "modern", scopes: ["mcp"] })).json as { token: string }).token;
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await gateway?.stop();
  await alpha?.close();
});

describe("2026-07-28 clients through the gateway", () => {
  it("negotiates the 2026 revision (pinned and auto) and lists the federated catalog", async () => {
    const pinned = await modern("pin");
    expect(pinned.getProtocolEra()).toBe("modern");
    const auto = await modern("auto");
    expect(auto.getProtocolEra()).toBe("modern");
    const tools = (await pinned.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["alpha__echo", "alpha__slow", "alpha__add"]));
    const prompts = (await pinned.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toContain("alpha__greet");
  });

  it("calls tools, gets prompts and reads resources statelessly, with progress relayed", async () => {
    const client = await modern();
    const echo = await client.callTool({ name: "alpha__echo", arguments: { text: "from 2026" } });
    expect(echo.content).toEqual([{ type: "text", text: "from 2026" }]);
    const prompt = await client.getPrompt({ name: "alpha__greet", arguments: { name: "alice" } });
    expect(JSON.stringify(prompt.messages)).toContain("Hello, alice!");
    const read = await client.readResource({ uri: "mcpgw://alpha/mem://alpha/readme" });
    expect(read.contents[0]).toMatchObject({ uri: "mcpgw://alpha/mem://alpha/readme" });
    const progress: number[] = [];
    const slow = await client.callTool(
      { name: "alpha__slow", arguments: { ms: 300 } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(slow.isError).toBeFalsy();
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it("never opens a client session: the gateway's answers carry no Mcp-Session-Id", async () => {
    const res = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/list",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
        params: {
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect(((await res.json()) as { result: { resultType: string } }).result.resultType).toBe("complete");
  });

  it("delivers a subscribed resource's update on subscriptions/listen, stamped for the subscription", async () => {
    const client = await modern();
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      updates.push(String(n.params.uri));
    });
    const uri = "mcpgw://alpha/mem://alpha/readme";
    const subscription = await client.listen({ resourceSubscriptions: [uri] });
    expect(subscription.honoredFilter.resourceSubscriptions).toEqual([uri]);
    // The gateway subscribed on the backend in a session of the subscription's own.
    await eventually(async () => (await alpha.notifyResourceUpdated("mem://alpha/readme")) > 0);
    await eventually(async () => updates.includes(uri));
    await subscription.close();
    expect(await subscription.closed).toBe("local");
  });

  it("bridges a 2025 backend's elicitation and sampling into InputRequiredResult rounds, on either isolate", async () => {
    const client = await modern("pin", true);
    const asked = await client.callTool({ name: "alpha__ask_user", arguments: { question: "colour?" } });
    expect(asked.content).toEqual([{ type: "text", text: "answer to colour?" }]);
    const sampled = await client.callTool({ name: "alpha__ask_llm", arguments: { prompt: "hi" } });
    expect(sampled.content).toEqual([{ type: "text", text: "sampled by the 2026 client" }]);
  });

  it("answers the first round with an InputRequiredResult, resumes with the answer on the other isolate, refuses forged or replayed state", async () => {
    const [a = "", b = ""] = gateway.isolateUrls;
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
    };
    const call = (base: string, id: number, extra: Record<string, unknown> = {}) =>
      mcpPost(
        `${base}/mcp`,
        {
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "alpha__ask_user", arguments: { question: "q?" }, _meta: meta, ...extra },
        },
        {
          token,
          protocolVersion: "2026-07-28",
          headers: { "mcp-method": "tools/call", "mcp-name": "alpha__ask_user" },
        },
      );
    const first = await call(a, 1);
    const round = (first.json as { result: { resultType: string; inputRequests: object; requestState: string } })
      .result;
    expect(round.resultType).toBe("input_required");
    const [key, request] = Object.entries(round.inputRequests)[0] ?? [];
    expect(request).toMatchObject({ method: "elicitation/create", params: { message: "q?" } });
    // A forged state is refused before anything reaches the backend.
    const forged = await call(b, 2, { inputResponses: {}, requestState: `${round.requestState}-TAMPERED` });
    expect(forged.json).toMatchObject({ id: 2, error: { code: -32602 } });
    const answer = { [String(key)]: { action: "accept", content: { answer: "forty-two" } } };
    const done = await call(b, 3, { inputResponses: answer, requestState: round.requestState });
    expect(done.json).toMatchObject({ id: 3, result: { resultType: "complete", content: [{ text: "forty-two" }] } });
    // The parked call is gone once it finished: the same state cannot be replayed.
    const replayed = await call(a, 4, { inputResponses: answer, requestState: round.requestState });
    expect(replayed.json).toMatchObject({ id: 4, error: { code: -32602, data: { reason: "invalid_request_state" } } });
  });

  it("serves a 2025 client beside them on the same endpoint", async () => {
    const legacy = new Client({ name: "e2e-2025", version: "1" }, { capabilities: {} });
    await legacy.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    clients.push(legacy);
    expect(legacy.transport && (legacy.transport as StreamableHTTPClientTransport).sessionId).toBeTruthy();
    const echo = await legacy.callTool({ name: "alpha__echo", arguments: { text: "from 2025" } });
    expect(echo.content).toEqual([{ type: "text", text: "from 2025" }]);
  });
});
