/**
 * The plugin framework's vocabulary: hooks, what a plugin sees, what it may
 * answer, and how a kind (a built-in plugin type) is described.
 *
 * Side-effect free: types and constant tables only.
 */
import type { z } from "zod";
import type { RateLimiterDO } from "../../durable-objects/rate-limiter-do";
import type { CatalogItem } from "../protocol/catalog-types";

/** Every hook point, in request order per entity. */
export const HOOKS = [
  "tool_pre_invoke",
  "tool_post_invoke",
  "prompt_pre_fetch",
  "prompt_post_fetch",
  "resource_pre_fetch",
  "resource_post_fetch",
] as const;

export type HookName = (typeof HOOKS)[number];
export type Entity = "tool" | "prompt" | "resource";
export type Phase = "pre" | "post";

/**
 * A hook point and the one payload field a plugin may change there:
 * pre hooks change what is sent to the backend (tool and prompt `arguments`,
 * the resource `uri`), post hooks the `result` (the tool result, the prompt's
 * messages, the resource's contents).
 */
export interface HookSpec {
  readonly name: HookName;
  readonly entity: Entity;
  readonly phase: Phase;
  readonly field: "arguments" | "result" | "uri";
}

export const HOOK_SPECS: Readonly<Record<HookName, HookSpec>> = {
  tool_pre_invoke: { name: "tool_pre_invoke", entity: "tool", phase: "pre", field: "arguments" },
  tool_post_invoke: { name: "tool_post_invoke", entity: "tool", phase: "post", field: "result" },
  prompt_pre_fetch: { name: "prompt_pre_fetch", entity: "prompt", phase: "pre", field: "arguments" },
  prompt_post_fetch: { name: "prompt_post_fetch", entity: "prompt", phase: "post", field: "result" },
  resource_pre_fetch: { name: "resource_pre_fetch", entity: "resource", phase: "pre", field: "uri" },
  resource_post_fetch: { name: "resource_post_fetch", entity: "resource", phase: "post", field: "result" },
};

/** The pre and post hook of each entity. */
export const ENTITY_HOOKS: Readonly<Record<Entity, { pre: HookName; post: HookName }>> = {
  tool: { pre: "tool_pre_invoke", post: "tool_post_invoke" },
  prompt: { pre: "prompt_pre_fetch", post: "prompt_post_fetch" },
  resource: { pre: "resource_pre_fetch", post: "resource_post_fetch" },
};

export type PluginMode = "enforce" | "permissive" | "disabled";
export type OnError = "fail" | "ignore";

/** A policy violation. `description` is shown to the client: never put payload values or secrets in it. */
export interface Violation {
  /** Stable machine-readable code, e.g. `PII_DETECTED`. */
  code: string;
  description: string;
  /** Safe, small facts (types found, limits); never the offending values. */
  details?: Record<string, unknown>;
}

/** What a plugin answers; an empty answer (or undefined) means "no objection, no change". */
export interface PluginResult {
  violation?: Violation;
  /** The new value of the hook's field. Plugins never mutate their input; they return a changed copy. */
  modified?: unknown;
  /** Pre hooks only (response_cache): answer with this result without calling the backend. */
  respond?: Record<string, unknown>;
}

export type MaybePromise<T> = T | Promise<T>;

/** Bindings a plugin may use (I/O plugins only: rate_limit, webhook). */
export interface PluginEnv {
  RATE_LIMITER?: DurableObjectNamespace<RateLimiterDO>;
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
  ADMIN_TOKEN?: string;
}

/**
 * What one request looks like to plugins. One object per request, shared by
 * every plugin and hook of that request (never copied per plugin); per-plugin
 * state is allocated only when a plugin writes some (copy on write).
 */
export interface RequestContext {
  readonly entity: Entity;
  /** Public tool/prompt name or resource URI, as the client sent it. */
  readonly name: string;
  /** The name or URI at the backend. */
  readonly original: string;
  /** A tool called by its alias (a server's tool override): the public name the alias stands for. */
  readonly aliasOf?: string;
  readonly backend: string;
  /** The virtual server the client connected to, or null for `/mcp`. */
  readonly server: string | null;
  /** `"*"` for `/mcp`, else the virtual server's name (cache partitions). */
  readonly endpoint: string;
  /** The API token's name, `admin` for ADMIN_TOKEN, `anonymous` on `auth: "none"` servers, an OAuth caller's user name. */
  readonly user: string;
  /** The caller's stable id: `tok_…`, `admin`, `anonymous` or `oauth:<issuer>:<sub>`. */
  readonly subject?: string;
  /** Byte length of the raw MCP request body (the whole batch for a batch); never measured by stringifying. */
  readonly requestBytes: number;
  readonly env: PluginEnv;
  /** The tool's catalog entry (inputSchema, outputSchema, annotations); looked up once, on first use. */
  tool(): Promise<CatalogItem | undefined>;
  getState(plugin: string, key: string): unknown;
  setState(plugin: string, key: string, value: unknown): void;
}

