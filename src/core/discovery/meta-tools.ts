/**
 * Search discovery mode: what a virtual server with `discovery: "search"`
 * shows instead of its whole catalog (README, "Huge catalogs"). `tools/list`
 * holds three meta-tools:
 *
 * - `search_tools` {query, backend?, limit?}: ranked tool names with a
 *   one-line description (BM25F, `tool-index.ts`);
 * - `describe_tools` {names}: the tools' full listing entries (input schemas);
 * - `call_tool` {name, arguments?}: handed back to dispatch, which routes it
 *   exactly like a `tools/call` of that tool (same plugin chain, breaker and
 *   spans), so nothing about calling is duplicated here.
 *
 * Results only ever name tools the caller's own `tools/list` would show in
 * list mode (the server's `tools`, an enforce-mode `tool_filter`, the 2025
 * projection), so searching reveals nothing a listing would not. Bad
 * arguments are JSON-RPC -32602 errors naming the field.
 */
import { z } from "zod";
import type { CatalogItem } from "../../protocol/catalog-types";
import { ErrorCode, RpcError } from "../../protocol/jsonrpc";
import type { McpContext } from "../context";
import type { ViewEntry } from "../federation";
import { legacyTools } from "../legacy-view";
import { visibleTools } from "../plugin-hooks";
import { federatedView } from "../views";
import { toolIndex } from "./cache";

/** Most results one search returns (a bigger page defeats the purpose of searching). */
export const MAX_LIMIT = 50;
/** Most tools one describe_tools call returns. */
export const MAX_DESCRIBE = 20;
/** Longest one-line description in search results. */
const SUMMARY_CHARS = 200;

const SearchArgs = z.object({
  query: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    .describe("What the tool should do, in plain words (e.g. 'open a pull request')"),
  backend: z
    .union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).min(1).max(64)])
    .optional()
    .describe("Only tools of this backend (or these backends)"),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .optional()
    .describe(`How many tools to return (default 10, at most ${MAX_LIMIT})`),
});

const DescribeArgs = z.object({
  names: z
    .array(z.string().min(1).max(256))
    .min(1)
    .max(MAX_DESCRIBE)
    .describe("Tool names as search_tools returned them"),
});

const CallArgs = z.object({
  name: z.string().min(1).max(256).describe("The tool's name as search_tools returned it"),
  arguments: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("The tool's arguments, matching the input schema describe_tools returned"),
});

const META = {
  search_tools: {
    schema: SearchArgs,
    description:
      "Search this server's tools by what they do. Returns the best matching tool names with a one-line description; " +
      "use describe_tools for their input schemas, then call_tool to run one.",
  },
  describe_tools: {
    schema: DescribeArgs,
    description: "The full definitions (description and input schema) of tools found with search_tools.",
  },
  call_tool: {
    schema: CallArgs,
    description: "Calls a tool found with search_tools, with arguments matching its input schema.",
  },
} as const;

type MetaName = keyof typeof META;

/** True when `name` is one of the search mode's meta-tools. */
export function isMetaTool(name: string): name is MetaName {
  return Object.hasOwn(META, name);
}

let listed: readonly ViewEntry[] | undefined;

/** What `tools/list` shows in search mode (one immutable list, so its pages are cached like any listing). */
export function metaToolEntries(): readonly ViewEntry[] {
  listed ??= Object.entries(META).map(([name, meta]) => ({
    backend: "",
    original: name,
    item: {
      name,
      description: meta.description,
      inputSchema: z.toJSONSchema(meta.schema, { io: "input" }) as Record<string, unknown>,
      annotations: { readOnlyHint: name !== "call_tool" },
    },
  }));
  return listed;
}

/** What a meta-tool call becomes: a result to answer with, or the tool call dispatch runs instead. */
export type MetaOutcome =
  | { result: Record<string, unknown>; call?: undefined }
  | { call: { name: string; arguments: Record<string, unknown> } };

