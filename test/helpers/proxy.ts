/**
 * A small round-robin HTTP reverse proxy (node:http) for the e2e harness:
 * each request goes to the next target in turn. Request and response bodies
 * are streamed both ways without buffering (SSE works: headers are flushed at
 * once and every chunk is forwarded as it arrives), the client's Host header
 * is kept, and a client that goes away aborts the upstream request. Responses
 * carry `x-e2e-isolate: <target index>`.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

export interface RoundRobinProxy {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** How many requests each target received, by index. */
  counts: number[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Listening port; 0 (default) picks a free one. Always bound to 127.0.0.1. */
  port?: number;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; Node frames each side itself. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "upgrade",
]);

function forwardable(headers: IncomingHttpHeaders, dropTransferEncoding: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (dropTransferEncoding && name === "transfer-encoding") continue;
    out[name] = value;
  }
  return out;
}

export async function startRoundRobinProxy(targets: string[], opts: ProxyOptions = {}): Promise<RoundRobinProxy> {
  if (targets.length === 0) throw new Error("startRoundRobinProxy needs at least one target");
  const upstreams = targets.map((target) => new URL(target));
  const counts = upstreams.map(() => 0);
  const agent = new Agent({ keepAlive: true });
  let next = 0;

  const proxyRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const index = next;
    next = (next + 1) % upstreams.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const target = upstreams[index] as URL;

    const upstream = httpRequest(
      {
        agent,
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // Keeping Transfer-Encoding: chunked tells Node to stream a body of unknown length.
        headers: forwardable(req.headers, false),
      },
      (upstreamRes) => {
        const headers = forwardable(upstreamRes.headers, true);
        headers["x-e2e-isolate"] = String(index);
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, headers);
        res.flushHeaders();
        upstreamRes.on("data", (chunk: Buffer) => {
          // No buffering: write each chunk through as soon as it arrives.
          if (!res.write(chunk)) {
            upstreamRes.pause();
            res.once("drain", () => upstreamRes.resume());
          }
        });
        upstreamRes.on("end", () => res.end());
        upstreamRes.on("error", () => res.destroy());
      },
    );
    upstream.setNoDelay(true);
    upstream.on("error", (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { "content-type": "application/json", "x-e2e-isolate": String(index) });
      res.end(JSON.stringify({ error: { code: "bad_gateway", message: `e2e proxy: ${error.message}` } }));
    });
    // The client went away before the response finished: abort upstream (propagates cancellation).
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const server = createServer(proxyRequest);
  server.on("connection", (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return closed;
    },
  };
}
