/**
 * The backends of the discovery benchmark, in one child process: every
 * backend of the 10,000-tool synthetic catalog (`catalog.ts`) at
 * `/<backend>/mcp`, as a minimal stateless MCP server (JSON replies, 2025
 * era, no sessions) like `bench/fast-backend.ts`. `tools/call` echoes its
 * arguments. Prints `{"base": ...}` on stdout once listening.
 */
import { createServer } from "node:http";
import { catalog } from "./catalog.ts";

const SIZE = Number(process.env.CATALOG_SIZE ?? 10_000);
const tools = new Map(
  [...catalog(SIZE)].map(([backend, list]) => [
    backend,
    JSON.stringify(list), // serialised once: a listing costs the backend nothing per request
  ]),
);

function reply(id: unknown, result: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${result}}`;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const backend = /^\/([a-z0-9-]+)\/mcp$/.exec(req.url ?? "")?.[1];
    const list = backend ? tools.get(backend) : undefined;
    if (req.method !== "POST" || list === undefined) {
      res.writeHead(404).end();
      return;
    }
    let message: { id?: unknown; method?: string; params?: { name?: unknown; arguments?: unknown } };
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
        body = reply(
          message.id,
          JSON.stringify({
            protocolVersion: "2025-11-25",
            capabilities: { tools: {} },
            serverInfo: { name: backend, version: "1" },
          }),
        );
        break;
      case "tools/list":
        body = reply(message.id, `{"tools":${list}}`);
        break;
      case "tools/call":
        body = reply(
          message.id,
          JSON.stringify({ content: [{ type: "text", text: JSON.stringify(message.params?.arguments ?? {}) }] }),
        );
        break;
      case "ping":
        body = reply(message.id, "{}");
        break;
      default:
        body = JSON.stringify({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found" } });
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
});

server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(JSON.stringify({ base: `http://127.0.0.1:${address.port}` }));
});
