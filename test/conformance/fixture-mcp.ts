/**
 * One conformance fixture session's `McpServer`: capabilities, the tools
 * (`fixture-tools.ts` for the 2025 scenarios, `fixture-tasks.ts` for the
 * `tasks-*` ones with the session's task store, then `fixture-2026.ts` for the
 * other 2026 ones), the resources (static text and binary, a template, a watched
 * resource with subscribe/unsubscribe), the prompts (with completable
 * arguments) and `logging/setLevel`. Node-only; not part of the Workers bundle.
 */
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { registerModernScenarioTools } from "./fixture-2026.ts";
import {
  COMPLETION_WORDS,
  RED_PIXEL_PNG,
  type SessionContext,
  type SharedState,
  STATIC_TEXT,
  WATCHED_URI,
} from "./fixture-data.ts";
import { registerTaskTools, TASK_CAPABILITIES, taskSupport } from "./fixture-tasks.ts";
import { registerClassicTools } from "./fixture-tools.ts";

function watchedText(shared: SharedState): string {
  return `Watched resource content, version ${shared.watchedVersion}.`;
}

/** A session's MCP server; `ctx` is the session's own state, `shared` the whole fixture's. */
export function createMcpServer(ctx: SessionContext, shared: SharedState): McpServer {
  const tasks = taskSupport();
  const server = new McpServer(
    { name: "mcp-conformance-fixture", version: "1.0.0" },
    {
      capabilities: {
        logging: {},
        completions: {},
        resources: { subscribe: true, listChanged: true },
        tools: { listChanged: true },
        prompts: { listChanged: true },
        tasks: TASK_CAPABILITIES,
      },
      ...tasks,
      instructions: "Conformance fixture backend for the MCP edge gateway tests.",
    },
  );

  registerClassicTools(server, ctx);
  registerTaskTools(server, tasks);

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

  // ---- what the 2026 scenarios call (after everything else: test_simple_text stays tools[0])

  registerModernScenarioTools(server, { broadcastListChanged: (kind) => shared.broadcastListChanged(kind) });

  return server;
}
