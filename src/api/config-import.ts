/**
 * `POST /api/config/import`: plans an import of a `ConfigDocument` against
 * the stored configuration. The whole document is validated first (the same
 * checks as the single-object routes: URL safety, plugin kinds and their
 * configs, references between sections, limits) and every problem is
 * reported in one 400 naming the document's paths. The plan says what would
 * be created, updated (with the fields that differ) or deleted per object;
 * objects that already match are left alone, so applying the same document
 * twice writes nothing. `merge` creates and updates; `replace` also deletes
 * the rest. Writing is `writeImport` (one D1 batch, one version bump).
 */
import type { Context } from "hono";
import { ringOrNull } from "../config/d1-source";
import { encryptHeaders, keyRing, type OpenedHeaders, openHeaders } from "../config/header-crypto";
import { LIMITS } from "../config/limits";
import type { ApiTokenRow, BackendRow, PluginRow, ServerRow } from "../config/schema";
import { REDACTED } from "../config/shapes";
import type { AllRows, ImportWrite } from "../config/store/import";
import { normalizeOverrides } from "../config/tool-overrides";
import { checkBackendUrl, dohResolver } from "../config/url-safety";
import type { AppEnv } from "../env";
import { type FieldIssue, HttpError } from "../errors";
import { type ConfigDoc, isSecretRef, unfilledAsKept } from "./config-document";
import { duplicateMembers, ownershipIssues, planTeams } from "./config-import-teams";
import { planOpenApi } from "./openapi-backend";
import { internalParts, validated } from "./plugins";
import { assertNoNameConflicts } from "./server-conflicts";
import { overrideIssues } from "./tool-override-checks";

export type ImportMode = "merge" | "replace";

/** What an import does to one section. */
export interface SectionChanges {
  created: string[];
  updated: Array<{ name: string; fields: string[] }>;
  deleted: string[];
  unchanged: number;
}

export type ImportChanges = Record<"backends" | "servers" | "plugins" | "tokens" | "teams", SectionChanges>;

/** A planned import: the changes to show, the write, and the backends whose Durable Objects hear of it. */
export interface ImportPlan {
  changes: ImportChanges;
  write: ImportWrite;
  /** Backends created or updated (their DOs get the new config). */
  synced: string[];
  /** Backends deleted (their DOs forget everything). */
  removed: string[];
}

const DEFAULT_RESOLVER = "https://cloudflare-dns.com/dns-query";

/** A canonical JSON text (sorted keys), for comparing stored and wanted values. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const same = (a: unknown, b: unknown) => stable(a) === stable(b);

/** The fields of `wanted` whose values differ from `stored`. */
function differing<T extends object>(stored: T, wanted: Partial<T>): string[] {
  return Object.keys(wanted).filter((k) => !same(stored[k as keyof T], wanted[k as keyof T]));
}

function emptyChanges(): SectionChanges {
  return { created: [], updated: [], deleted: [], unchanged: 0 };
}

interface Planner {
  c: Context<AppEnv>;
  doc: ConfigDoc;
  rows: AllRows;
  mode: ImportMode;
  issues: FieldIssue[];
  now: string;
  open: (sealed: string | null) => Promise<OpenedHeaders>;
}

/** Names that will exist after the import, per section. */
function finalNames(p: Planner, section: "backends" | "servers"): Set<string> {
  const listed = p.doc[section].map((x) => x.name);
  return new Set(p.mode === "replace" ? listed : [...listed, ...p.rows[section].map((r) => r.name)]);
}

type Section = "backends" | "servers" | "plugins" | "tokens";

/** Team, owner and visibility as stored; a document without them means platform-owned (as before teams). */
function ownership(entry: { team?: string | null; owner?: string | null; visibility?: ServerRow["visibility"] }) {
  const team = entry.team ?? null;
  return { team, owner: entry.owner ?? null, visibility: entry.visibility ?? (team ? "team" : "public") };
}

function deletions(p: Planner, section: Section): string[] {
  if (p.mode !== "replace") return [];
  const listed = new Set(p.doc[section].map((x) => x.name));
  return p.rows[section].map((r) => r.name).filter((n) => !listed.has(n));
}

function checkLimit(p: Planner, section: Section, created: number, limit: number): void {
  const total = p.mode === "replace" ? p.doc[section].length : p.rows[section].length + created;
  if (total > limit) p.issues.push({ path: section, message: `would hold ${total}; the limit is ${limit}` });
}

