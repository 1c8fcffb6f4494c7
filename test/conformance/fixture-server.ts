/**
 * Conformance fixture: a stand-alone MCP server ("backend") that implements
 * everything the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`, server scenarios) calls.
 *
 * It serves MCP Streamable HTTP at `/mcp` on a loopback address, is stateful
 * (one `McpServer` + `StreamableHTTPServerTransport` per session), supports
 * the standalone GET SSE stream, DELETE session termination, resumability
 * (per-session in-memory event store, priming events with a `retry` hint),
 * and rejects DNS-rebinding attempts (Host / Origin validation).
 *
 * Used directly to validate the suite, and as the backend behind the gateway
 * in `npm run test:conformance`. Node-only: it is not part of the Workers
 * bundle. This file is the HTTP layer and the public API; the MCP server of a
 * session is `fixture-mcp.ts` (tools in `fixture-tools.ts` and
 * `fixture-2026.ts`, fixed material in `fixture-data.ts`).
 *
 * Run it directly:
 *   PORT=3001 node --experimental-strip-types test/conformance/fixture-server.ts
 *   PORT=3001 node_modules/.bin/tsx test/conformance/fixture-server.ts
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  isInitializeRequest,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import {
  headerValue,
  type McpSession,
  McpSessions,
  readJsonBody,
  sendJsonRpcError,
  startHttpServer,
} from "../fixtures/http.ts";
import { InMemoryEventStore, type SessionContext, type SharedState, WATCHED_URI } from "./fixture-data.ts";
import { createMcpServer } from "./fixture-mcp.ts";

export { InMemoryEventStore } from "./fixture-data.ts";

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface ConformanceFixtureOptions {
  /** TCP port; 0 (the default) picks a free port. */
  port?: number;
  /** Interface to bind; defaults to 127.0.0.1. */
  host?: string;
  /**
   * Extra hostnames (without port) accepted in Host / Origin headers, on top
   * of localhost, 127.0.0.1, [::1] and the bind host.
   */
  allowedHostnames?: string[];
  /**
   * Treat the protocol version negotiated at `initialize` as authoritative
   * for the session: a request carrying a different (but supported)
   * `MCP-Protocol-Version` header is handled as if it carried the negotiated
   * one. Needed because the suite's raw-HTTP SSE scenarios send
   * `2025-03-26` on sessions that negotiated `2025-11-25`, and the SDK only
   * sends priming events / allows stream closing for >= 2025-11-25.
   * Default true.
   */
  pinNegotiatedProtocolVersion?: boolean;
  /** `retry:` hint (ms) sent in SSE priming events. Default 200. */
  retryIntervalMs?: number;
}

export interface ConformanceFixture {
  /** Full MCP endpoint URL, e.g. `http://127.0.0.1:43123/mcp`. */
  url: string;
  /** Closes every session and stops the HTTP server. */
  close(): Promise<void>;
  /**
   * Changes the content of `test://watched-resource` and sends
   * `notifications/resources/updated` to every session subscribed to it.
   * Returns the number of sessions notified.
   */
  touchWatchedResource(): Promise<number>;
}

export const MCP_PATH = "/mcp";

interface SessionState extends McpSession {
  ctx: SessionContext;
  negotiatedVersion: string;
}

// ---------------------------------------------------------------------------
// HTTP layer
// ---------------------------------------------------------------------------

function requestedProtocolVersion(body: unknown): string | undefined {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  for (const message of messages) {
    if (isInitializeRequest(message)) return message.params.protocolVersion;
  }
  return undefined;
}

/** Rewrites a request header in both the parsed and the raw header lists. */
function overrideHeader(req: IncomingMessage, name: string, value: string): void {
  req.headers[name] = value;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) raw[i + 1] = value;
  }
}

