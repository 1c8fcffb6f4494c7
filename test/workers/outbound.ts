/**
 * Outbound HTTP for tests inside workerd. The Worker, its Durable Objects and
 * the tests share one isolate, so replacing `fetch` here replaces it for the
 * gateway too: no test reaches the network, and a test can put a scripted
 * MCP backend (`fakeBackend`) at any URL.
 *
 * Loaded as a setup file (vitest.config.ts).
 */

type Handler = (request: Request) => Response | Promise<Response>;

const routes = new Map<string, Handler>();

function routeKey(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

const fakeFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const request = new Request(input, init);
  const handler = routes.get(routeKey(request.url));
  if (!handler) throw new TypeError(`Network connection lost (no route for ${request.url} in unit tests)`);
  const signal = init?.signal ?? request.signal;
  if (signal?.aborted) throw signal.reason;
  return await new Promise<Response>((resolve, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
    Promise.resolve(handler(request)).then(resolve, reject);
  });
};

globalThis.fetch = fakeFetch as typeof fetch;

/** Serves `url` with `handler` until the returned function is called. */
export function route(url: string, handler: Handler): () => void {
  const key = routeKey(url);
  routes.set(key, handler);
  return () => {
    if (routes.get(key) === handler) routes.delete(key);
  };
}

export type FakeMode = "up" | "down" | "hang" | "garbage";

/** A scripted MCP backend (Streamable HTTP, JSON replies, sessions required) at `url`. */
export interface FakeBackend {
  url: string;
  mode: FakeMode;
  tools: string[];
  /** JSON-RPC methods (or HTTP methods for non-POST) received, in order. */
  received: string[];
  /** The headers of each request received, in the same order. */
  headers: Headers[];
  /** Every tools/call answers with a JSON-RPC error instead of a result. */
  rpcErrors: boolean;
  close(): void;
}

function json(body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
}

/** Starts a fake backend; see `FakeBackend`. */
export function fakeBackend(url: string, tools: string[] = ["echo"]): FakeBackend {
  let sessions = 0;
  const fake: FakeBackend = {
    url,
    mode: "up",
    tools,
    received: [],
    headers: [],
    rpcErrors: false,
    close: () => undefined,
  };
  fake.close = route(url, async (request) => {
    let message: { id?: unknown; method?: string; params?: Record<string, unknown> } = {};
    if (request.method === "POST") message = (await request.json()) as typeof message;
    fake.received.push(request.method === "POST" ? (message.method ?? "response") : request.method);
    fake.headers.push(request.headers);
    switch (fake.mode) {
      case "down":
        return new Response("down", { status: 503 });
      case "hang":
        return new Promise<Response>(() => undefined);
      case "garbage":
        return new Response("<html>{{{", { headers: { "content-type": "application/json" } });
      case "up":
        break;
    }
    if (request.method === "DELETE") return new Response(null, { status: 200 });
    const id = message.id;
    if (message.method === "initialize") {
      sessions += 1;
      return json(
        {
          jsonrpc: "2.0",
          id,
          result: {
            protocolVersion: "2025-11-25",
            capabilities: { tools: {} },
            serverInfo: { name: "fake", version: "1" },
          },
        },
        { "mcp-session-id": `s-${sessions}` },
      );
    }
    if (!request.headers.get("mcp-session-id")) return new Response("session required", { status: 400 });
    if (id === undefined) return new Response(null, { status: 202 });
    switch (message.method) {
      case "ping":
        return json({ jsonrpc: "2.0", id, result: {} });
      case "tools/list":
        return json({
          jsonrpc: "2.0",
          id,
          result: { tools: fake.tools.map((name) => ({ name, inputSchema: { type: "object" } })) },
        });
      case "tools/call":
        if (fake.rpcErrors) return json({ jsonrpc: "2.0", id, error: { code: -32602, message: "bad arguments" } });
        return json({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: "ok" }] } });
      default:
        return json({ jsonrpc: "2.0", id, error: { code: -32601, message: "Method not found" } });
    }
  });
  return fake;
}