function parse<T>(tool: MetaName, schema: z.ZodType<T>, args: unknown): T {
  const parsed = schema.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  throw new RpcError(
    ErrorCode.InvalidParams,
    `Invalid arguments for ${tool}${first ? `: ${first.path || "arguments"}: ${first.message}` : ""}`,
    { issues },
  );
}

/** Visible tools by public name, per visible list (immutable and cached, so identity is the key). */
const byName = new WeakMap<readonly ViewEntry[], Map<string, ViewEntry>>();

function visibleByName(ctx: McpContext, all: readonly ViewEntry[]): Map<string, ViewEntry> {
  const visible = visibleTools(ctx, legacyTools(ctx, all));
  let map = byName.get(visible);
  if (!map) {
    map = new Map(visible.map((e) => [String(e.item.name), e]));
    byName.set(visible, map);
  }
  return map;
}

/** The first line of a description, cut at SUMMARY_CHARS. */
function summary(item: CatalogItem): string {
  const text =
    typeof item.description === "string" ? item.description : typeof item.title === "string" ? item.title : "";
  const line = text.split("\n", 1)[0]?.trim() ?? "";
  return line.length > SUMMARY_CHARS ? `${line.slice(0, SUMMARY_CHARS - 1)}…` : line;
}

/** A tool result carrying `value` both as structured content and as its JSON text (MCP tools: structured content). */
function structured(value: Record<string, unknown>): Record<string, unknown> {
  return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value };
}

async function search(ctx: McpContext, args: z.infer<typeof SearchArgs>): Promise<Record<string, unknown>> {
  const view = await federatedView(ctx);
  const visible = visibleByName(ctx, view.tools);
  let backends: Set<string> | null = null;
  if (args.backend !== undefined) {
    backends = new Set(Array.isArray(args.backend) ? args.backend : [args.backend]);
    const served = new Set(ctx.endpoint.backends.map((b) => b.name));
    const unknown = [...backends].filter((b) => !served.has(b));
    if (unknown.length > 0) {
      throw new RpcError(ErrorCode.InvalidParams, `Unknown backend: ${unknown[0]}`, { unknown });
    }
  }
  // Keyed like the federated view (identity narrows an endpoint per caller: `access`).
  const index = toolIndex(`${ctx.endpoint.key}${ctx.endpoint.access ?? ""}|${ctx.caller.profile}`, view.tools);
  const hits = index.find(args.query, args.limit ?? 10, (id) => {
    const entry = view.tools[id];
    return entry !== undefined && visible.has(String(entry.item.name)) && (!backends || backends.has(entry.backend));
  });
  const tools = hits.map((h) => {
    const entry = visible.get(String(view.tools[h.id]?.item.name)) as ViewEntry;
    return {
      name: String(entry.item.name),
      description: summary(entry.item),
      backend: entry.backend,
      score: Math.round(h.score * 1000) / 1000,
    };
  });
  return structured({ tools });
}

async function describe(ctx: McpContext, args: z.infer<typeof DescribeArgs>): Promise<Record<string, unknown>> {
  const visible = visibleByName(ctx, (await federatedView(ctx)).tools);
  const names = [...new Set(args.names)];
  const unknown = names.filter((n) => !visible.has(n));
  if (unknown.length > 0) {
    throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${unknown[0]}`, { unknown });
  }
  return structured({ tools: names.map((n) => visible.get(n)?.item) });
}

/** Runs a meta-tool; `call_tool` comes back as the call dispatch routes like any `tools/call`. */
export async function metaTool(ctx: McpContext, name: MetaName, args: unknown): Promise<MetaOutcome> {
  switch (name) {
    case "search_tools":
      return { result: await search(ctx, parse(name, SearchArgs, args)) };
    case "describe_tools":
      return { result: await describe(ctx, parse(name, DescribeArgs, args)) };
    case "call_tool": {
      const call = parse(name, CallArgs, args);
      if (isMetaTool(call.name)) {
        throw new RpcError(ErrorCode.InvalidParams, `call_tool cannot call the meta-tool ${call.name}`);
      }
      return { call: { name: call.name, arguments: call.arguments ?? {} } };
    }
  }
}
