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
 * Used directly to validate the suite, and later as the backend behind the
 * gateway. Node-only: it is not part of the Workers bundle.
 *
 * Run it directly:
 *   PORT=3001 node --experimental-strip-types test/conformance/fixture-server.ts
 *   PORT=3001 node_modules/.bin/tsx test/conformance/fixture-server.ts
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { deflateSync } from "node:zlib";
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  type EventId,
  type EventStore,
  StreamableHTTPServerTransport,
  type StreamId,
} from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  type CallToolResult,
  CreateMessageResultSchema,
  type ElicitRequestFormParams,
  ElicitResultSchema,
  isInitializeRequest,
  type JSONRPCMessage,
  LATEST_PROTOCOL_VERSION,
  type LoggingLevel,
  LoggingLevelSchema,
  type ServerNotification,
  type ServerRequest,
  SetLevelRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  headerValue,
  type McpSession,
  McpSessions,
  readJsonBody,
  sendJsonRpcError,
  startHttpServer,
} from "../fixtures/http.ts";

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

// ---------------------------------------------------------------------------
// Static test data
// ---------------------------------------------------------------------------

const CRC_TABLE: readonly number[] = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A valid 1x1 red PNG, base64. */
function makeRedPixelPng(): string {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: truecolour (RGB)
  // compression, filter, interlace: 0
  const scanline = Buffer.from([0, 0xff, 0x00, 0x00]); // filter byte + RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(scanline)),
    pngChunk("IEND", Buffer.alloc(0)),
  ]).toString("base64");
}

/** A valid, tiny WAV (8 kHz, mono, 8-bit PCM, 50 ms square wave), base64. */
function makeTinyWav(): string {
  const sampleRate = 8000;
  const samples = 400;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + samples, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate, 28); // byte rate
  header.writeUInt16LE(1, 32); // block align
  header.writeUInt16LE(8, 34); // bits per sample
  header.write("data", 36, "ascii");
  header.writeUInt32LE(samples, 40);
  const data = Buffer.alloc(samples);
  for (let i = 0; i < samples; i++) {
    data[i] = Math.floor(i / 9) % 2 === 0 ? 0xa0 : 0x60;
  }
  return Buffer.concat([header, data]).toString("base64");
}

const RED_PIXEL_PNG = makeRedPixelPng();
const TINY_WAV = makeTinyWav();

const STATIC_TEXT = "This is the content of the static text resource.";
const WATCHED_URI = "test://watched-resource";
const COMPLETION_WORDS = ["paris", "park", "party", "test", "testing", "test-value", "hello", "world"];

/** Delay before `test_reconnection` answers, after closing its stream. */
const RECONNECTION_RESULT_DELAY_MS = 400;
/** Events kept per session for resumption. */
const MAX_EVENTS_PER_SESSION = 2000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const text = (value: string): CallToolResult => ({
  content: [{ type: "text", text: value }],
});

// ---------------------------------------------------------------------------
// Resumability: per-session in-memory event store
// ---------------------------------------------------------------------------

interface StoredEvent {
  streamId: StreamId;
  message: JSONRPCMessage;
}

/**
 * Bounded, insertion-ordered event log. Event ids are opaque and unique per
 * store; replay sends every later event of the same stream, skipping the
 * empty priming events the transport stores.
 */
export class InMemoryEventStore implements EventStore {
  private readonly events = new Map<EventId, StoredEvent>();
  private readonly maxEvents: number;
  private counter = 0;

