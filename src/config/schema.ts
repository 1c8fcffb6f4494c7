/**
 * D1 schema for the gateway's configuration (source of truth).
 *
 * Every write to these tables also bumps `config_meta.version` in the same
 * D1 batch (one transaction), so isolates can tell with one tiny query whether
 * their cached snapshot is stale (see `config/cache.ts`).
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { ToolOverride } from "./snapshot";

/** Upstream MCP servers. `name` is the backend's id everywhere. */
export const backends = sqliteTable("backends", {
  name: text("name").primaryKey(),
  url: text("url").notNull(),
  transport: text("transport", { enum: ["streamable-http", "sse"] })
    .notNull()
    .default("streamable-http"),
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
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

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
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** A single row (id = 1) whose version changes on every configuration write. */
export const configMeta = sqliteTable("config_meta", {
  id: integer("id").primaryKey(),
  version: integer("version").notNull(),
  updatedAt: text("updated_at").notNull(),
});

export type BackendRow = typeof backends.$inferSelect;
export type ServerRow = typeof servers.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type PluginRow = typeof plugins.$inferSelect;
