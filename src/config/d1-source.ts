/**
 * Loads configuration snapshots from D1 (the `ConfigSource` used in production).
 */
import { eq } from "drizzle-orm";
import type { KeyRing } from "../auth/keys";
import type { TeamRole } from "../auth/principal";
import type { ConfigSource } from "./cache";
import { type Db, database, readVersion } from "./db";
import { keyRing, openHeaders } from "./header-crypto";
import { apiTokens, type BackendRow, backends, configMeta, plugins, servers, teamMembers, teams } from "./schema";
import type { BackendConfig, ConfigSnapshot, PluginConfig, ServerConfig, TokenConfig } from "./snapshot";
import { openedAuth } from "./store/upstream-auth";

interface SourceEnv {
  DB: D1Database;
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
  ADMIN_TOKEN?: string;
}

/** Builds the D1-backed source for an environment. */
export function d1ConfigSource(env: SourceEnv): ConfigSource {
  return {
    version: () => readVersion(env.DB),
    load: () => loadSnapshot(database(env.DB), env),
  };
}

/** A full snapshot from D1 (for the config root shard, which loads for every shard). */
export function loadSnapshotFrom(env: SourceEnv): Promise<ConfigSnapshot> {
  return loadSnapshot(database(env.DB), env);
}

/**
 * A stored backend as the request path needs it. Headers no key of `ring`
 * opens leave this backend flagged (`headersUnreadable`), never a thrown load.
 */
export async function backendConfig(b: BackendRow, ring: KeyRing | null): Promise<BackendConfig> {
  const opened = await openHeaders(b.headersEncrypted, ring);
  const auth = await openedAuth(b.auth, b.url, ring);
  return {
    name: b.name,
    url: b.url,
    transport: b.transport,
    headers: opened.headers,
    ...(!opened.readable && { headersUnreadable: true }),
    ...(b.transport === "openapi" && {
      openapi: {
        operations: b.openapiOperations ?? [],
        ...(b.openapi?.healthPath !== undefined && { healthPath: b.openapi.healthPath }),
      },
    }),
    timeoutMs: b.timeoutMs,
    healthIntervalSeconds: b.healthIntervalSeconds,
    failureThreshold: b.failureThreshold,
    cooldownSeconds: b.cooldownSeconds,
    enabled: b.enabled,
    ...(auth && { auth }),
    team: b.team,
    owner: b.owner,
    visibility: b.visibility,
  };
}

/** Reads every config table plus the version in one batch (one round trip, one consistent view). */
export async function loadSnapshot(db: Db, env: SourceEnv): Promise<ConfigSnapshot> {
  const [versionRows, backendRows, serverRows, tokenRows, pluginRows, teamRows, memberRows] = await db.batch([
    db.select({ version: configMeta.version }).from(configMeta).where(eq(configMeta.id, 1)),
    db.select().from(backends),
    db.select().from(servers),
    db.select().from(apiTokens),
    db.select().from(plugins),
    db.select({ name: teams.name }).from(teams),
    db.select().from(teamMembers),
  ]);

  const ring = backendRows.some((b) => b.headersEncrypted || b.auth?.clientSecretSealed) ? await ringOrNull(env) : null;
  const backendList = await Promise.all(backendRows.map((b) => backendConfig(b, ring)));
  const serverList = serverRows.map(
    (s): ServerConfig => ({
      name: s.name,
      backends: s.backends,
      tools: s.tools,
      prefix: s.prefix,
      auth: s.auth,
      team: s.team,
      owner: s.owner,
      visibility: s.visibility,
      discovery: s.discovery,
      toolOverrides: s.toolOverrides,
    }),
  );
  const tokenList = tokenRows.map((t): [string, TokenConfig] => [
    t.tokenHash,
    {
      id: t.id,
      name: t.name,
      scopes: t.scopes,
      servers: t.servers,
      expiresAt: t.expiresAt ? Date.parse(t.expiresAt) : null,
      team: t.team,
      role: t.role,
    },
  ]);
  const pluginList = pluginRows.map(
    (p): PluginConfig => ({
      name: p.name,
      kind: p.kind,
      mode: p.mode,
      priority: p.priority,
      hooks: p.hooks,
      conditions: p.conditions,
      config: p.config,
      team: p.team,
    }),
  );
  const members = new Map<string, Map<string, TeamRole>>();
  for (const m of memberRows) {
    const roles = members.get(m.subject) ?? new Map<string, TeamRole>();
    roles.set(m.team, m.role);
    members.set(m.subject, roles);
  }

  return {
    version: versionRows[0]?.version ?? 0,
    backends: new Map(backendList.map((b) => [b.name, b])),
    servers: new Map(serverList.map((s) => [s.name, s])),
    tokensByHash: new Map(tokenList),
    plugins: pluginList,
    teams: new Set(teamRows.map((t) => t.name)),
    members,
  };
}

/** The key ring, or null when the deployment has no key (then sealed values are unreadable, not fatal). */
export async function ringOrNull(env: SourceEnv): Promise<KeyRing | null> {
  try {
    return await keyRing(env);
  } catch {
    return null;
  }
}