  constructor(maxEvents = MAX_EVENTS_PER_SESSION) {
    this.maxEvents = maxEvents;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.counter += 1;
    const eventId = `${streamId}:${this.counter}`;
    this.events.set(eventId, { streamId, message });
    while (this.events.size > this.maxEvents) {
      const oldest = this.events.keys().next();
      if (oldest.done) break;
      this.events.delete(oldest.value);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error(`Unknown event id: ${lastEventId}`);
    let found = false;
    for (const [eventId, event] of this.events) {
      if (eventId === lastEventId) {
        found = true;
        continue;
      }
      if (!found || event.streamId !== last.streamId) continue;
      if (!("jsonrpc" in event.message)) continue; // priming event
      await send(eventId, event.message);
    }
    return last.streamId;
  }
}

// ---------------------------------------------------------------------------
// MCP server (one per session)
// ---------------------------------------------------------------------------

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Per-session state the MCP handlers need. */
interface SessionContext {
  subscriptions: Set<string>;
  logLevel?: LoggingLevel;
}

interface SessionState extends McpSession {
  ctx: SessionContext;
  negotiatedVersion: string;
}

interface SharedState {
  watchedVersion: number;
}

const LOG_LEVELS = LoggingLevelSchema.options;

function levelEnabled(ctx: SessionContext, level: LoggingLevel): boolean {
  if (!ctx.logLevel) return true;
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(ctx.logLevel);
}

async function logToRequest(ctx: SessionContext, extra: Extra, level: LoggingLevel, data: string): Promise<void> {
  if (!levelEnabled(ctx, level)) return;
  await extra.sendNotification({
    method: "notifications/message",
    params: { level, logger: "conformance-fixture", data },
  });
}

function watchedText(shared: SharedState): string {
  return `Watched resource content, version ${shared.watchedVersion}.`;
}

const SEP1034_SCHEMA: ElicitRequestFormParams["requestedSchema"] = {
  type: "object",
  properties: {
    name: { type: "string", description: "User name", default: "John Doe" },
    age: { type: "integer", description: "User age", default: 30 },
    score: { type: "number", description: "User score", default: 95.5 },
    status: {
      type: "string",
      description: "User status",
      enum: ["active", "inactive", "pending"],
      default: "active",
    },
    verified: {
      type: "boolean",
      description: "Verification status",
      default: true,
    },
  },
};

const SEP1330_SCHEMA: ElicitRequestFormParams["requestedSchema"] = {
  type: "object",
  properties: {
    untitledSingle: {
      type: "string",
      description: "Untitled single-select",
      enum: ["option1", "option2", "option3"],
    },
    titledSingle: {
      type: "string",
      description: "Titled single-select",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Legacy titled enum (enumNames)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Untitled multi-select",
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Titled multi-select",
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
};

/** JSON Schema 2020-12 keywords the `json_schema_2020_12_tool` must keep. */
const ADDRESS_DEF = {
  type: "object",
  properties: { street: { type: "string" }, city: { type: "string" } },
} as const;

const JSON_SCHEMA_2020_12_INPUT = z
  .object({
    name: z.string().optional(),
    address: z
      .object({ street: z.string().optional(), city: z.string().optional() })
      .optional()
      .meta({ $ref: "#/$defs/address" }),
  })
  .strict()
  .meta({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $defs: { address: ADDRESS_DEF },
  });

async function elicit(
  extra: Extra,
  message: string,
  requestedSchema: ElicitRequestFormParams["requestedSchema"],
): Promise<string> {
  const result = await extra.sendRequest(
    { method: "elicitation/create", params: { message, requestedSchema } },
    ElicitResultSchema,
  );
  return `action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;
}

function createMcpServer(ctx: SessionContext, shared: SharedState): McpServer {
  const server = new McpServer(
    { name: "mcp-conformance-fixture", version: "1.0.0" },
    {
      capabilities: {
        logging: {},
        completions: {},
        resources: { subscribe: true, listChanged: true },
        tools: { listChanged: true },
        prompts: { listChanged: true },
      },
      instructions: "Conformance fixture backend for the MCP edge gateway tests.",
    },
  );

  // ---- tools --------------------------------------------------------------

  server.registerTool("test_simple_text", { description: "Returns a simple text response" }, async () =>
    text("This is a simple text response for testing."),
  );

  server.registerTool("test_image_content", { description: "Returns image content (1x1 red PNG)" }, async () => ({
    content: [{ type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" }],
  }));

  server.registerTool("test_audio_content", { description: "Returns audio content (tiny WAV)" }, async () => ({
    content: [{ type: "audio", data: TINY_WAV, mimeType: "audio/wav" }],
  }));

  server.registerTool("test_embedded_resource", { description: "Returns an embedded resource" }, async () => ({
    content: [
      {
        type: "resource",
        resource: {
          uri: "test://embedded-resource",
          mimeType: "text/plain",
          text: "This is an embedded resource content.",
        },
      },
    ],
  }));

  server.registerTool(
    "test_multiple_content_types",
    { description: "Returns text, image and resource content" },
    async () => ({
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ],
    }),
  );

  server.registerTool(
    "test_tool_with_logging",
    { description: "Sends three info log notifications while running" },
    async (extra) => {
      await logToRequest(ctx, extra, "info", "Tool execution started");
      await sleep(50);
      await logToRequest(ctx, extra, "info", "Tool processing data");
      await sleep(50);
      await logToRequest(ctx, extra, "info", "Tool execution completed");
      return text("Tool with logging executed successfully");
    },
  );

  server.registerTool(
    "test_tool_with_progress",
    { description: "Reports progress 0/100, 50/100, 100/100" },
    async (extra) => {
      const progressToken = extra._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress, total: 100, message: `Progress ${progress}/100` },
          });
        }
        if (progress < 100) await sleep(50);
      }
      return text(`Progress tool completed (progressToken: ${String(progressToken ?? "none")})`);
    },
  );

  server.registerTool("test_error_handling", { description: "Always fails with isError: true" }, async () => ({
    isError: true,
    content: [{ type: "text", text: "This tool intentionally returns an error for testing" }],
  }));

  server.registerTool(
    "test_sampling",
    {
      description: "Requests LLM sampling from the client",
      inputSchema: { prompt: z.string().describe("The prompt to send to the LLM") },
    },
    async ({ prompt }, extra) => {
      if (!server.server.getClientCapabilities()?.sampling) {
        return { isError: true, content: [{ type: "text", text: "Client does not support sampling" }] };
      }
      const result = await extra.sendRequest(
        {
          method: "sampling/createMessage",
          params: {
            messages: [{ role: "user", content: { type: "text", text: prompt } }],
            maxTokens: 100,
          },
        },
        CreateMessageResultSchema,
      );
      const reply = result.content.type === "text" ? result.content.text : `[${result.content.type}]`;
      return text(`LLM response: ${reply}`);
    },
  );

  server.registerTool(
    "test_elicitation",
    {
      description: "Requests user input (elicitation) from the client",
      inputSchema: { message: z.string().describe("The message to show the user") },
    },
    async ({ message }, extra) => {
      if (!server.server.getClientCapabilities()?.elicitation) {
        return { isError: true, content: [{ type: "text", text: "Client does not support elicitation" }] };
      }
      const outcome = await elicit(extra, message, {
        type: "object",
        properties: {
          username: { type: "string", description: "User's response" },
          email: { type: "string", description: "User's email address" },
        },
        required: ["username", "email"],
      });
      return text(`User response: ${outcome}`);
    },
  );

  server.registerTool(
    "test_elicitation_sep1034_defaults",
    { description: "Elicitation whose schema carries defaults for every primitive type (SEP-1034)" },
    async (extra) =>
      text(
        `Elicitation completed: ${await elicit(extra, "Please review and update the form fields with defaults", SEP1034_SCHEMA)}`,
      ),
  );

  server.registerTool(
    "test_elicitation_sep1330_enums",
    { description: "Elicitation with all five enum schema variants (SEP-1330)" },
    async (extra) =>
      text(
        `Elicitation completed: ${await elicit(extra, "Please select options from the enum fields", SEP1330_SCHEMA)}`,
      ),
  );

  server.registerTool(
    "json_schema_2020_12_tool",
    {
      description: "Tool with JSON Schema 2020-12 features",
      inputSchema: JSON_SCHEMA_2020_12_INPUT,
    },
    async (args) => text(`Received: ${JSON.stringify(args)}`),
  );

  server.registerTool(
    "test_reconnection",
    {
      description:
        "Closes its SSE stream mid-call (SEP-1699) and answers after the client reconnects with Last-Event-ID",
    },
    async (extra) => {
      // Only offered by the transport when the client can resume (event
      // store configured, protocol >= 2025-11-25, priming event sent).
      extra.closeSSEStream?.();
      await sleep(RECONNECTION_RESULT_DELAY_MS);
      return text("Reconnection test completed successfully");
    },
  );

  // ---- resources ----------------------------------------------------------

  server.registerResource(
    "static-text",
    "test://static-text",
    { description: "A static text resource", mimeType: "text/plain" },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: "text/plain", text: STATIC_TEXT }],
    }),
  );

  server.registerResource(
    "static-binary",
    "test://static-binary",
    { description: "A static binary resource (1x1 red PNG)", mimeType: "image/png" },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: "image/png", blob: RED_PIXEL_PNG }],
    }),
  );

  server.registerResource(
    "template-data",
    new ResourceTemplate("test://template/{id}/data", {
      list: undefined,
      complete: {
        id: (value) => ["123", "456", "789"].filter((id) => id.startsWith(value)),
      },
    }),
    { description: "A templated resource; {id} is substituted", mimeType: "application/json" },
    async (uri, { id }) => {
      const idValue = Array.isArray(id) ? id.join(",") : String(id);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: "application/json",
            text: JSON.stringify({ id: idValue, templateTest: true, data: `Data for ID: ${idValue}` }),
          },
        ],
      };
    },
  );

  server.registerResource(
    "watched-resource",
    WATCHED_URI,
    { description: "A resource that supports subscriptions", mimeType: "text/plain" },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: "text/plain", text: watchedText(shared) }],
    }),
  );

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    ctx.subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    ctx.subscriptions.delete(request.params.uri);
    return {};
  });

  // ---- prompts ------------------------------------------------------------

  server.registerPrompt("test_simple_prompt", { description: "A simple prompt without arguments" }, async () => ({
    messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }],
  }));

  server.registerPrompt(
    "test_prompt_with_arguments",
    {
      description: "A prompt with two required arguments",
      argsSchema: {
        arg1: completable(z.string().describe("First test argument"), (value) =>
          COMPLETION_WORDS.filter((word) => word.startsWith(value)),
        ),
        arg2: completable(z.string().describe("Second test argument"), (value) =>
          COMPLETION_WORDS.filter((word) => word.startsWith(value)),
        ),
      },
    },
    async ({ arg1, arg2 }) => ({
      messages: [
        {
          role: "user",
          content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    }),
  );

  server.registerPrompt(
    "test_prompt_with_embedded_resource",
    {
      description: "A prompt embedding a resource",
      argsSchema: { resourceUri: z.string().describe("URI of the resource to embed") },
    },
    async ({ resourceUri }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "resource",
            resource: {
              uri: resourceUri,
              mimeType: "text/plain",
              text: "Embedded resource content for testing.",
            },
          },
        },
        { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
      ],
    }),
  );

  server.registerPrompt("test_prompt_with_image", { description: "A prompt with image content" }, async () => ({
    messages: [
      { role: "user", content: { type: "image", data: RED_PIXEL_PNG, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ],
  }));

  // ---- logging ------------------------------------------------------------

  // Replaces the SDK's default handler so the level is known to the tools,
  // which log on their own request stream (not the standalone GET stream).
  server.server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    ctx.logLevel = request.params.level;
    return {};
  });

  return server;
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

  const shared: SharedState = { watchedVersion: 1 };
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
