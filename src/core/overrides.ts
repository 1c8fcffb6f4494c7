/**
 * Per-server tool overrides at run time (pure logic; README, "Tool
 * overrides"): how an overridden tool is listed (alias, title, description,
 * annotations, an input schema without its fixed arguments), which public
 * name a client's name stands for, and the arguments a call sends (defaults
 * filled in, fixed values added, a client's value for a fixed argument
 * refused). Indexes are built once per server object, which lives as long as
 * its config snapshot, so a request pays one WeakMap lookup (design rule 1).
 */
import type { ServerConfig, ToolOverride } from "../config/snapshot";
import type { CatalogItem } from "../protocol/catalog-types";
import { ErrorCode, RpcError } from "../protocol/jsonrpc";

/** A server's overrides by the public name they override and by alias. */
export interface OverrideIndex {
  byTool: ReadonlyMap<string, ToolOverride>;
  byAlias: ReadonlyMap<string, ToolOverride>;
}

const indexes = new WeakMap<ServerConfig, OverrideIndex | null>();

/** The server's override index, or null when it has none (`/mcp` never has any). */
export function overrideIndex(server: ServerConfig | null): OverrideIndex | null {
  if (!server) return null;
  let index = indexes.get(server);
  if (index === undefined) {
    const list = server.toolOverrides ?? [];
    index =
      list.length === 0
        ? null
        : {
            byTool: new Map(list.map((o) => [o.tool, o])),
            byAlias: new Map(list.flatMap((o) => (o.alias !== undefined ? [[o.alias, o] as const] : []))),
          };
    indexes.set(server, index);
  }
  return index;
}

/** What a client's tool name stands for: the public name before overrides, and its override. */
export interface ResolvedTool {
  /** The public name without overrides (`github__search`). */
  key: string;
  override?: ToolOverride;
  /** Set when the client used an alias: the public name it stands for. */
  aliasOf?: string;
}

/**
 * Resolves a client's tool name. An alias stands for its tool; a name an
 * alias replaced is unknown (null): it is not listed, and the alias is the
 * one public name, so every rule attached to it (fixed arguments) applies.
 */
export function resolveTool(index: OverrideIndex | null, name: string): ResolvedTool | null {
  if (!index) return { key: name };
  const aliased = index.byAlias.get(name);
  if (aliased)
    return aliased.tool === name
      ? { key: name, override: aliased }
      : { key: aliased.tool, override: aliased, aliasOf: aliased.tool };
  const override = index.byTool.get(name);
  if (override?.alias !== undefined && override.alias !== name) return null;
  return override ? { key: name, override } : { key: name };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The listed input schema: fixed arguments removed (the client cannot set
 * them, so it is not told about them), defaulted ones marked with their
 * `default` and no longer `required` (the gateway fills them in).
 */
function listedSchema(schema: unknown, o: ToolOverride): unknown {
  if (!isObject(schema) || (!o.fixedArguments && !o.defaultArguments)) return schema;
  const fixed = new Set(Object.keys(o.fixedArguments ?? {}));
  const defaults = o.defaultArguments ?? {};
  const props = isObject(schema.properties) ? schema.properties : {};
  const properties = Object.fromEntries(
    Object.entries(props)
      .filter(([k]) => !fixed.has(k))
      .map(([k, v]) => [k, Object.hasOwn(defaults, k) && isObject(v) ? { ...v, default: defaults[k] } : v]),
  );
  const required = Array.isArray(schema.required)
    ? schema.required.filter((k) => typeof k === "string" && !fixed.has(k) && !Object.hasOwn(defaults, k))
    : undefined;
  return { ...schema, properties, ...(required !== undefined && { required }) };
}

/** A listed tool with its override applied, and the entry plugins see (the backend's full input schema). */
export interface OverriddenTool {
  item: CatalogItem;
  /** For plugins (`schema_guard`, `response_cache`): the overridden item with the backend's inputSchema. */
  full: CatalogItem;
}

/** Applies `o` to the tool's listed item (under `name`, its public name without overrides). */
export function overriddenTool(item: CatalogItem, name: string, o: ToolOverride): OverriddenTool {
  const annotations = o.annotations
    ? { ...(isObject(item.annotations) ? item.annotations : {}), ...o.annotations }
    : item.annotations;
  const full: CatalogItem = {
    ...item,
    name: o.alias ?? name,
    ...(o.title !== undefined && { title: o.title }),
    ...(o.description !== undefined && { description: o.description }),
    ...(annotations !== undefined && { annotations }),
  };
  return { item: { ...full, inputSchema: listedSchema(item.inputSchema, o) }, full };
}

/**
 * The arguments a call of an overridden tool sends: defaults for what the
 * client omitted, then the fixed values. A client's value for a fixed
 * argument is refused (-32602, `data.reason: "fixed_argument"`) rather than
 * overwritten: the caller (often a model) would otherwise believe it acted
 * on a value it did not, and a refusal is visible.
 */
export function overriddenArguments(o: ToolOverride, args: unknown, publicName: string): unknown {
  if (!o.fixedArguments && !o.defaultArguments) return args;
  if (args !== undefined && !isObject(args)) {
    throw new RpcError(ErrorCode.InvalidParams, `Arguments of tool '${publicName}' must be an object`);
  }
  const given = args ?? {};
  for (const key of Object.keys(o.fixedArguments ?? {})) {
    if (Object.hasOwn(given, key)) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `Argument '${key}' of tool '${publicName}' is fixed by the gateway and cannot be set`,
        { reason: "fixed_argument", argument: key },
      );
    }
  }
  // Spread defines own properties, so a "__proto__" key stays data, never a prototype.
  return { ...o.defaultArguments, ...given, ...o.fixedArguments };
}
