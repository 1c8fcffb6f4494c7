// End to end: an SDK client on a search-mode virtual server (two isolates) finds a tool by a plain-words query, reads its schema and calls it with a plugin applied; bad meta-tool input is a JSON-RPC error.
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { readJsonBody, type StartedHttpServer, startHttpServer } from "../fixtures/http";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

/** A realistic little catalog: what a CRM/billing/devops backend might offer. */
const TOOLS: Array<{ name: string; description: string; args: Record<string, string> }> = [
  {
    name: "create_invoice",
    description: "Create and send an invoice to a customer for an amount due.",
    args: {
      customer_email: "Billing e-mail of the customer",
      amount_cents: "Amount in cents",
      memo: "Line shown on the invoice",
    },
  },
  {
    name: "refund_payment",
    description: "Refund a captured card payment, fully or partially.",
    args: { payment_id: "Payment id", amount_cents: "Amount to refund" },
  },
  {
    name: "list_customers",
    description: "List customers, newest first, optionally filtered by e-mail.",
    args: { email: "Filter" },
  },
  {
    name: "get_deploy_status",
    description: "Status of the latest deployment of a service to production.",
    args: { service: "Service name" },
  },
  {
    name: "rollback_deploy",
    description: "Roll a service back to its previous release.",
    args: { service: "Service name" },
  },
  {
    name: "page_oncall",
    description: "Page the on-call engineer of a team with an urgent alert.",
    args: { team: "Team", message: "What is wrong" },
  },
  {
    name: "search_docs",
    description: "Full-text search over the internal engineering wiki.",
    args: { query: "Words to look for" },
  },
  {
    name: "create_calendar_event",
    description: "Schedule a meeting on the shared calendar and invite attendees.",
    args: { title: "Title", start: "ISO time", attendees: "E-mail addresses" },
  },
  {
    name: "translate_text",
    description: "Translate text into another language.",
    args: { text: "Text", target: "Language code" },
  },
  { name: "weather_forecast", description: "Seven-day weather forecast for a city.", args: { city: "City" } },
];

let gateway: Gateway;
let backendServer: StartedHttpServer;
const received: Array<{ name: string; arguments: Record<string, unknown> }> = [];
const SERVER = "huge";
let client: Client;

