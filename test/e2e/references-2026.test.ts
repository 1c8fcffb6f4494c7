// End to end, two isolates: the reference rows of the 2026 era (README, "References through the gateway"): a 2026 SDK backend's input request linking a resource (to a 2026 client and bridged to a 2025 one), resources/updated on subscriptions/listen, and forged or malformed references sent back (refused or passed unmapped, never a 5xx).
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mirroredHeaders } from "../../src/protocol/mcp-headers";
import { type ReferenceBackend, startReferenceBackend } from "../fixtures/reference-backend";
import { type ReferenceBackend2026, startReferenceBackend2026 } from "../fixtures/reference-backend-2026";
import { adminCall, mcpPost } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let refs: ReferenceBackend;
let modern: ReferenceBackend2026;
let token: string;
const clients: Array<{ close(): Promise<void> }> = [];
const PROTOCOL_2026 = "2026-07-28";
/** The public form of the 2026 backend's doc, as every client on `/mcp` must see it. */
const LINKED = "mcpgw://refs26/mem://refs26/doc";

/** The URI linked in a sampling question: in a tool_result block of its last message (sampling with tools). */
function linkedUri(messages: ReadonlyArray<{ content: unknown }>): string {
  const last = messages.at(-1)?.content;
  const blocks = (Array.isArray(last) ? last : [last]) as Array<{ content?: Array<{ uri?: string }> }>;
  return blocks[0]?.content?.[0]?.uri ?? "none";
}

async function legacyClient(seen?: string[]): Promise<Client> {
  const client = new Client({ name: "e2e-references-2025", version: "1" }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    const uri = linkedUri(request.params.messages);
    seen?.push(uri);
    return { model: "m", role: "assistant", content: { type: "text", text: `read ${uri}` } };
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function modernClient(seen?: string[]): Promise<ModernClient> {
  const client = new ModernClient(
    { name: "e2e-references-2026", version: "1" },
    { versionNegotiation: { mode: { pin: PROTOCOL_2026 } }, capabilities: { sampling: {} } },
  );
  client.setRequestHandler("sampling/createMessage", async (request) => {
    const uri = linkedUri(request.params.messages as ReadonlyArray<{ content: unknown }>);
    seen?.push(uri);
    return { model: "m", role: "assistant", content: { type: "text", text: `read ${uri}` } };
  });
  await client.connect(
    new ModernTransport(new URL(`${gateway.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

/** One 2026 request straight to one isolate (stateless, headers mirrored), answered as JSON. */
function post2026(base: string, id: number, method: string, params: Record<string, unknown>) {
  const meta = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL_2026,
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  return mcpPost(
    `${base}/mcp`,
    { jsonrpc: "2.0", id, method, params: { ...params, _meta: meta } },
    { token, protocolVersion: PROTOCOL_2026, headers: mirroredHeaders(method, params) },
  );
}

const textOf = (result: unknown) =>
  (result as { content: Array<{ text?: string }> }).content.map((c) => c.text ?? "").join("");

beforeAll(async () => {
  [gateway, refs, modern] = await Promise.all([
    startGateway({ isolates: 2 }),
    startReferenceBackend("refs"),
    startReferenceBackend2026("refs26"),
  ]);
  const admin = (method: string, route: string, body?: unknown) =>
    adminCall(gateway.url, gateway.adminToken, method, route, body);
  for (const [name, url] of [
    ["refs", refs.url],
    ["refs26", modern.url],
  ] as const) {
    const res = await admin("POST", "/api/backends", { name, url });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  token = (
    (await admin("POST", "/api/tokens", { name: "e2e-references-2026", scopes: ["mcp"] })).json as { token: string }
  ).token;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await Promise.all([gateway?.stop(), refs?.close(), modern?.close()]);
});

describe("a 2026 backend's input requests", () => {
  it("to a 2026 client: the resource its sampling question links is public and readable, the call completes", async () => {
    const seen: string[] = [];
    const client = await modernClient(seen);
    const result = await client.callTool({ name: "refs26__sample_link", arguments: {} });
    expect(seen).toEqual([LINKED]);
    expect(textOf(result)).toBe(`read ${LINKED}`);
    expect((await client.readResource({ uri: LINKED })).contents[0]).toMatchObject({ text: "the doc of refs26" });
  });

  it("bridged to a 2025 client: the sampling request it gets links the public URI, readable there", async () => {
    const seen: string[] = [];
    const client = await legacyClient(seen);
    const result = await client.callTool({ name: "refs26__sample_link", arguments: {} });
    expect(seen).toEqual([LINKED]);
    expect(textOf(result)).toBe(`read ${LINKED}`);
    expect((await client.readResource({ uri: LINKED })).contents[0]).toMatchObject({ text: "the doc of refs26" });
  });
});

describe("notifications/resources/updated on subscriptions/listen", () => {
  it("a 2026 client subscribed to a public URI gets its update with that URI, and reads it", async () => {
    const client = await modernClient();
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      updates.push(String(n.params.uri));
    });
    const doc = "mcpgw://refs/mem://refs/doc";
    const subscription = await client.listen({ resourceSubscriptions: [doc] });
    expect(subscription.honoredFilter.resourceSubscriptions).toEqual([doc]);
    // The gateway subscribed in the backend's own form, in an upstream session of the stream's own.
    await eventually(async () => (await refs.notifyUpdated("mem://refs/doc")) > 0);
    await eventually(async () => updates.includes(doc));
    expect(updates.every((uri) => uri === doc)).toBe(true);
    expect((await client.readResource({ uri: doc })).contents[0]).toMatchObject({ uri: doc, text: "the doc of refs" });
    await subscription.close();
  });
});

describe("forged and malformed references sent back", () => {
  const forged = [
    "mcpgw://nosuch/mem://nosuch/doc",
    "mcpgw://refs",
    "mcpgw://",
    "ui://mcpgw./x",
    "ui://mcpgw.nosuch/view.html",
    "mem://refs/doc",
    `mcpgw://${"x".repeat(3000)}/mem://x/doc`,
  ];

  it("resources/read of each, on both isolates (2026): -32602 naming the URI as sent, never a 5xx", async () => {
    let id = 0;
    for (const base of gateway.isolateUrls) {
      for (const uri of forged) {
        id += 1;
        const res = await post2026(base, id, "resources/read", { uri });
        expect(res.status, uri).toBe(200);
        // 2026 answers a missing resource with -32602; data.uri is the client's URI, never mapped.
        expect(res.json, uri).toMatchObject({ id, error: { code: -32602, data: { uri } } });
      }
    }
  });

  it("resources/read of each (2025 session): -32002 naming the URI as sent, never a 5xx", async () => {
    const client = await legacyClient();
    for (const uri of forged) {
      const err = await client.readResource({ uri }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, uri).toBeInstanceOf(McpError);
      expect((err as McpError).code, uri).toBe(-32002);
      expect((err as McpError).data, uri).toEqual({ uri });
    }
  });

  it("another backend's public URI in a format-uri argument reaches the backend unmapped", async () => {
    const client = await legacyClient();
    const other = LINKED;
    const own = "mcpgw://refs/mem://refs/doc";
    const result = await client.callTool({ name: "refs__open", arguments: { target: other } });
    expect(textOf(result)).toBe(`${other}|`);
    expect(refs.seen).toContain(other);
    expect(refs.seen).not.toContain("mem://refs26/doc");
    // Its own public URI, beside it, is unmapped: the check is per backend, not a blanket pass-through.
    expect(textOf(await client.callTool({ name: "refs__open", arguments: { target: own } }))).toBe("mem://refs/doc|");
  });
});
