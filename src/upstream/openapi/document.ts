/**
 * An OpenAPI 3.0/3.1 document read into the operations an OpenAPI backend
 * offers as tools (README, "REST APIs as backends"). Pure: text or a JSON
 * value in, operations or an `OpenApiProblem` naming what is wrong out (the
 * admin API answers it as a 400).
 *
 * Hand-written on purpose, and only the subset the gateway needs (paths,
 * operations, parameters, JSON request bodies, local `$ref`s): the maintained
 * parsers (`@apidevtools/swagger-parser`, `@scalar/openapi-parser`,
 * `@readme/openapi-parser`) validate with ajv, which compiles schemas with
 * `new Function` (refused on workerd: no code generation), and resolve remote
 * `$ref`s through fs or fetch, which a gateway must not follow for a document
 * an operator pasted. Every walk here is bounded (design rule 5).
 */
import { parse as parseYaml } from "yaml";
import type { OpenApiOperation, OpenApiParam } from "../../config/openapi-types";

/** Largest document, fetched or inline (bytes of text; the admin API's body bound is 1 MiB). */
export const MAX_DOCUMENT_BYTES = 512 * 1024;
/** Most operations one backend may offer as tools (after `include`/`exclude`). */
const MAX_OPERATIONS = 200;
/** Deepest chain of `$ref`s followed, and most schema nodes the resolved operations may hold in all. */
const MAX_REF_DEPTH = 32;
const MAX_NODES = 100_000;
/** Most JSON text the derived operations may take (they are stored in the backend's D1 row, at most 2 MB). */
const MAX_DERIVED_BYTES = 1024 * 1024;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
/** A tool name the gateway can prefix with `<backend>__` (MCP tool names: letters, digits, `_`, `-`, `.`). */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** A document the gateway cannot use; the message says why (shown to the operator). */
export class OpenApiProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpenApiProblem";
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses document text: JSON, else YAML (aliases bounded by `yaml`'s default `maxAliasCount`). */
export function parseDocumentText(text: string): unknown {
  if (new TextEncoder().encode(text).byteLength > MAX_DOCUMENT_BYTES) {
    throw new OpenApiProblem(`the document is larger than ${MAX_DOCUMENT_BYTES / 1024} KiB`);
  }
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: try YAML below.
  }
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0]?.slice(0, 200) : "";
    throw new OpenApiProblem(`the document is neither JSON nor YAML (${why})`);
  }
}

/** Resolves local `$ref`s (`#/...`) with a depth bound, a cycle guard and a node budget. */
class Resolver {
  private nodes = 0;
  constructor(private readonly root: Json) {}

  private pointer(ref: string): unknown {
    if (!ref.startsWith("#/"))
      throw new OpenApiProblem(`$ref '${ref.slice(0, 200)}' is not local (only '#/...' is supported)`);
    let node: unknown = this.root;
    for (const raw of ref.slice(2).split("/")) {
      let key: string;
      try {
        key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
      } catch {
        throw new OpenApiProblem(`$ref '${ref.slice(0, 200)}' is not a valid JSON pointer`);
      }
      if (!isObject(node) && !Array.isArray(node))
        throw new OpenApiProblem(`$ref '${ref.slice(0, 200)}' cannot be resolved`);
      node = (node as Json)[key];
      if (node === undefined) throw new OpenApiProblem(`$ref '${ref.slice(0, 200)}' cannot be resolved`);
    }
    return node;
  }

  /** `value` itself if it is no `$ref`, else what its chain of `$ref`s points at (children untouched). */
  follow(value: unknown): unknown {
    let node = value;
    for (let depth = 0; isObject(node) && typeof node.$ref === "string"; depth++) {
      if (depth >= MAX_REF_DEPTH) throw new OpenApiProblem(`$refs nest deeper than ${MAX_REF_DEPTH}`);
      node = this.pointer(node.$ref);
    }
    return node;
  }

  /** `value` with every local `$ref` replaced by its target; a `$ref` back into its own chain becomes `{}` (any value). */
  resolve(value: unknown, chain: readonly string[] = []): unknown {
    if (++this.nodes > MAX_NODES) throw new OpenApiProblem("the document's $refs expand to too large a schema");
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, chain));
    if (!isObject(value)) return value;
    const ref = value.$ref;
    if (typeof ref === "string") {
      if (chain.includes(ref)) return {};
      if (chain.length >= MAX_REF_DEPTH) throw new OpenApiProblem(`$refs nest deeper than ${MAX_REF_DEPTH}`);
      const { $ref: _, ...siblings } = value;
      const target = this.resolve(this.pointer(ref), [...chain, ref]);
      return isObject(target) ? { ...target, ...(this.resolve(siblings, chain) as Json) } : target;
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v, chain);
    return out;
  }
}

