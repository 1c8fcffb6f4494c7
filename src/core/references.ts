/**
 * References a backend hands out, mapped between its own form and the public
 * one (pure logic; the README's "References through the gateway" table lists
 * every place). A client follows a reference through the endpoint that gave
 * it, so on a prefixed endpoint every resource URI it can send back must be
 * the public URI (`names.ts`), and a public URI it sends back must reach the
 * backend in the backend's form. Names never appear in what a backend sends
 * (tool and prompt names are only listed, and listings are mapped in
 * `federation.ts`), so URIs are all there is to map; on an unprefixed
 * endpoint public and original URIs are the same and nothing is mapped.
 *
 * Where URIs sit (MCP 2025-11-25 and 2026-07-28 schema):
 * - content blocks: `resource_link.uri`, embedded `resource.resource.uri`,
 *   and the blocks inside a `tool_result` block (sampling with tools);
 * - `_meta` of tools and results: the MCP Apps view (SEP-1865
 *   `_meta.ui.resourceUri`, its deprecated flat `ui/resourceUri`) and the
 *   OpenAI Apps SDK's `openai/outputTemplate`;
 * - `structuredContent` / tool arguments: only where the tool's JSON Schema
 *   says `format: "uri"` (anything else is data whose meaning is unknown);
 * - `contents[].uri` of a read, `params.uri` of `resources/updated`,
 *   `data.uri` of an error.
 *
 * Walks are bounded: nested blocks two levels deep, schemas eight.
 * Inbound, only a public URI of the same backend is mapped back: anything
 * else (another backend's URI, a forged or malformed one) goes on unchanged,
 * so a client can never make one backend read through another.
 */
import { publicUri, splitPublicUri } from "./names";

type Json = Record<string, unknown>;
/** Maps one URI (outbound: to its public form; inbound: back to the backend's). */
export type UriMap = (uri: string) => string;

const MAX_BLOCK_DEPTH = 2;
const MAX_SCHEMA_DEPTH = 8;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Outbound: a backend's URI as the client must send it back. */
export function outbound(backend: string): UriMap {
  return (uri) => publicUri(backend, uri, true);
}

/** Inbound: a public URI of `backend` in the backend's form; any other string unchanged. */
export function inbound(backend: string): UriMap {
  return (uri) => {
    const split = splitPublicUri(uri);
    return split && split.backend === backend ? split.uri : uri;
  };
}

function block(value: unknown, map: UriMap, depth: number): unknown {
  if (!isObject(value)) return value;
  if (value.type === "resource_link" && typeof value.uri === "string") return { ...value, uri: map(value.uri) };
  if (value.type === "resource" && isObject(value.resource) && typeof value.resource.uri === "string") {
    return { ...value, resource: { ...value.resource, uri: map(value.resource.uri) } };
  }
  if (value.type === "tool_result" && depth < MAX_BLOCK_DEPTH && Array.isArray(value.content)) {
    return { ...value, content: blocks(value.content, map, depth + 1) };
  }
  return value;
}

/** One content block or a list of them (prompt and sampling messages hold either) with URIs mapped. */
export function blocks(value: unknown, map: UriMap, depth = 0): unknown {
  return Array.isArray(value) ? value.map((b) => block(b, map, depth)) : block(value, map, depth);
}

/** A `_meta` object with its view and template references mapped; the object itself when it has none. */
export function meta(value: unknown, map: UriMap): unknown {
  if (!isObject(value)) return value;
  let out = value;
  const ui = value.ui;
  if (isObject(ui) && typeof ui.resourceUri === "string") {
    out = { ...out, ui: { ...ui, resourceUri: map(ui.resourceUri) } };
  }
  for (const key of ["ui/resourceUri", "openai/outputTemplate"]) {
    const uri = value[key];
    if (typeof uri === "string") out = { ...out, [key]: map(uri) };
  }
  return out;
}

/** A listed tool with the references in its `_meta` in public form (the same object when there are none). */
export function publicTool(tool: Json, backend: string, prefix: boolean): Json {
  if (!prefix || !isObject(tool._meta)) return tool;
  const mapped = meta(tool._meta, outbound(backend));
  return mapped === tool._meta ? tool : { ...tool, _meta: mapped };
}

/** True when a schema node says its string is a URI (JSON Schema `format`). */
function isUri(schema: Json): boolean {
  return schema.format === "uri";
}