/** A stateless SDK backend serving TOOLS; every call answers with the arguments it got. */
async function startCatalogBackend(): Promise<string> {
  backendServer = await startHttpServer(
    async (req, res) => {
      const body = req.method === "POST" ? await readJsonBody(req) : undefined;
      const server = new McpServer({ name: "catalog", version: "1" }, { capabilities: { tools: {} } });
      for (const t of TOOLS) {
        const shape = Object.fromEntries(Object.entries(t.args).map(([k, d]) => [k, z.string().describe(d)]));
        server.registerTool(t.name, { description: t.description, inputSchema: shape }, async (args) => {
          received.push({ name: t.name, arguments: args });
          return { content: [{ type: "text", text: `${t.name} ok: ${JSON.stringify(args)}` }] };
        });
      }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on("close", () => void server.close().catch(() => undefined));
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    },
    { host: "127.0.0.1", port: 0, logPrefix: "[discovery backend]" },
  );
  return `http://127.0.0.1:${(backendServer.address as AddressInfo).port}/mcp`;
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

type Structured = { tools: Array<{ name: string; description?: string; inputSchema?: { properties?: object } }> };

async function rpcError(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

beforeAll(async () => {
  let url: string;
  [gateway, url] = await Promise.all([startGateway({ isolates: 2 }), startCatalogBackend()]);
  expect((await admin("POST", "/api/backends", { name: "crm", url })).status).toBe(201);
  expect((await admin("POST", "/api/servers", { name: SERVER, backends: ["crm"], discovery: "search" })).status).toBe(
    201,
  );
  const mask = {
    name: "mask-email",
    kind: "regex_replace",
    hooks: ["tool_pre_invoke"],
    conditions: [{ serverIds: [SERVER] }],
    config: { rules: [{ pattern: "[a-z.]+@[a-z.]+", replacement: "[email]" }] },
  };
  expect((await admin("POST", "/api/plugins", mask)).status).toBe(201);
  // A token made after the config: an isolate that accepts it also knows the server and plugin (versions only grow).
  const token = (
    (await admin("POST", "/api/tokens", { name: "e2e-discovery", scopes: ["mcp"] })).json as {
      token: string;
    }
  ).token;
  await eventually(async () => {
    const candidate = new Client({ name: "e2e-discovery", version: "1" });
    try {
      await candidate.connect(
        new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/${SERVER}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      client = candidate;
      return true;
    } catch {
      await candidate.close().catch(() => undefined);
      return false;
    }
  }, 10_000);
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await Promise.all([gateway?.stop(), backendServer?.close()]);
});

describe("search discovery through two isolates", () => {
  it("lists three meta-tools instead of the catalog", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["search_tools", "describe_tools", "call_tool"]);
  });

  it("finds a tool by a natural-language query, reads its schema and calls it with the plugin applied", async () => {
    // Each isolate builds its own index; round-robin sends these to both.
    for (let i = 0; i < 2; i++) {
      const found = await client.callTool({
        name: "search_tools",
        arguments: { query: "bill a client for money they owe", limit: 3 },
      });
      expect((found.structuredContent as Structured).tools[0]?.name).toBe("crm__create_invoice");
    }
    const oncall = await client.callTool({ name: "search_tools", arguments: { query: "wake up whoever is on call" } });
    expect((oncall.structuredContent as Structured).tools[0]?.name).toBe("crm__page_oncall");

    const described = await client.callTool({ name: "describe_tools", arguments: { names: ["crm__create_invoice"] } });
    const tool = (described.structuredContent as Structured).tools[0];
    expect(Object.keys(tool?.inputSchema?.properties ?? {})).toEqual(["customer_email", "amount_cents", "memo"]);

    const result = await client.callTool({
      name: "call_tool",
      arguments: {
        name: "crm__create_invoice",
        arguments: { customer_email: "ada@example.com", amount_cents: "1200", memo: "March" },
      },
    });
    expect(result.isError).toBeFalsy();
    // The pre-invoke plugin rewrote the arguments before the backend saw them.
    expect(received.at(-1)).toEqual({
      name: "create_invoice",
      arguments: { customer_email: "[email]", amount_cents: "1200", memo: "March" },
    });
    expect((result.content as Array<{ text: string }>)[0]?.text).toContain('"customer_email":"[email]"');
  });

  it("records call_tool's spans as the tool's own: backend span under a tools/call request span", async () => {
    type Span = { traceId: string; spanId: string; parentSpanId: string | null; name: string; attributes: object };
    await client.callTool({
      name: "call_tool",
      arguments: { name: "crm__weather_forecast", arguments: { city: "Oslo" } },
    });
    let backendSpan: Span | undefined;
    await eventually(
      async () => {
        const listed = (await admin("GET", "/api/spans?backend=crm&tool=weather_forecast&limit=5")).json as {
          spans?: Span[];
        };
        backendSpan = listed.spans?.find((s) => s.name === "backend");
        return backendSpan !== undefined;
      },
      15_000,
      250,
    );
    const trace = (await admin("GET", `/api/spans/${backendSpan?.traceId}`)).json as Span[];
    const parent = trace.find((s) => s.spanId === backendSpan?.parentSpanId);
    expect(parent).toMatchObject({
      name: "request",
      attributes: { method: "tools/call", tool: "crm__weather_forecast" },
    });
  });

  it("answers bad meta-tool input with JSON-RPC errors", async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ["search_tools", {}, /query/],
      ["search_tools", { query: "invoice", limit: 1_000_000 }, /limit/],
      ["describe_tools", { names: ["crm__no_such_tool"] }, /Unknown tool/],
      ["call_tool", { name: "nobody__create_invoice", arguments: {} }, /Unknown tool/],
    ];
    for (const [name, args, message] of cases) {
      const err = await rpcError(client.callTool({ name, arguments: args }));
      expect(err.code, name).toBe(-32602);
      expect(err.message).toMatch(message);
    }
  });
});