/** A configured plugin, ready to run. Built once per config version. */
export interface PluginInstance {
  /** Whether the plugin may change the payload at `hook`; plugins that only inspect run concurrently in their band. */
  modifies(hook: HookName): boolean;
  run(hook: HookSpec, value: unknown, ctx: RequestContext): MaybePromise<PluginResult | undefined>;
  /** tool_filter: false when the tool (public, backend and, if aliased, un-aliased name) must be hidden from `tools/list`. */
  listsTool?(publicName: string, original: string, aliasOf?: string): boolean;
}

/** One invalid field of a plugin's config (path relative to `config`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Thrown by a kind's `seal` when the config cannot be stored as given (the API answers 400). */
export class ConfigIssues extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super("invalid plugin config");
    this.name = "ConfigIssues";
  }
}

/** Save-time environment for kinds that check or seal their config. */
export interface SaveEnv {
  ALLOW_PRIVATE_BACKENDS?: string;
  DNS_RESOLVER_URL?: string;
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
  ADMIN_TOKEN?: string;
}

/** How a built-in kind is declared (see `defineKind`). */
export interface KindDefinition<S extends z.ZodType> {
  kind: string;
  description: string;
  /** Hooks the kind implements. */
  hooks: readonly HookName[];
  /** Hooks used when a plugin is created without `hooks`. */
  defaultHooks: readonly HookName[];
  /** Hooks a plugin of this kind must have together (e.g. the cache's pre and post). */
  requiredTogether?: readonly HookName[];
  /** The config schema (common settings included); strict: unknown fields are errors. */
  schema: S;
  create(config: z.output<S>, name: string): PluginInstance;
  /** Save-time checks that need more than the schema (e.g. URL safety). */
  check?(config: z.output<S>, env: SaveEnv): Promise<ConfigIssue[]>;
  /** Turns a valid config into its stored form (e.g. seals secrets); `previous` is the stored config on update. */
  seal?(config: z.output<S>, previous: Record<string, unknown> | null, env: SaveEnv): Promise<Record<string, unknown>>;
  /** The stored config as the API shows it (secrets redacted). */
  view?(stored: Record<string, unknown>): Record<string, unknown>;
}

/** A kind with its types erased, as the registry holds it. */
export interface PluginKind {
  readonly kind: string;
  readonly description: string;
  readonly hooks: readonly HookName[];
  readonly defaultHooks: readonly HookName[];
  readonly requiredTogether: readonly HookName[];
  readonly schema: z.ZodType;
  parse(config: unknown): { success: true; data: unknown } | { success: false; error: z.ZodError };
  create(config: unknown, name: string): PluginInstance;
  check(config: unknown, env: SaveEnv): Promise<ConfigIssue[]>;
  seal(config: unknown, previous: Record<string, unknown> | null, env: SaveEnv): Promise<Record<string, unknown>>;
  view(stored: Record<string, unknown>): Record<string, unknown>;
}

/** Erases a kind's config type behind `parse`, so the registry needs no `any`. */
export function defineKind<S extends z.ZodType>(def: KindDefinition<S>): PluginKind {
  const parse = (config: unknown) => def.schema.safeParse(config);
  return {
    kind: def.kind,
    description: def.description,
    hooks: def.hooks,
    defaultHooks: def.defaultHooks,
    requiredTogether: def.requiredTogether ?? [],
    schema: def.schema,
    parse: (config) => {
      const r = parse(config);
      return r.success ? { success: true, data: r.data } : { success: false, error: r.error };
    },
    create: (config, name) => def.create(config as z.output<S>, name),
    check: (config, env) => (def.check ? def.check(config as z.output<S>, env) : Promise.resolve([])),
    seal: (config, previous, env) =>
      def.seal ? def.seal(config as z.output<S>, previous, env) : Promise.resolve(config as Record<string, unknown>),
    view: (stored) => (def.view ? def.view(stored) : stored),
  };
}