async function planBackends(p: Planner): Promise<{ changes: SectionChanges; put: BackendRow[] }> {
  const changes = emptyChanges();
  const put: BackendRow[] = [];
  const stored = new Map(p.rows.backends.map((r) => [r.name, r]));
  const urlChecks: Array<Promise<void>> = [];
  const resolver = dohResolver(p.c.env.DNS_RESOLVER_URL || DEFAULT_RESOLVER);
  const checkUrl = (i: number, url: string) =>
    urlChecks.push(
      checkBackendUrl(url, p.c.env.ALLOW_PRIVATE_BACKENDS === "true", resolver).then((verdict) => {
        if (!verdict.ok) {
          p.issues.push({
            path: `backends.${i}.url`,
            message: `${verdict.reason}; set ALLOW_PRIVATE_BACKENDS=true to allow it`,
          });
        }
      }),
    );
  for (const [i, entry] of p.doc.backends.entries()) {
    const before = stored.get(entry.name);
    const opened = await p.open(before?.headersEncrypted ?? null);
    const headers: Record<string, string> = {};
    for (const [h, v] of Object.entries(entry.headers ?? {})) {
      if (typeof v === "string" && v !== REDACTED) headers[h] = v;
      else if (opened.headers[h] !== undefined) headers[h] = opened.headers[h];
      else {
        p.issues.push({
          path: `backends.${i}.headers.${h}`,
          message: isSecretRef(v)
            ? `references ${v.secretRef}, which was not filled in, and the gateway holds no value to keep: set ${v.secretRef} in the environment of \`npm run config -- apply\``
            : "has no stored value to keep",
        });
      }
    }
    const wanted = {
      url: entry.url,
      transport: entry.transport ?? "streamable-http",
      timeoutMs: entry.timeoutMs ?? 30_000,
      healthIntervalSeconds: entry.healthIntervalSeconds ?? 30,
      failureThreshold: entry.failureThreshold ?? 5,
      cooldownSeconds: entry.cooldownSeconds ?? 30,
      enabled: entry.enabled ?? true,
      openapi: entry.openapi ?? null,
      ...ownership(entry),
    };
    const fields = before ? differing(before, wanted) : [];
    // An unchanged document keeps its operations; a new one is loaded and checked as on create.
    const openapi =
      before && !fields.includes("openapi") && !fields.includes("transport")
        ? { openapi: before.openapi, openapiOperations: before.openapiOperations }
        : await planOpenApi(p.c, wanted.transport, entry.openapi);
    if ("path" in openapi) {
      p.issues.push({ path: `backends.${i}.${openapi.path}`, message: openapi.message });
      continue;
    }
    const headersSame = before !== undefined && opened.readable && same(opened.headers, headers);
    if (before && !headersSame) fields.push("headers");
    if (before && fields.length === 0) {
      changes.unchanged++;
      continue;
    }
    if (!before || fields.includes("url")) checkUrl(i, entry.url);
    if (before) changes.updated.push({ name: entry.name, fields });
    else changes.created.push(entry.name);
    const names = Object.keys(headers).sort();
    put.push({
      name: entry.name,
      ...wanted,
      headersEncrypted: headersSame ? before.headersEncrypted : names.length > 0 ? await sealed(p, headers) : null,
      headerNames: names,
      ...openapi,
      auth: before?.auth ?? null,
      createdAt: before?.createdAt ?? p.now,
      updatedAt: p.now,
    });
  }
  await Promise.all(urlChecks);
  changes.deleted = deletions(p, "backends");
  checkLimit(p, "backends", changes.created.length, LIMITS.backends);
  return { changes, put };
}

async function sealed(p: Planner, headers: Record<string, string>): Promise<string> {
  return encryptHeaders(headers, await keyRing(p.c.env));
}

