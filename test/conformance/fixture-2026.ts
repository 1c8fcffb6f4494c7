/**
 * What the conformance suite's 2026-07-28 scenarios call through the gateway,
 * added to the conformance fixture (`fixture-server.ts`) the **2025 way**.
 *
 * The fixture stays a 2025-era backend (SDK v1, sessions, server-to-client
 * requests on the call's stream), so the 2026 run exercises the gateway's
 * bridging: where the suite's own 2026 reference server answers with an
 * `InputRequiredResult`, these tools send `elicitation/create`,
 * `sampling/createMessage` or `roots/list` to the client over their session
 * and build the result from the answers. Turning those requests into
 * `InputRequiredResult` + `requestState` (and back on the retry) is the
 * gateway's job (MRTR bridging, docs/design.md "Protocol eras").
 *
 * Every server-to-client request names the `inputRequests` key the suite
 * expects in `_meta[INPUT_KEY_META]` (the scenarios look for fixed keys such
 * as `user_name`; a 2025 request has no such name of its own). A 2025 client
 * ignores unknown `_meta` keys.
 *
 * Tools (suite scenario in brackets): `test_missing_capability` (-32021
 * without sampling) [server-stateless], `test_streaming_elicitation`,
 * `test_logging_tool`, `test_trigger_tool_change`, `test_trigger_prompt_change`
 * [server-stateless], `test_input_required_result_*` and the prompt
 * `test_input_required_result_prompt` [input-required-result-*], and
 * `test_header_param` (an `x-mcp-header` string argument)
 * [http-custom-header-server-validation]. Node-only, like the fixture.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  type CallToolResult,
  CreateMessageResultSchema,
  type ElicitRequestFormParams,
  ElicitResultSchema,
  ErrorCode,
  type JSONRPCRequest,
  ListRootsResultSchema,
  McpError,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * `_meta` key on a server-to-client request naming the `inputRequests` key a
 * bridging gateway should give it (a proposal of this fixture, not part of
 * MCP: see test/conformance/README.md, "Known gaps").
 */
export const INPUT_KEY_META = "mcp-edge-gateway/inputKey";

/** MissingRequiredClientCapabilityError (MCP 2026-07-28 basic/index). */
const MISSING_CLIENT_CAPABILITY = -32021;
/** Resource not found (MCP 2025-11-25 server/resources, "Error Handling"). */
const RESOURCE_NOT_FOUND = -32002;

/** What the 2026 tools need from the rest of the fixture. */
export interface ModernToolDeps {
  /** Sends `notifications/<kind>/list_changed` to every open session; resolves with how many. */
  broadcastListChanged(kind: "tools" | "prompts"): Promise<number>;
}

const text = (value: string): CallToolResult => ({ content: [{ type: "text", text: value }] });

const refusal = (value: string): CallToolResult => ({ isError: true, content: [{ type: "text", text: value }] });

/** A flat form with one required field (MCP client/elicitation, "Requested Schema"). */
function objectSchema(property: string, type: "string" | "boolean"): ElicitRequestFormParams["requestedSchema"] {
  const field = type === "string" ? { type: "string" as const } : { type: "boolean" as const };
  return { type: "object", properties: { [property]: field }, required: [property] };
}

/** `elicitation/create` on the call's stream; the accepted content, or undefined when declined or cancelled. */
async function elicit(
  extra: Extra,
  key: string,
  message: string,
  requestedSchema: ElicitRequestFormParams["requestedSchema"],
): Promise<Record<string, unknown> | undefined> {
  const result = await extra.sendRequest(
    { method: "elicitation/create", params: { message, requestedSchema, _meta: { [INPUT_KEY_META]: key } } },
    ElicitResultSchema,
  );
  return result.action === "accept" ? (result.content ?? {}) : undefined;
}

/** `sampling/createMessage` on the call's stream; the reply's text. */
async function sample(extra: Extra, key: string, prompt: string, maxTokens: number): Promise<string> {
  const result = await extra.sendRequest(
    {
      method: "sampling/createMessage",
      params: {
        messages: [{ role: "user", content: { type: "text", text: prompt } }],
        maxTokens,
        _meta: { [INPUT_KEY_META]: key },
      },
    },
    CreateMessageResultSchema,
  );
  return result.content.type === "text" ? result.content.text : `[${result.content.type}]`;
}

