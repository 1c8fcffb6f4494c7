/**
 * A scripted Streamable HTTP MCP backend for the workerd fuzz tests, served
 * through the test fetch router (`outbound.ts`): sessions, tools that answer
 * in JSON (`echo`, `fail`) and over SSE with a progress notification and a
 * log message (`stream`), a prompt, a resource, completion and logging. It
 * records the headers it received, so a test can see the planted header
 * value arrive and check it never comes back out.
 */
import { route } from "./outbound";

type Message = { id?: unknown; method?: string; params?: Record<string, unknown> };

function json(body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
}

function sse(messages: unknown[]): Response {
  const text = messages.map((m, i) => `id: ${i + 1}\nevent: message\ndata: ${JSON.stringify(m)}\n\n`).join("");
  return new Response(text, { headers: { "content-type": "text/event-stream" } });
}

const TOOLS = [
  { name: "echo", inputSchema: { type: "object", properties: { text: { type: "string" } } } },
  { name: "stream", inputSchema: { type: "object" } },
  { name: "fail", inputSchema: { type: "object" } },
];

function result(m: Message, name: string): unknown {
  const id = m.id;
  const params = m.params ?? {};
  switch (m.method) {
    case "ping":
    case "logging/setLevel":
    case "resources/subscribe":
    case "resources/unsubscribe":
      return { jsonrpc: "2.0", id, result: {} };
    case "tools/list":
      return { jsonrpc: "2.0", id, result: { tools: TOOLS } };
    case "prompts/list":
      return { jsonrpc: "2.0", id, result: { prompts: [{ name: "greet", arguments: [{ name: "name" }] }] } };
    case "prompts/get":
      if (params.name !== "greet") return { jsonrpc: "2.0", id, error: { code: -32602, message: "Unknown prompt" } };
      return { jsonrpc: "2.0", id, result: { messages: [{ role: "user", content: { type: "text", text: "hello" } }] } };
    case "resources/list":
      return { jsonrpc: "2.0", id, result: { resources: [{ uri: `mem://${name}/readme`, name: "readme" }] } };
    case "resources/templates/list":
      return { jsonrpc: "2.0", id, result: { resourceTemplates: [] } };
    case "resources/read":
      return { jsonrpc: "2.0", id, result: { contents: [{ uri: String(params.uri), text: "readme" }] } };
    case "completion/complete":
      return { jsonrpc: "2.0", id, result: { completion: { values: ["alice"] } } };
    default:
      return { jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } };
  }
}

function call(m: Message): Response {
  const id = m.id;
  const params = m.params ?? {};
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  switch (params.name) {
    case "echo":
      return json({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: String(args.text ?? "") }] } });
    case "fail":
      return json({ jsonrpc: "2.0", id, result: { isError: true, content: [{ type: "text", text: "failed" }] } });
    case "stream": {
      const token = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
      return sse([
        ...(token === undefined
          ? []
          : [{ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: 1 } }]),
        { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "working" } },
        { jsonrpc: "2.0", id, result: { content: [{ type: "text", text: "streamed" }] } },
      ]);
    }
    default:
      return json({ jsonrpc: "2.0", id, error: { code: -32602, message: "Unknown tool" } });
  }
}

/** What the fake backend saw. */
export interface FuzzBackend {
  /** Values of the header `name` on every request received. */
  headerValues: string[];
  close(): void;
}

/** Serves the fake backend `name` at `url`, recording header `recordHeader`. */
export function startFuzzBackend(url: string, name: string, recordHeader: string): FuzzBackend {
  let sessions = 0;
  const seen: FuzzBackend = { headerValues: [], close: () => undefined };
  seen.close = route(url, async (request) => {
    const value = request.headers.get(recordHeader);
    if (value !== null && seen.headerValues.length < 1000) seen.headerValues.push(value);
    if (request.method === "DELETE") return new Response(null, { status: 200 });
    if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
    const m = (await request.json()) as Message;
    if (m.method === "initialize") {
      sessions += 1;
      return json(
        {
          jsonrpc: "2.0",
          id: m.id,
          result: {
            protocolVersion: "2025-11-25",
            capabilities: { tools: {}, prompts: {}, resources: { subscribe: true }, completions: {}, logging: {} },
            serverInfo: { name, version: "1" },
          },
        },
        { "mcp-session-id": `${name}-${sessions}` },
      );
    }
    if (!request.headers.get("mcp-session-id")) return new Response("session required", { status: 400 });
    if (m.id === undefined || m.method === undefined) return new Response(null, { status: 202 });
    return m.method === "tools/call" ? call(m) : json(result(m, name));
  });
  return seen;
}