async function planServers(p: Planner): Promise<{ changes: SectionChanges; put: ServerRow[] }> {
  const changes = emptyChanges();
  const put: ServerRow[] = [];
  const stored = new Map(p.rows.servers.map((r) => [r.name, r]));
  const backends = finalNames(p, "backends");
  for (const [i, entry] of p.doc.servers.entries()) {
    const overrides = normalizeOverrides(entry, `servers.${i}.toolOverrides`);
    p.issues.push(...overrides.issues);
    const wanted = {
      backends: entry.backends ?? null,
      tools: entry.tools ?? null,
      prefix: entry.prefix ?? true,
      auth: entry.auth ?? "token",
      ...ownership(entry),
      discovery: entry.discovery ?? "list",
      toolOverrides: overrides.value ?? [],
    };
    wanted.backends?.forEach((b, j) => {
      if (!backends.has(b)) p.issues.push({ path: `servers.${i}.backends.${j}`, message: `unknown backend '${b}'` });
    });
    const before = stored.get(entry.name);
    const fields = before ? differing(before, wanted) : [];
    if (before && fields.length === 0) {
      changes.unchanged++;
      continue;
    }
    try {
      await assertNoNameConflicts(p.c, { name: entry.name, ...wanted });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      for (const d of (err.details as FieldIssue[] | undefined) ?? []) {
        p.issues.push({ path: `servers.${i}.${d.path}`, message: d.message });
      }
    }
    // Against the backends as they are now, as the name-conflict check above (tool-override-checks.ts).
    for (const d of await overrideIssues(p.c, { name: entry.name, ...wanted })) {
      p.issues.push({ path: `servers.${i}.${d.path}`, message: d.message });
    }
    if (before) changes.updated.push({ name: entry.name, fields });
    else changes.created.push(entry.name);
    put.push({ name: entry.name, ...wanted, createdAt: before?.createdAt ?? p.now, updatedAt: p.now });
  }
  changes.deleted = deletions(p, "servers");
  checkLimit(p, "servers", changes.created.length, LIMITS.servers);
  return { changes, put };
}

async function planTokens(p: Planner): Promise<{ changes: SectionChanges; put: ApiTokenRow[] }> {
  const changes = emptyChanges();
  const put: ApiTokenRow[] = [];
  const stored = new Map(p.rows.tokens.map((r) => [r.name, r]));
  const servers = finalNames(p, "servers");
  const kept = p.mode === "replace" ? [] : p.rows.tokens.filter((t) => !p.doc.tokens.some((d) => d.name === t.name));
  const seen = { id: new Map<string, string>(), hash: new Map<string, string>() };
  for (const t of kept) {
    seen.id.set(t.id, `stored token '${t.name}'`);
    seen.hash.set(t.tokenHash, `stored token '${t.name}'`);
  }
  for (const [i, entry] of p.doc.tokens.entries()) {
    const wanted = {
      id: entry.id,
      tokenPrefix: entry.tokenPrefix,
      tokenHash: entry.tokenSha256,
      scopes: entry.scopes,
      servers: entry.servers ?? null,
      expiresAt: entry.expiresAt ? new Date(entry.expiresAt).toISOString() : null,
      team: entry.team ?? null,
      role: entry.role ?? null,
    };
    wanted.servers?.forEach((s, j) => {
      if (!servers.has(s)) p.issues.push({ path: `tokens.${i}.servers.${j}`, message: `unknown server '${s}'` });
    });
    for (const [field, key, map] of [
      ["id", wanted.id, seen.id],
      ["tokenSha256", wanted.tokenHash, seen.hash],
    ] as const) {
      const owner = map.get(key);
      if (owner) p.issues.push({ path: `tokens.${i}.${field}`, message: `is also the ${field} of ${owner}` });
      map.set(key, `tokens.${i}`);
    }
    const before = stored.get(entry.name);
    const fields = before ? differing(before, wanted).map((f) => (f === "tokenHash" ? "tokenSha256" : f)) : [];
    if (before && fields.length === 0) {
      changes.unchanged++;
      continue;
    }
    if (before) changes.updated.push({ name: entry.name, fields });
    else changes.created.push(entry.name);
    put.push({ name: entry.name, ...wanted, createdAt: before?.createdAt ?? p.now });
  }
  changes.deleted = deletions(p, "tokens");
  checkLimit(p, "tokens", changes.created.length, LIMITS.tokens);
  return { changes, put };
}