function hostnameOf(hostHeaderOrOrigin: string, isOrigin: boolean): string | undefined {
  try {
    const url = new URL(isOrigin ? hostHeaderOrOrigin : `http://${hostHeaderOrOrigin}`);
    if (isOrigin && url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    return url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** DNS-rebinding protection: Host and (if present) Origin must be loopback. */
function checkHostAndOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): string | undefined {
  const host = headerValue(req, "host");
  const hostname = host === undefined ? undefined : hostnameOf(host, false);
  if (hostname === undefined || !allowed.has(hostname)) return `Invalid Host header: ${host ?? "(missing)"}`;
  const origin = headerValue(req, "origin");
  if (origin !== undefined) {
    const originHost = hostnameOf(origin, true);
    if (originHost === undefined || !allowed.has(originHost)) return `Invalid Origin header: ${origin}`;
  }
  return undefined;
}

function normalizeHostname(host: string): string {
  const lower = host.toLowerCase();
  return lower.includes(":") && !lower.startsWith("[") ? `[${lower}]` : lower;
}

export async function startConformanceFixture(opts: ConformanceFixtureOptions = {}): Promise<ConformanceFixture> {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 0;
  const pinVersion = opts.pinNegotiatedProtocolVersion ?? true;
  const retryInterval = opts.retryIntervalMs ?? 200;
  const allowedHostnames = new Set<string>(
    ["localhost", "127.0.0.1", "[::1]", normalizeHostname(host), ...(opts.allowedHostnames ?? [])].map(
      normalizeHostname,
    ),
  );

  const shared: SharedState = { watchedVersion: 1, broadcastListChanged: async () => 0 };
  const sessions = new McpSessions<SessionState>((body, onsessioninitialized) => {
    const requested = requestedProtocolVersion(body);
    const negotiatedVersion =
      requested !== undefined && SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
    const ctx: SessionContext = { subscriptions: new Set() };
    return {
      ctx,
      negotiatedVersion,
      server: createMcpServer(ctx, shared),
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new InMemoryEventStore(),
        retryInterval,
        onsessioninitialized,
      }),
    };
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fixture.invalid");
    if (url.pathname !== MCP_PATH) {
      sendJsonRpcError(res, 404, -32000, "Not found");
      return;
    }
    const rejection = checkHostAndOrigin(req, allowedHostnames);
    if (rejection !== undefined) {
      sendJsonRpcError(res, 403, -32000, `Forbidden: ${rejection}`);
      return;
    }
    const method = req.method ?? "GET";
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      res.setHeader("allow", "GET, POST, DELETE");
      sendJsonRpcError(res, 405, -32000, "Method not allowed");
      return;
    }

    const body = method === "POST" ? await readJsonBody(req) : undefined;
    const session = await sessions.route(req, res, body);
    if (!session) return;

    const headerVersion = headerValue(req, "mcp-protocol-version");
    if (
      pinVersion &&
      headerVersion !== undefined &&
      headerVersion !== session.negotiatedVersion &&
      SUPPORTED_PROTOCOL_VERSIONS.includes(headerVersion)
    ) {
      overrideHeader(req, "mcp-protocol-version", session.negotiatedVersion);
    }

    await session.transport.handleRequest(req, res, body);
  }

  // The gateway may deliver a listen stream's list_changed through another upstream session
  // than the one the trigger call arrived on, so every session hears it.
  shared.broadcastListChanged = async (kind) => {
    let notified = 0;
    for (const session of sessions.byId.values()) {
      const send =
        kind === "tools" ? session.server.server.sendToolListChanged() : session.server.server.sendPromptListChanged();
      if (await send.then(() => true).catch(() => false)) notified += 1;
    }
    return notified;
  };

  const httpServer = await startHttpServer(handle, {
    host,
    port,
    logPrefix: "[conformance-fixture]",
    beforeClose: () => sessions.disposeAll(),
  });
  const { address } = httpServer;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${urlHost}:${address.port}${MCP_PATH}`,
    async touchWatchedResource(): Promise<number> {
      shared.watchedVersion += 1;
      let notified = 0;
      for (const session of sessions.byId.values()) {
        if (!session.ctx.subscriptions.has(WATCHED_URI)) continue;
        await session.server.server.sendResourceUpdated({ uri: WATCHED_URI });
        notified += 1;
      }
      return notified;
    },
    close: () => httpServer.close(),
  };
}

// ---------------------------------------------------------------------------
// CLI entry point
// ---------------------------------------------------------------------------

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const port = Number.parseInt(process.env.PORT ?? "0", 10);
  const fixture = await startConformanceFixture({
    port: Number.isNaN(port) ? 0 : port,
    host: process.env.HOST ?? "127.0.0.1",
  });
  process.stdout.write(`MCP conformance fixture running on ${fixture.url}\n`);
  const stop = (): void => {
    fixture.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