/** The JSON schema of a JSON media type in `content` (`application/json`, `*\/*+json`), if any. */
function jsonSchemaOf(content: unknown): { found: boolean; schema: Json } {
  if (!isObject(content)) return { found: false, schema: {} };
  for (const [type, media] of Object.entries(content)) {
    const base = type.split(";")[0]?.trim().toLowerCase() ?? "";
    if (base === "application/json" || base.endsWith("+json") || base === "*/*") {
      return { found: true, schema: isObject(media) && isObject(media.schema) ? media.schema : {} };
    }
  }
  return { found: false, schema: {} };
}

/** Which operations are offered: all, or those `include` names, minus those `exclude` names. */
export interface OperationFilter {
  include?: readonly string[];
  exclude?: readonly string[];
}

function readParams(list: unknown[], where: string): Map<string, Json> {
  const params = new Map<string, Json>();
  for (const p of list) {
    if (!isObject(p) || typeof p.name !== "string" || typeof p.in !== "string") {
      throw new OpenApiProblem(`${where}: a parameter has no name or no 'in'`);
    }
    params.set(`${p.in}:${p.name}`, p);
  }
  return params;
}

/** One operation as a tool; throws an `OpenApiProblem` naming the operation. */
function toOperation(
  method: OpenApiOperation["method"],
  path: string,
  op: Json,
  inherited: Map<string, Json>,
  dialect: "3.0" | "3.1",
): OpenApiOperation {
  const id = op.operationId;
  const where = `${method.toUpperCase()} ${path}`;
  if (typeof id !== "string") throw new OpenApiProblem(`operation ${where} has no operationId`);
  if (!TOOL_NAME.test(id)) {
    throw new OpenApiProblem(
      `operationId '${id.slice(0, 80)}' (${where}) is not a valid tool name ([A-Za-z0-9_.-], at most 64)`,
    );
  }
  const merged = new Map(inherited);
  for (const [k, v] of readParams(Array.isArray(op.parameters) ? op.parameters : [], `operation '${id}'`))
    merged.set(k, v);
  const properties: Json = {};
  const required: string[] = [];
  const params: OpenApiParam[] = [];
  for (const p of merged.values()) {
    const name = p.name as string;
    const where = p.in as string;
    const must = where === "path" || p.required === true;
    if (where === "cookie") {
      if (must) throw new OpenApiProblem(`operation '${id}': cookie parameters are not supported ('${name}')`);
      continue;
    }
    if (where !== "path" && where !== "query" && where !== "header") {
      throw new OpenApiProblem(`operation '${id}': parameter '${name}' has an unknown 'in' (${where.slice(0, 20)})`);
    }
    if (name in properties || name === "body") {
      throw new OpenApiProblem(`operation '${id}': two parameters are named '${name}' (or one is named 'body')`);
    }
    if (where === "path" && !path.includes(`{${name}}`)) {
      throw new OpenApiProblem(`operation '${id}': path parameter '${name}' is not in the path ${path}`);
    }
    const schema = isObject(p.schema) ? p.schema : jsonSchemaOf(p.content).schema;
    properties[name] = typeof p.description === "string" ? { ...schema, description: p.description } : schema;
    if (must) required.push(name);
    params.push({ name, in: where, required: must });
  }
  for (const match of path.matchAll(/\{([^}]*)\}/g)) {
    if (!params.some((p) => p.in === "path" && p.name === match[1])) {
      throw new OpenApiProblem(`operation '${id}': path parameter '${match[1]}' is not declared`);
    }
  }
  let body: OpenApiOperation["body"];
  if (isObject(op.requestBody)) {
    const { found, schema } = jsonSchemaOf(op.requestBody.content);
    const must = op.requestBody.required === true;
    if (found) {
      body = { required: must };
      properties.body = schema;
      if (must) required.push("body");
    } else if (must) {
      throw new OpenApiProblem(`operation '${id}': only JSON request bodies are supported`);
    }
  }
  const summary = typeof op.summary === "string" ? op.summary : undefined;
  const description = summary ?? (typeof op.description === "string" ? op.description : undefined);
  return {
    tool: id,
    method,
    path,
    ...(description !== undefined && { description: description.slice(0, 4096) }),
    params,
    ...(body && { body }),
    inputSchema: { type: "object", properties, ...(required.length > 0 && { required }), additionalProperties: false },
    dialect,
  };
}

