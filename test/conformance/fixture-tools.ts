/**
 * The conformance fixture's tools for the 2025 scenarios (`tools-call-*`,
 * `elicitation-*`, `json-schema-2020-12`, `server-sse-polling`), registered on
 * each session's `McpServer` by `fixture-mcp.ts`. Logs, progress and
 * server-to-client requests go out on the tool call's own POST stream.
 * Node-only; not part of the Workers bundle.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CreateMessageResultSchema,
  type ElicitRequestFormParams,
  ElicitResultSchema,
  type LoggingLevel,
  LoggingLevelSchema,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  JSON_SCHEMA_2020_12_INPUT,
  RECONNECTION_RESULT_DELAY_MS,
  RED_PIXEL_PNG,
  SEP1034_SCHEMA,
  SEP1330_SCHEMA,
  type SessionContext,
  sleep,
  TINY_WAV,
  text,
} from "./fixture-data.ts";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

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

/** Registers the 2025 scenarios' tools, `test_simple_text` first (the header scenarios call tools[0]). */
export function registerClassicTools(server: McpServer, ctx: SessionContext): void {
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
}
