/**
 * End to end: 2025 clients (SDK v1 Client) in front of a 2026-07-28 backend
 * (SDK v2, refusing 2025 traffic), through the gateway bundle as two
 * isolates: era detection, stateless calls with the envelope and mirrored
 * headers, the input-required bridge with answers landing on the other
 * isolate, discover health probes, and re-detection when a backend changes
 * era (on a version error, and on an operator's refresh).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatefulBackend, startStatefulBackend } from "../fixtures/backends";
import { type ModernBackend, startModernBackend } from "../fixtures/modern-backend";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let nova: ModernBackend;
let shift: ModernBackend;
let alpha: StatefulBackend;
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

/** Which isolate served each request of a client, and the JSON-RPC message it carried. */
interface Routed {
  isolate: string;
  body: Record<string, unknown> | null;
}

/**
 * A v1 client; with `answers`, it declares elicitation and sampling and answers them. Every POST that
 * carries an answer to a gateway input request is sent to the isolate that did NOT serve the call
 * before it, so the answer must travel through the session's Durable Object.
 */
async function connect(answers = false, routed: Routed[] = []): Promise<Client> {
  const client = new Client(
    { name: "e2e-2025", version: "1" },
    { capabilities: answers ? { elicitation: {}, sampling: {} } : {} },
  );
  if (answers) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => ({
      action: "accept",
      content: { name: req.params.message.startsWith("And after") ? "Grace" : "Ada" },
    }));
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      model: "e2e-model",
      role: "assistant",
      content: { type: "text", text: "Paris" },
    }));
  }
  const [first = "", second = ""] = gateway.isolateUrls;
  const viaProxy: typeof fetch = async (input, init) => {
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : null;
    let url = new URL(String(input));
    const answer = body && "result" in body && String(body.id).startsWith("mcpgw-in:");
    if (answer) {
      // The isolate of the last call: the answer goes to the other one, bypassing the proxy.
      const last = routed.filter((r) => r.body?.method === "tools/call").at(-1)?.isolate;
      url = new URL(url.pathname, last === "0" ? second : first);
    }
    const res = await fetch(url, init);
    const isolate = answer
      ? url.origin === new URL(first).origin
        ? "0"
        : "1"
      : (res.headers.get("x-e2e-isolate") ?? "");
    routed.push({ isolate, body });
    return res;
  };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${mcpToken}` } },
      fetch: viaProxy,
    }),
  );
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

function calls(backend: ModernBackend, tool: string) {
  return backend.received.filter((r) => r.method === "tools/call" && r.params?.name === tool);
}

beforeAll(async () => {
  [gateway, nova, shift, alpha] = await Promise.all([
    startGateway({ isolates: 2 }),
    startModernBackend("nova"),
    startModernBackend("shift"),
    startStatefulBackend("alpha"),
  ]);
  shift.era = "legacy";
  for (const [name, url, extra] of [
    ["nova", nova.url, { healthIntervalSeconds: 5 }],
    ["shift", shift.url, {}],
    ["alpha", alpha.url, {}],
  ] as const) {
    expect((await adminCall("POST", "/api/backends", { name, url, ...extra })).status).toBe(201);
  }
  const token = await adminCall("POST", "/api/tokens", { name: "e2e-2026", scopes: ["mcp"] });
  mcpToken = (token.json as { token: string }).token;
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), nova?.close(), shift?.close(), alpha?.close()]);
});

describe("a 2025 client in front of a 2026 backend, two isolates", () => {
  it("lists and calls the backend's tools next to a 2025 backend's, in the 2025 shape", async () => {
    const client = await connect();
    const tools = (await client.listTools()).tools;
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["nova__echo", "nova__add", "nova__regional", "alpha__echo"]));
    // 2026 allows a bare-number output schema; a 2025 client sees it wrapped as {result: …}.
    expect(tools.find((t) => t.name === "nova__add")?.outputSchema).toMatchObject({
      type: "object",
      properties: { result: { type: "number" } },
    });
    expect(textOf(await client.callTool({ name: "nova__echo", arguments: { text: "hi" } }))).toBe("hi");
    const sum = await client.callTool({ name: "nova__add", arguments: { a: 2, b: 3 } });
    expect(sum.structuredContent).toEqual({ result: 5 });
    // 2026-only fields and the backend's identity stay behind the gateway.
    expect(sum).not.toHaveProperty("resultType");
    expect(JSON.stringify(sum)).not.toContain("fixture-2026");
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "old" } }))).toBe("old");
    await client.close();
  });

  it("mirrors the x-mcp-header argument as Mcp-Param-Region (Base64 sentinel when not plain ASCII)", async () => {
    const client = await connect();
    expect(
      textOf(await client.callTool({ name: "nova__regional", arguments: { region: "eu-west", query: "q" } })),
    ).toBe("eu-west:q");
    const plain = calls(nova, "regional").at(-1);
    expect(plain?.headers).toMatchObject({
      "mcp-method": "tools/call",
      "mcp-name": "regional",
      "mcp-param-region": "eu-west",
      "mcp-protocol-version": "2026-07-28",
    });
    const odd = " Zürich";
    expect(textOf(await client.callTool({ name: "nova__regional", arguments: { region: odd, query: "q" } }))).toBe(
      `${odd}:q`,
    );
    const encoded = `=?base64?${Buffer.from(odd, "utf8").toString("base64")}?=`;
    expect(calls(nova, "regional").at(-1)?.headers["mcp-param-region"]).toBe(encoded);
    await client.close();
  });

  it("serves the backend's prompts and resources, and relays progress", async () => {
    const client = await connect();
    const prompt = await client.getPrompt({ name: "nova__greet", arguments: { who: "bob" } });
    expect(JSON.stringify(prompt.messages)).toContain("Hello, bob!");
    const read = await client.readResource({ uri: "mcpgw://nova/mem://nova/readme" });
    expect(read.contents[0]).toMatchObject({ uri: "mcpgw://nova/mem://nova/readme", text: "readme of nova" });
    expect(read).not.toHaveProperty("ttlMs");
    const progress: number[] = [];
    const done = await client.callTool({ name: "nova__progress", arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(textOf(done)).toBe("progressed");
    expect(progress).toEqual([1, 2, 3]);
    await client.close();
  });

  it("bridges InputRequiredResult: elicitation and sampling asked on the call's stream, answered on the other isolate", async () => {
    const routed: Routed[] = [];
    const client = await connect(true, routed);
    expect(textOf(await client.callTool({ name: "nova__ask_name", arguments: {} }))).toBe("Hello, Ada!");
    const call = routed.filter((r) => r.body?.method === "tools/call").at(-1);
    const answer = routed.find((r) => String(r.body?.id).startsWith("mcpgw-in:"));
    expect(answer).toBeDefined();
    expect(answer?.isolate).not.toBe(call?.isolate);
    // The retry carried the answer and the byte-exact requestState the backend sealed.
    const [first, retry] = calls(nova, "ask_name").slice(-2);
    expect(first?.params?.inputResponses).toBeUndefined();
    expect(retry?.params?.inputResponses).toEqual({ user_name: { action: "accept", content: { name: "Ada" } } });
    expect(typeof retry?.params?.requestState).toBe("string");
    // Several rounds, sampling, and a round carrying only requestState.
    expect(textOf(await client.callTool({ name: "nova__twice", arguments: {} }))).toBe("second answer: Grace");
    expect(textOf(await client.callTool({ name: "nova__ask_model", arguments: {} }))).toBe("model said Paris");
    expect(textOf(await client.callTool({ name: "nova__shed", arguments: {} }))).toBe("served after a pause");
    await client.close();
  });

  it("relays the backend's 400 -32021 in-band when the client did not declare elicitation", async () => {
    const client = await connect();
    const error = await client.callTool({ name: "nova__ask_name", arguments: {} }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32021);
    expect((error as McpError).data).toEqual({ requiredCapabilities: { elicitation: { form: {} } } });
    await client.close();
  });

  it("never sends the backend initialize or Mcp-Session-Id; every request carries the envelope", async () => {
    expect(nova.received.length).toBeGreaterThan(10);
    for (const r of nova.received) {
      expect(r.httpMethod).toBe("POST");
      expect(r.method).not.toBe("initialize");
      expect(r.headers["mcp-session-id"]).toBeUndefined();
      expect(r.headers.authorization).toBeUndefined();
      const meta = r.params?._meta as Record<string, unknown> | undefined;
      expect(meta?.["io.modelcontextprotocol/protocolVersion"]).toBe("2026-07-28");
      expect(meta?.["io.modelcontextprotocol/clientInfo"]).toMatchObject({ name: "mcp-edge-gateway" });
    }
    // The bridged calls declared what the client declared at initialize.
    const meta = calls(nova, "ask_model").at(-1)?.params?._meta as Record<string, unknown>;
    expect(meta["io.modelcontextprotocol/clientCapabilities"]).toEqual({ elicitation: {}, sampling: {} });
  });

  it("probes the backend's health with server/discover", async () => {
    await eventually(async () => {
      const res = await adminCall("GET", "/api/backends/nova/health");
      const health = res.json as { healthy: boolean; lastCheckAt: string | null };
      return health.healthy && health.lastCheckAt !== null;
    }, 20_000);
    expect(nova.received.some((r) => r.method === "server/discover")).toBe(true);
    expect(nova.received.some((r) => r.method === "ping")).toBe(false);
  });
});

describe("a backend that changes era", () => {
  it("a version error re-detects a backend that moved to 2026, and the call goes through", async () => {
    const client = await connect();
    expect(textOf(await client.callTool({ name: "shift__echo", arguments: { text: "before" } }))).toBe("before");
    shift.era = "modern";
    expect(textOf(await client.callTool({ name: "shift__echo", arguments: { text: "after" } }))).toBe("after");
    const call = calls(shift, "echo").at(-1);
    expect(call?.headers["mcp-session-id"]).toBeUndefined();
    expect(call?.headers["mcp-protocol-version"]).toBe("2026-07-28");
    expect(shift.received.some((r) => r.method === "initialize")).toBe(false);
    await client.close();
  });

  it("an operator's refresh re-detects the era, and calls follow it", async () => {
    shift.era = "legacy";
    const refreshed = await adminCall("POST", "/api/backends/shift/refresh");
    expect(refreshed.status).toBe(200);
    expect(refreshed.json).toMatchObject({ backend: "shift", protocolEra: "2025" });
    const client = await connect();
    // Each isolate follows within its catalog freshness (a second or so for this backend).
    await eventually(async () => {
      const result = await client
        .callTool({ name: "shift__echo", arguments: { text: "legacy again" } })
        .catch(() => ({}));
      return textOf(result) === "legacy again";
    }, 15_000);
    shift.era = "modern";
    const again = await adminCall("POST", "/api/backends/shift/refresh");
    expect(again.json).toMatchObject({ protocolEra: "2026-07-28" });
    await client.close();
  });
});