/**
 * Every `pattern` of a tool's schema must compile as the call-time validator
 * compiles it (`new RegExp(p, "u")`, @cfworker/json-schema): one that does not
 * would otherwise throw on every call, so it is this document's 400 at save
 * time. Walks the resolved schema, already bounded by the node budget.
 */
function checkPatterns(schema: unknown, tool: string): void {
  if (Array.isArray(schema)) {
    for (const item of schema) checkPatterns(item, tool);
    return;
  }
  if (!isObject(schema)) return;
  const patterns = [
    ...(typeof schema.pattern === "string" ? [schema.pattern] : []),
    ...(isObject(schema.patternProperties) ? Object.keys(schema.patternProperties) : []),
  ];
  for (const pattern of patterns) {
    try {
      new RegExp(pattern, "u");
    } catch {
      throw new OpenApiProblem(`tool '${tool}': pattern '${pattern.slice(0, 80)}' is not a valid regular expression`);
    }
  }
  for (const value of Object.values(schema)) checkPatterns(value, tool);
}

/**
 * The operations of an OpenAPI 3.0/3.1 document (already parsed) as tools,
 * filtered by `filter`. Throws an `OpenApiProblem` for a document that is not
 * OpenAPI 3.0/3.1, has no (remaining) operations, duplicate or invalid
 * operationIds, an unresolvable or non-local `$ref`, or too many operations.
 */
export function deriveOperations(doc: unknown, filter: OperationFilter = {}): OpenApiOperation[] {
  if (!isObject(doc)) throw new OpenApiProblem("the document is not a JSON/YAML object");
  const version = doc.openapi;
  if (typeof version !== "string") {
    throw new OpenApiProblem(
      typeof doc.swagger === "string"
        ? "Swagger 2.0 is not supported: convert it to OpenAPI 3"
        : "not an OpenAPI document: no 'openapi' version",
    );
  }
  const dialect = version.startsWith("3.0") ? "3.0" : version.startsWith("3.1") ? "3.1" : null;
  if (!dialect) throw new OpenApiProblem(`OpenAPI ${version.slice(0, 20)} is not supported (3.0 or 3.1)`);
  if (!isObject(doc.paths)) throw new OpenApiProblem("the document has no 'paths'");
  const resolver = new Resolver(doc);
  const seen = new Set<string>();
  const all: OpenApiOperation[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths)) {
    if (!path.startsWith("/")) throw new OpenApiProblem(`path '${path.slice(0, 80)}' does not start with '/'`);
    // Only what becomes a tool is resolved (parameters, request bodies), never responses: the node
    // budget then bounds the work on what is kept, and unused parts of a document cannot exhaust it.
    const item = resolver.follow(rawItem);
    if (!isObject(item)) continue;
    const shared = resolver.resolve(item.parameters);
    const inherited = readParams(Array.isArray(shared) ? shared : [], `path ${path}`);
    for (const method of METHODS) {
      const raw = resolver.follow(item[method]);
      if (!isObject(raw)) continue;
      const op = {
        ...raw,
        parameters: resolver.resolve(raw.parameters),
        requestBody: resolver.resolve(raw.requestBody),
      };
      const operation = toOperation(method, path, op, inherited, dialect);
      if (seen.has(operation.tool)) throw new OpenApiProblem(`operationId '${operation.tool}' is used twice`);
      seen.add(operation.tool);
      all.push(operation);
    }
  }
  for (const name of [...(filter.include ?? []), ...(filter.exclude ?? [])]) {
    if (!seen.has(name))
      throw new OpenApiProblem(`include/exclude names '${name.slice(0, 80)}', which is no operationId of the document`);
  }
  const include = filter.include && new Set(filter.include);
  const exclude = new Set(filter.exclude ?? []);
  const kept = all.filter((o) => (!include || include.has(o.tool)) && !exclude.has(o.tool));
  if (kept.length === 0) throw new OpenApiProblem("the document has no operations to offer");
  if (kept.length > MAX_OPERATIONS) {
    throw new OpenApiProblem(
      `the document has ${kept.length} operations; at most ${MAX_OPERATIONS} (narrow it with include)`,
    );
  }
  for (const op of kept) checkPatterns(op.inputSchema, op.tool);
  if (JSON.stringify(kept).length > MAX_DERIVED_BYTES) {
    throw new OpenApiProblem(
      `the tools' schemas with their $refs resolved take more than ${MAX_DERIVED_BYTES / 1024} KiB (narrow it with include)`,
    );
  }
  return kept;
}