/** `value` with every string its JSON Schema marks `format: "uri"` mapped (objects, arrays; bounded depth). */
export function bySchema(value: unknown, schema: unknown, map: UriMap, depth = 0): unknown {
  if (!isObject(schema) || depth > MAX_SCHEMA_DEPTH) return value;
  if (typeof value === "string") return isUri(schema) ? map(value) : value;
  if (Array.isArray(value))
    return isObject(schema.items) ? value.map((v) => bySchema(v, schema.items, map, depth + 1)) : value;
  if (!isObject(value) || !isObject(schema.properties)) return value;
  let out = value;
  for (const [key, sub] of Object.entries(schema.properties)) {
    if (!Object.hasOwn(value, key)) continue;
    const mapped = bySchema(value[key], sub, map, depth + 1);
    if (mapped !== value[key]) out = { ...out, [key]: mapped };
  }
  return out;
}

const uriSchemas = new WeakMap<object, boolean>();

/** Whether a JSON Schema marks any string `format: "uri"` (memoized per schema object: listings are immutable). */
export function schemaHasUri(schema: unknown, depth = 0): boolean {
  if (!isObject(schema) || depth > MAX_SCHEMA_DEPTH) return false;
  const known = depth === 0 ? uriSchemas.get(schema) : undefined;
  if (known !== undefined) return known;
  const found =
    isUri(schema) ||
    schemaHasUri(schema.items, depth + 1) ||
    (isObject(schema.properties) && Object.values(schema.properties).some((s) => schemaHasUri(s, depth + 1)));
  if (depth === 0) uriSchemas.set(schema, found);
  return found;
}

/**
 * A backend's result of `method` with its references mapped: tool results
 * (content, `structuredContent` by `outputSchema`, `_meta`), prompt messages,
 * read contents. Other results carry no references (completion values are
 * argument values, not URIs).
 */
export function mapResult(method: string, result: Json, map: UriMap, outputSchema?: unknown): Json {
  const out: Json = { ...result };
  if (result._meta !== undefined) out._meta = meta(result._meta, map);
  if (method === "tools/call") {
    if (result.content !== undefined) out.content = blocks(result.content, map);
    if (result.structuredContent !== undefined && outputSchema !== undefined) {
      out.structuredContent = bySchema(result.structuredContent, outputSchema, map);
    }
  } else if (method === "prompts/get" && Array.isArray(result.messages)) {
    out.messages = result.messages.map((m) => (isObject(m) ? { ...m, content: blocks(m.content, map) } : m));
  } else if (method === "resources/read" && Array.isArray(result.contents)) {
    out.contents = result.contents.map((c) =>
      isObject(c) && typeof c.uri === "string" ? { ...c, uri: map(c.uri) } : c,
    );
  }
  return out;
}

/**
 * Whether a backend's JSON reply text may hold a reference `mapResult` would
 * change: a byte-level check run before anything is parsed, so replies
 * without one keep the unparsed pass-through (issue 15). Every mapped place
 * has one of these keys; a key written with JSON escapes is missed, which
 * leaves that backend's reference unmapped and costs nothing else.
 */
export function mentionsReference(text: string): boolean {
  return text.includes('"uri"') || text.includes('esourceUri"') || text.includes('outputTemplate"');
}

/** Error `data` with `data.uri` mapped (a backend's "resource not found" names the URI it did not find). */
export function mapErrorData(data: unknown, map: UriMap): unknown {
  return isObject(data) && typeof data.uri === "string" ? { ...data, uri: map(data.uri) } : data;
}

/**
 * A message a backend sends during a call or on its stream, references
 * mapped: `resources/updated`'s URI and the content of a sampling request's
 * messages (which may embed or link the backend's resources).
 */
export function mapMessage(message: Json, map: UriMap): Json {
  const params = message.params;
  if (!isObject(params)) return message;
  if (message.method === "notifications/resources/updated" && typeof params.uri === "string") {
    return { ...message, params: { ...params, uri: map(params.uri) } };
  }
  if (message.method === "sampling/createMessage" && Array.isArray(params.messages)) {
    const messages = params.messages.map((m) => (isObject(m) ? { ...m, content: blocks(m.content, map) } : m));
    return { ...message, params: { ...params, messages } };
  }
  return message;
}

/**
 * A 2026 `InputRequiredResult` with the references in its input requests
 * mapped (`mapMessage`: a sampling request may link the backend's resources).
 * The rest, `requestState` above all, is the backend's and passes untouched.
 */
export function mapInputRequests(result: Json, map: UriMap): Json {
  const requests = result.inputRequests;
  if (!isObject(requests)) return result;
  const mapped: Json = {};
  for (const [key, value] of Object.entries(requests)) mapped[key] = isObject(value) ? mapMessage(value, map) : value;
  return { ...result, inputRequests: mapped };
}
