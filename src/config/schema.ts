/**
 * D1 schema for the gateway's configuration (source of truth).
 *
 * Every write to these tables also bumps `config_meta.version` in the same
 * D1 batch (one transaction), so isolates can tell with one tiny query whether
 * their cached snapshot is stale (see `config/cache.ts`).
 */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { OpenApiOperation, OpenApiSettings } from "./openapi-types";
import type { ToolOverride } from "./snapshot";

/** Who may see an object (docs/identity.md): its owner, its team, or every authenticated caller. */
export const VISIBILITIES = ["private", "team", "public"] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** Roles, strongest first. `platform_admin` is global; the others are per team. */
export const ROLES = ["platform_admin", "team_admin", "developer", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/**
 * Ownership columns of backends and virtual servers. Rows from before teams
 * existed have no team and are `public`, so single-admin deployments keep
 * working unchanged after the migration.
 */
function owned() {
  return {
    /** Owning team (a `teams.name`), or null for platform-owned objects. */
    team: text("team"),
    /** The subject that created it (an API token id, `admin`, or an OAuth subject). */
    owner: text("owner"),
    visibility: text("visibility", { enum: VISIBILITIES }).notNull().default("public"),
  };
}

/** Upstream MCP servers. `name` is the backend's id everywhere. */
export const backends = sqliteTable("backends", {
  name: text("name").primaryKey(),
  url: text("url").notNull(),
  transport: text("transport", { enum: ["streamable-http", "sse", "openapi"] })
    .notNull()
    .default("streamable-http"),
  /** `openapi` backends: where the document is, which operations, the health path (README, "REST APIs as backends"). */
  openapi: text("openapi", { mode: "json" }).$type<OpenApiSettings | null>(),
  /** `openapi` backends: the operations derived from the document when it was saved. */
  openapiOperations: text("openapi_operations", { mode: "json" }).$type<OpenApiOperation[] | null>(),
  /** Header values are secrets: stored AES-GCM encrypted, never echoed. */
  headersEncrypted: text("headers_encrypted"),
  /** Header names only, so listings need no decryption. JSON array. */
  headerNames: text("header_names", { mode: "json" }).$type<string[]>().notNull().default([]),
  timeoutMs: integer("timeout_ms").notNull().default(30_000),
  healthIntervalSeconds: integer("health_interval_seconds").notNull().default(30),
  /** Circuit breaker: consecutive failures that open it. */
  failureThreshold: integer("failure_threshold").notNull().default(5),
  /** Circuit breaker: how long it stays open before a trial call. */
  cooldownSeconds: integer("cooldown_seconds").notNull().default(30),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  /** Upstream OAuth client settings (JSON, the client secret sealed); null: headers only. */
  auth: text("auth", { mode: "json" }).$type<StoredUpstreamAuth | null>(),
  ...owned(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** A backend's `auth` column: `UpstreamOAuth` with the client secret sealed (purpose `upstream-client-secret`). */
export interface StoredUpstreamAuth {
  type: "oauth";
  grant: "authorization_code" | "client_credentials" | "token_exchange";
  issuer: string | null;
  /** `dynamic`: clientId and the secret were issued by the server's registration endpoint (RFC 7591); absent: static. */
  registration?: "dynamic";
  /** "" while a dynamic client is not registered yet. */
  clientId: string;
  clientSecretSealed: string | null;
  scopes: string[];
  resource: string | null;
}

/**
 * Which users hold an upstream OAuth token for which backend: an index only
 * (the tokens live sealed in each user's UpstreamTokenDO, never in D1), so
 * admins can list and revoke connections and key rotation can find every
 * sealed token. Written on connect and revoke, never on the call path.
 */
export const upstreamConnections = sqliteTable(
  "upstream_connections",
  {
    /** The principal's subject (`tok_…`, `oauth:<issuer>:<sub>`, `admin`). */
    subject: text("subject").notNull(),
    backend: text("backend").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.subject, t.backend] }), index("upstream_connections_backend").on(t.backend)],
);

/** Virtual servers: a named subset of backends and/or tools behind `/servers/:name/mcp`. */
export const servers = sqliteTable("servers", {
  name: text("name").primaryKey(),
  /** null = every enabled backend. JSON array of backend names. */
  backends: text("backends", { mode: "json" }).$type<string[] | null>(),
  /** null = every tool of those backends. JSON array of public tool names. */
  tools: text("tools", { mode: "json" }).$type<string[] | null>(),
  prefix: integer("prefix", { mode: "boolean" }).notNull().default(true),
  auth: text("auth", { enum: ["token", "none"] })
    .notNull()
    .default("token"),
  ...owned(),
  /** How tools/list shows the catalog: every tool, or search meta-tools (README, "Huge catalogs"). */
  discovery: text("discovery", { enum: ["list", "search", "code"] })
    .notNull()
    .default("list"),
  /** Per-tool overrides (alias, description, annotations, fixed/default arguments). JSON array. */
  toolOverrides: text("tool_overrides", { mode: "json" }).$type<ToolOverride[]>().notNull().default([]),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** API tokens. Only the SHA-256 of the secret is stored. */
export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  tokenHash: text("token_hash").notNull().unique(),
  /** The first characters of the secret, to recognise a token in listings. */
  tokenPrefix: text("token_prefix").notNull(),
  scopes: text("scopes", { mode: "json" }).$type<("mcp" | "admin")[]>().notNull(),
  /** null = every server. JSON array of server names. */
  servers: text("servers", { mode: "json" }).$type<string[] | null>(),
  expiresAt: text("expires_at"),
  /** The team the token acts for, or null (a token without a team and with `admin` is a platform admin). */
  team: text("team"),
  /** The token's role in `team` (or `platform_admin`); null = the default for its scopes. */
  role: text("role", { enum: ROLES }),
  createdAt: text("created_at").notNull(),
});

/** Plugin instances (the plugin chain issue fills in kinds and execution). */
export const plugins = sqliteTable("plugins", {
  name: text("name").primaryKey(),
  kind: text("kind").notNull(),
  mode: text("mode", { enum: ["enforce", "permissive", "disabled"] }).notNull(),
  priority: integer("priority").notNull(),
  hooks: text("hooks", { mode: "json" }).$type<string[]>().notNull(),
  conditions: text("conditions", { mode: "json" }).$type<unknown[] | null>(),
  config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  /** Owning team: a team's plugin applies only to calls to that team's backends. null = platform-wide. */
  team: text("team"),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** A single row (id = 1) whose version changes on every configuration write. */
export const configMeta = sqliteTable("config_meta", {
  id: integer("id").primaryKey(),
  version: integer("version").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** Teams own backends, servers, plugins and tokens. */
export const teams = sqliteTable("teams", {
  name: text("name").primaryKey(),
  description: text("description").notNull().default(""),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * Explicit team memberships of a subject (an API token id, or an OAuth
 * subject `oauth:<issuer>:<sub>`), beside those an API token's own fields or
 * a JWT claim mapping give.
 */
export const teamMembers = sqliteTable(
  "team_members",
  {
    team: text("team").notNull(),
    subject: text("subject").notNull(),
    role: text("role", { enum: ["team_admin", "developer", "viewer"] }).notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.team, t.subject] })],
);

/**
 * The audit log: one row per admin write (who, what, when). Not part of the
 * configuration: writing it does not bump the config version.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    /** Sortable: ISO time + random suffix, so the cursor is the id. */
    id: text("id").primaryKey(),
    at: text("at").notNull(),
    subject: text("subject").notNull(),
    /** The team the object belongs to (after the write, or before a delete). */
    team: text("team"),
    tokenId: text("token_id"),
    method: text("method").notNull(),
    route: text("route").notNull(),
    objectType: text("object_type").notNull(),
    objectId: text("object_id"),
    status: integer("status").notNull(),
    /** Field-level diff `{field: {from?, to?}}`, secrets redacted. */
    diff: text("diff", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("audit_log_at").on(t.at), index("audit_log_team").on(t.team, t.id)],
);

export type BackendRow = typeof backends.$inferSelect;
export type ServerRow = typeof servers.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type PluginRow = typeof plugins.$inferSelect;
export type TeamRow = typeof teams.$inferSelect;
export type TeamMemberRow = typeof teamMembers.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