/** `roots/list` on the call's stream; the number of roots. */
async function listRoots(extra: Extra, key: string): Promise<number> {
  const result = await extra.sendRequest(
    { method: "roots/list", params: { _meta: { [INPUT_KEY_META]: key } } },
    ListRootsResultSchema,
  );
  return result.roots.length;
}

function stringField(content: Record<string, unknown> | undefined, field: string): string | undefined {
  const value = content?.[field];
  return typeof value === "string" ? value : undefined;
}

type Handler = (request: JSONRPCRequest, extra: Extra) => Promise<unknown>;

/**
 * Replaces the handler `McpServer` registered for `method` with `wrap(original)`.
 * Hand-written against the SDK's handler map (private, so read with Reflect):
 * `McpServer` turns every error a tool throws into an `isError` result and
 * answers an unknown resource with -32602 without data; the wrappers below
 * need JSON-RPC errors of their own, and the SDK offers no public hook for that.
 */
function wrapRequestHandler(server: McpServer, method: string, wrap: (original: Handler) => Handler): void {
  const handlers = Reflect.get(server.server, "_requestHandlers") as Map<string, Handler> | undefined;
  const original = handlers?.get(method);
  if (!handlers || !original) throw new Error(`the SDK has no ${method} handler to wrap`);
  handlers.set(method, wrap(original));
}

