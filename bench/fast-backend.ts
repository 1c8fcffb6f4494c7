/**
 * A minimal, fast MCP backend for the benchmark: stateless Streamable HTTP
 * with JSON replies, one tool (`echo`). It does as little as an MCP server
 * can, so the rows measure the gateway, not the backend. Run as a child
 * process: prints `{"url": ...}` on stdout once listening.
 */
import { createServer } from "node:http";

const TOOL = {
  name: "echo",
  description: "Echoes its text",
  inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  annotations: { readOnlyHint: true },
};

function reply(id: unknown, result: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", id, result });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    let message: { id?: unknown; method?: string; params?: { arguments?: { text?: unknown } } };
    try {
      message = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    let body: string;
    switch (message.method) {
      case "initialize":
        body = reply(message.id, {
          protocolVersion: "2025-11-25",
          capabilities: { tools: {} },
          serverInfo: { name: "fast", version: "1" },
        });
        break;
      case "tools/list":
        body = reply(message.id, { tools: [TOOL] });
        break;
      case "tools/call":
        body = reply(message.id, {
          content: [{ type: "text", text: String(message.params?.arguments?.text ?? "") }],
        });
        break;
      case "ping":
        body = reply(message.id, {});
        break;
      default:
        body = JSON.stringify({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found" } });
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
});

server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object")
    console.log(JSON.stringify({ url: `http://127.0.0.1:${address.port}/mcp` }));
});
