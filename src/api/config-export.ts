/**
 * `GET /api/config/export`: the whole configuration as one `ConfigDocument`
 * (`config-document.ts`), from one consistent read. Stable for version
 * control: every section sorted by name, no timestamps on objects, secret
 * header values as references, so exporting twice gives the same document.
 * Ownership travels with each object (team, owner, visibility; a token's
 * team and role), and teams with their explicit members.
 */
import type { z } from "@hono/zod-openapi";
import { REDACTED } from "../config/shapes";
import type { AllRows } from "../config/store/import";
import { CONFIG_SCHEMA_VERSION, type ConfigDocument, headerRefs } from "./config-document";
import { pluginView } from "./plugins";

type Doc = z.input<typeof ConfigDocument>;

/** Plugin configs show stored header values as `********`; the document names references instead. */
function pluginConfig(name: string, config: Record<string, unknown>): Record<string, unknown> {
  const headers = config.headers;
  if (typeof headers !== "object" || headers === null) return config;
  const names = Object.entries(headers)
    .filter(([, v]) => v === REDACTED)
    .map(([h]) => h);
  return { ...config, headers: { ...headers, ...headerRefs("plugin", name, names) } };
}

/** The document for a set of stored rows (pure; no timestamp, so the same configuration gives the same text). */
export function exportDocument(rows: AllRows): Doc {
  return {
    schemaVersion: CONFIG_SCHEMA_VERSION,
    backends: rows.backends.map((b) => ({
      name: b.name,
      url: b.url,
      transport: b.transport,
      ...(b.openapi && { openapi: b.openapi }),
      ...(b.headerNames.length > 0 && { headers: headerRefs("backend", b.name, b.headerNames) }),
      timeoutMs: b.timeoutMs,
      healthIntervalSeconds: b.healthIntervalSeconds,
      failureThreshold: b.failureThreshold,
      cooldownSeconds: b.cooldownSeconds,
      enabled: b.enabled,
      team: b.team,
      owner: b.owner,
      visibility: b.visibility,
    })),
    servers: rows.servers.map((s) => ({
      name: s.name,
      backends: s.backends,
      tools: s.tools,
      prefix: s.prefix,
      auth: s.auth,
      team: s.team,
      owner: s.owner,
      visibility: s.visibility,
      discovery: s.discovery,
      // Only when set, so documents of servers without overrides read as before.
      ...(s.toolOverrides.length > 0 && { toolOverrides: s.toolOverrides }),
    })),
    plugins: rows.plugins.map((row) => {
      const p = pluginView(row);
      return {
        name: p.name,
        kind: p.kind,
        mode: p.mode,
        priority: p.priority,
        hooks: p.hooks,
        conditions: p.conditions,
        config: pluginConfig(p.name, p.config),
        ...(p.team !== null && { team: p.team }),
      };
    }),
    tokens: rows.tokens.map((t) => ({
      id: t.id,
      name: t.name,
      tokenPrefix: t.tokenPrefix,
      tokenSha256: t.tokenHash,
      scopes: t.scopes,
      servers: t.servers,
      expiresAt: t.expiresAt,
      team: t.team,
      role: t.role,
    })),
    teams: rows.teams.map((t) => ({
      name: t.name,
      description: t.description,
      members: rows.members.filter((m) => m.team === t.name).map((m) => ({ subject: m.subject, role: m.role })),
    })),
  };
}