/** Registers the 2026 scenarios' tools and prompt; call after the fixture's own registrations. */
export function registerModernScenarioTools(server: McpServer, deps: ModernToolDeps): void {
  const caps = () => server.server.getClientCapabilities() ?? {};

  // server-stateless: -32021 naming `sampling` when the caller did not declare it (a JSON-RPC
  // error, which the gateway answers with HTTP 400); with sampling, it samples.
  server.registerTool(
    "test_missing_capability",
    { description: "Requires the sampling capability (-32021 without it)" },
    async (extra) => text(`Success: ${await sample(extra, "capability_probe", "Say hello", 20)}`),
  );
  wrapRequestHandler(server, "tools/call", (original) => async (request, extra) => {
    if (request.params?.name === "test_missing_capability" && !caps().sampling) {
      throw new McpError(MISSING_CLIENT_CAPABILITY, "Missing required client capability: sampling", {
        requiredCapabilities: { sampling: {} },
      });
    }
    return original(request, extra);
  });

  // sep-2164 (2026) via the gateway: the 2025 spec's not-found error, -32002 with the uri.
  wrapRequestHandler(server, "resources/read", (original) => async (request, extra) => {
    try {
      return await original(request, extra);
    } catch (err) {
      const uri = request.params?.uri;
      if (err instanceof McpError && err.code === ErrorCode.InvalidParams && err.message.includes(`${uri} not found`)) {
        throw new McpError(RESOURCE_NOT_FOUND, "Resource not found", { uri });
      }
      throw err;
    }
  });

  server.registerTool(
    "test_streaming_elicitation",
    { description: "Asks the client to confirm (elicitation on the call's stream), then answers" },
    async (extra) => {
      if (!caps().elicitation) return text("Streaming complete (no elicitation capability)");
      const answer = await elicit(extra, "confirm", "Continue streaming?", objectSchema("ok", "boolean"));
      return text(`Streaming complete (confirmed: ${answer?.ok === true})`);
    },
  );

  server.registerTool("test_logging_tool", { description: "Logs at info level while running" }, async (extra) => {
    await extra.sendNotification({
      method: "notifications/message",
      params: { level: "info", logger: "conformance-fixture", data: "Diagnostic trace logging activated" },
    });
    return text("Logging evaluated");
  });

  for (const kind of ["tools", "prompts"] as const) {
    server.registerTool(
      kind === "tools" ? "test_trigger_tool_change" : "test_trigger_prompt_change",
      { description: `Sends notifications/${kind}/list_changed to every open session` },
      async () => text(`Mutation triggered: ${await deps.broadcastListChanged(kind)} session(s) notified`),
    );
  }

  server.registerTool(
    "test_input_required_result_elicitation",
    { description: "Asks the client for a name (elicitation), then greets it" },
    async (extra) => {
      if (!caps().elicitation) return refusal("Client does not support elicitation");
      const answer = await elicit(extra, "user_name", "What is your name?", objectSchema("name", "string"));
      return text(answer ? `Hello, ${stringField(answer, "name") ?? "stranger"}!` : "No name given");
    },
  );

  server.registerTool(
    "test_input_required_result_sampling",
    { description: "Asks the client's model a question (sampling)" },
    async (extra) => {
      if (!caps().sampling) return refusal("Client does not support sampling");
      return text(`Sampling result: ${await sample(extra, "capital_question", "What is the capital of France?", 100)}`);
    },
  );

  server.registerTool(
    "test_input_required_result_list_roots",
    { description: "Asks the client for its roots" },
    async (extra) => {
      if (!caps().roots) return refusal("Client does not support roots");
      return text(`Found ${await listRoots(extra, "client_roots")} root(s)`);
    },
  );

  // Both the same 2025 tool: the integrity of the state between rounds is the gateway's (sealed
  // requestState); a tampered one must never reach this backend.
  for (const name of ["test_input_required_result_request_state", "test_input_required_result_tampered_state"]) {
    server.registerTool(name, { description: "Asks the client to confirm (elicitation)" }, async (extra) => {
      if (!caps().elicitation) return refusal("Client does not support elicitation");
      const answer = await elicit(extra, "confirm", "Please confirm", objectSchema("ok", "boolean"));
      return text(answer?.ok === true ? "state-ok: confirmed" : "state-not-confirmed");
    });
  }

  server.registerTool(
    "test_input_required_result_multiple_inputs",
    { description: "Asks for a name, a greeting and the roots at once (three concurrent requests)" },
    async (extra) => {
      const missing = ["elicitation", "sampling", "roots"].filter((c) => !caps()[c as keyof ReturnType<typeof caps>]);
      if (missing.length > 0) return refusal(`Client does not support ${missing.join(", ")}`);
      // Concurrently, so all three are pending at once (one InputRequiredResult with three keys).
      const [name, greeting, roots] = await Promise.all([
        elicit(extra, "user_name", "What is your name?", objectSchema("name", "string")),
        sample(extra, "greeting", "Generate a greeting", 50),
        listRoots(extra, "client_roots"),
      ]);
      return text(`Name: ${stringField(name, "name") ?? "stranger"}; Greeting: ${greeting}; Roots: ${roots}`);
    },
  );

  server.registerTool(
    "test_input_required_result_multi_round",
    { description: "Asks two questions one after the other (two rounds)" },
    async (extra) => {
      if (!caps().elicitation) return refusal("Client does not support elicitation");
      const first = await elicit(extra, "step1", "Step 1: What is your name?", objectSchema("name", "string"));
      const second = await elicit(
        extra,
        "step2",
        "Step 2: What is your favorite color?",
        objectSchema("color", "string"),
      );
      return text(
        `Multi-round complete for ${stringField(first, "name") ?? "friend"} who likes ${stringField(second, "color") ?? "nothing"}`,
      );
    },
  );

  server.registerTool(
    "test_input_required_result_capabilities",
    { description: "Asks only for what the client declared (elicitation and/or sampling)" },
    async (extra) => {
      const asked: Array<Promise<string>> = [];
      if (caps().elicitation) {
        asked.push(
          elicit(extra, "elicit_input", "Elicitation input", objectSchema("value", "string")).then(
            () => "elicit_input",
          ),
        );
      }
      if (caps().sampling) asked.push(sample(extra, "sample_input", "Sample request", 50).then(() => "sample_input"));
      if (asked.length === 0) return text("No supported capabilities declared");
      return text(`capabilities-ok: received ${(await Promise.all(asked)).join(",")}`);
    },
  );

  server.registerPrompt(
    "test_input_required_result_prompt",
    // An empty argsSchema: without one the SDK calls the callback as (extra) but types it (args, extra).
    { description: "A prompt that asks the client for context (elicitation)", argsSchema: {} },
    async (_args, extra) => {
      const answer = caps().elicitation
        ? await elicit(extra, "user_context", "What context should the prompt use?", objectSchema("context", "string"))
        : undefined;
      return {
        messages: [
          {
            role: "user",
            content: { type: "text", text: `Prompt with context: ${stringField(answer, "context") ?? "none"}` },
          },
        ],
      };
    },
  );

  // http-custom-header-server-validation: a string argument mirrored in `Mcp-Param-Region`.
  server.registerTool(
    "test_header_param",
    {
      description: "Echoes its region argument (declared with x-mcp-header: Region)",
      inputSchema: {
        region: z.string().describe("A region, mirrored in Mcp-Param-Region").meta({ "x-mcp-header": "Region" }),
      },
    },
    async ({ region }) => text(`Region: ${region}`),
  );
}