/** Whether two stored plugin configs mean the same (sealed headers compared opened: sealing is randomised). */
async function sameConfig(p: Planner, a: Record<string, unknown>, b: Record<string, unknown>): Promise<boolean> {
  const { headers_sealed: sa, ...ra } = a;
  const { headers_sealed: sb, ...rb } = b;
  if (!same(ra, rb)) return false;
  if (sa === sb) return true;
  if (typeof sa !== "string" || typeof sb !== "string") return false;
  const [oa, ob] = await Promise.all([p.open(sa), p.open(sb)]);
  return oa.readable && ob.readable && same(oa.headers, ob.headers);
}

/** Plugin validation errors carry paths relative to the plugin; the document's are under `plugins.<i>`. */
function underPlugin(p: Planner, i: number, err: unknown): void {
  if (!(err instanceof HttpError) || err.status !== 400) throw err;
  const details = (err.details as FieldIssue[] | undefined) ?? [{ path: "(plugin)", message: err.message }];
  for (const d of details) p.issues.push({ path: `plugins.${i}.${d.path}`, message: d.message });
}

async function planPlugins(p: Planner): Promise<{ changes: SectionChanges; put: PluginRow[] }> {
  const changes = emptyChanges();
  const put: PluginRow[] = [];
  const stored = new Map(p.rows.plugins.map((r) => [r.name, r]));
  for (const [i, entry] of p.doc.plugins.entries()) {
    const before = stored.get(entry.name);
    const config = { ...entry.config };
    if (typeof config.headers === "object" && config.headers !== null && !Array.isArray(config.headers)) {
      config.headers = unfilledAsKept(config.headers as Record<string, string>);
    }
    let fields: Omit<PluginRow, "name" | "createdAt" | "updatedAt">;
    try {
      const parts = internalParts(p.c, entry.kind, config, entry.conditions);
      const valid = await validated(
        p.c,
        {
          kind: entry.kind,
          mode: entry.mode ?? "enforce",
          priority: entry.priority ?? 100,
          hooks: entry.hooks,
          conditions: parts.conditions ?? null,
          config: parts.config ?? {},
        },
        before?.config ?? null,
      );
      fields = { ...valid, team: entry.team ?? null };
    } catch (err) {
      underPlugin(p, i, err);
      continue;
    }
    if (before) {
      const { config: beforeConfig, ...beforeRest } = before;
      const { config: wantedConfig, ...wantedRest } = fields;
      const changed = differing(beforeRest, wantedRest);
      if (!(await sameConfig(p, beforeConfig, wantedConfig))) changed.push("config");
      if (changed.length === 0) {
        changes.unchanged++;
        continue;
      }
      changes.updated.push({ name: entry.name, fields: changed });
    } else changes.created.push(entry.name);
    put.push({ name: entry.name, ...fields, createdAt: before?.createdAt ?? p.now, updatedAt: p.now });
  }
  changes.deleted = deletions(p, "plugins");
  checkLimit(p, "plugins", changes.created.length, LIMITS.plugins);
  return { changes, put };
}

/** Validates the whole document against the stored rows and plans the import; 400 naming every problem. */
export async function planImport(c: Context<AppEnv>, doc: ConfigDoc, rows: AllRows, mode: ImportMode) {
  const ring = await ringOrNull(c.env);
  const open = (sealed: string | null) => openHeaders(sealed, ring);
  const p: Planner = { c, doc, rows, mode, issues: [], now: new Date().toISOString(), open };
  const teams = planTeams(doc, rows, mode, p.now);
  p.issues.push(...duplicateMembers(doc), ...ownershipIssues(doc, teams.finalNames));
  const backends = await planBackends(p);
  const servers = await planServers(p);
  const tokens = await planTokens(p);
  const plugins = await planPlugins(p);
  if (p.issues.length > 0) throw new HttpError(400, "validation_failed", "Invalid configuration document", p.issues);
  const plan: ImportPlan = {
    changes: {
      backends: backends.changes,
      servers: servers.changes,
      plugins: plugins.changes,
      tokens: tokens.changes,
      teams: teams.changes,
    },
    write: {
      remove: {
        backends: backends.changes.deleted,
        servers: servers.changes.deleted,
        plugins: plugins.changes.deleted,
        tokens: tokens.changes.deleted,
        teams: teams.changes.deleted,
      },
      put: {
        backends: backends.put,
        servers: servers.put,
        plugins: plugins.put,
        tokens: tokens.put,
        teams: teams.put,
        members: teams.members,
      },
    },
    synced: backends.put.map((b) => b.name),
    removed: backends.changes.deleted,
  };
  return plan;
}
