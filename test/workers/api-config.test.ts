// /api/config: export as one versioned document without secrets; import validated as a whole, diffed, applied all-or-nothing in one version bump.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/auth/secrets";
import { readVersion } from "../../src/config/db";
import { type Fault, faultyD1, fetchWith } from "./faults";
import { api, errorOf, uniqueName } from "./helpers";

interface Doc {
  schemaVersion: number;
  backends: Array<Record<string, unknown> & { name: string }>;
  servers: Array<Record<string, unknown> & { name: string }>;
  plugins: Array<Record<string, unknown> & { name: string; config: Record<string, unknown> }>;
  tokens: Array<Record<string, unknown> & { name: string }>;
}

interface Changes {
  created: string[];
  updated: Array<{ name: string; fields: string[] }>;
  deleted: string[];
  unchanged: number;
}
type ImportAnswer = { applied: boolean; changes: Record<"backends" | "servers" | "plugins" | "tokens", Changes> };

const paths = (body: unknown) => errorOf(body).details?.map((d) => d.path);
const exportDoc = async () => (await api("GET", "/api/config/export")).body as Doc;
const importDoc = (doc: unknown, query = "") => api("POST", `/api/config/import${query}`, { body: doc });

const B = uniqueName("cfg-b");
const S = uniqueName("cfg-s");
const HOOK = uniqueName("cfg-wh");
const RATE = uniqueName("cfg-rl");
const TOKEN = uniqueName("cfg-t");
let tokenSecret = "";

beforeAll(async () => {
  const created = [
    await api("POST", "/api/backends", {
      body: { name: B, url: "https://93.184.215.14/mcp", headers: { Authorization: "Bearer backend-secret-1" } },
    }),
    await api("POST", "/api/servers", { body: { name: S, backends: [B] } }),
    await api("POST", "/api/plugins", {
      body: {
        name: HOOK,
        kind: "webhook",
        config: { url: "https://93.184.215.14/policy", headers: { "X-Key": "webhook-secret-1" } },
      },
    }),
    await api("POST", "/api/plugins", {
      body: {
        name: RATE,
        kind: "rate_limit",
        config: { limit: 5, windowSeconds: 60 },
        conditions: [{ serverIds: [S] }],
      },
    }),
  ];
  expect(created.map((r) => r.status)).toEqual([201, 201, 201, 201]);
  const token = await api("POST", "/api/tokens", { body: { name: TOKEN, scopes: ["admin"], servers: [S] } });
  expect(token.status).toBe(201);
  tokenSecret = (token.body as { token: string }).token;
});

describe("GET /api/config/export", () => {
  it("answers one versioned document, camelCase, secrets as references, tokens by hash", async () => {
    const res = await api("GET", "/api/config/export");
    expect(res.status).toBe(200);
    for (const secret of ["backend-secret-1", "webhook-secret-1", tokenSecret]) expect(res.text).not.toContain(secret);
    const doc = res.body as Doc;
    expect(doc.schemaVersion).toBe(1);
    expect(Object.keys(doc).sort()).toEqual(["backends", "plugins", "schemaVersion", "servers", "tokens"]);
    expect(doc.backends.find((b) => b.name === B)).toEqual({
      name: B,
      url: "https://93.184.215.14/mcp",
      transport: "streamable-http",
      headers: { Authorization: { secretRef: `MCPGW_BACKEND_${B.toUpperCase().replace(/-/g, "_")}_AUTHORIZATION` } },
      timeoutMs: 30000,
      healthIntervalSeconds: 30,
      failureThreshold: 5,
      cooldownSeconds: 30,
      enabled: true,
    });
    expect(doc.servers.find((s) => s.name === S)).toEqual({
      name: S,
      backends: [B],
      tools: null,
      prefix: true,
      auth: "token",
    });
    expect(doc.plugins.find((p) => p.name === RATE)).toMatchObject({
      kind: "rate_limit",
      conditions: [{ serverIds: [S] }],
      config: { limit: 5, windowSeconds: 60 },
    });
    expect(doc.plugins.find((p) => p.name === HOOK)?.config.headers).toEqual({
      "X-Key": { secretRef: `MCPGW_PLUGIN_${HOOK.toUpperCase().replace(/-/g, "_")}_X_KEY` },
    });
    expect(doc.tokens.find((t) => t.name === TOKEN)).toMatchObject({
      scopes: ["admin"],
      servers: [S],
      tokenSha256: await sha256Hex(tokenSecret),
      tokenPrefix: tokenSecret.slice(0, 12),
    });
  });

  it("is published in the OpenAPI document", async () => {
    const doc = (await api("GET", "/api/openapi.json")).body as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/config/export", "/config/import"]));
    expect(doc.components.schemas.ConfigDocument).toBeDefined();
  });
});

describe("POST /api/config/import", () => {
  it("finds nothing to do in its own export, writes nothing, bumps no version", async () => {
    const before = await readVersion(env.DB);
    const res = await importDoc(await exportDoc());
    expect(res.status).toBe(200);
    const answer = res.body as ImportAnswer;
    expect(answer.applied).toBe(false);
    for (const section of Object.values(answer.changes)) {
      expect(section).toMatchObject({ created: [], updated: [], deleted: [] });
      expect(section.unchanged).toBeGreaterThan(0);
    }
    expect(await readVersion(env.DB)).toBe(before);
  });

  it("shows the diff on a dry run without writing, then applies it in one version bump", async () => {
    const doc = await exportDoc();
    const backend = doc.backends.find((b) => b.name === B) as Record<string, unknown>;
    backend.timeoutMs = 5000;
    backend.headers = { Authorization: "Bearer backend-secret-2" };
    const fresh = uniqueName("cfg-new");
    doc.backends.push({ name: fresh, url: "https://93.184.215.14/new" });
    const before = await readVersion(env.DB);

    const dry = await importDoc(doc, "?dryRun=true");
    expect(dry.status).toBe(200);
    const planned = (dry.body as ImportAnswer).changes.backends;
    expect(planned.created).toEqual([fresh]);
    expect(planned.updated).toEqual([{ name: B, fields: ["timeoutMs", "headers"] }]);
    expect((dry.body as ImportAnswer).applied).toBe(false);
    expect(await readVersion(env.DB)).toBe(before);
    expect((await api("GET", `/api/backends/${fresh}`)).status).toBe(404);

    const applied = await importDoc(doc);
    expect(applied.status).toBe(200);
    expect((applied.body as ImportAnswer).applied).toBe(true);
    expect(await readVersion(env.DB)).toBe(before + 1);
    expect((await api("GET", `/api/backends/${B}`)).body).toMatchObject({ timeoutMs: 5000, credentials: "ok" });
    expect((await api("GET", `/api/backends/${fresh}`)).status).toBe(200);
    // Applying the same document again changes nothing.
    expect(((await importDoc(doc)).body as ImportAnswer).applied).toBe(false);
  });

  it("keeps a stored header value for an unfilled reference, refuses one for a new backend naming the variable", async () => {
    const before = await env.DB.prepare("SELECT headers_encrypted AS h FROM backends WHERE name = ?")
      .bind(B)
      .first<{ h: string }>();
    const doc = await exportDoc();
    const fresh = uniqueName("cfg-ref");
    doc.backends.push({
      name: fresh,
      url: "https://93.184.215.14/r",
      headers: { "X-Api": { secretRef: "MISSING_KEY" } },
    });
    const res = await importDoc(doc);
    expect(res.status).toBe(400);
    const details = errorOf(res.body).details ?? [];
    expect(details.map((d) => d.path)).toEqual([`backends.${doc.backends.length - 1}.headers.X-Api`]);
    expect(details[0]?.message).toContain("MISSING_KEY");

    doc.backends.pop();
    expect(((await importDoc(doc)).body as ImportAnswer).applied).toBe(false);
    const after = await env.DB.prepare("SELECT headers_encrypted AS h FROM backends WHERE name = ?")
      .bind(B)
      .first<{ h: string }>();
    expect(after?.h).toBe(before?.h);
  });

  it("validates the whole document first and names every problem by its path, writing nothing", async () => {
    const doc = await exportDoc();
    const before = await readVersion(env.DB);
    doc.backends.push({ name: uniqueName("cfg-bad"), url: "http://127.0.0.1:9/mcp" });
    doc.servers.push({ name: uniqueName("cfg-bad"), backends: ["no-such-backend"] });
    doc.plugins.push({ name: uniqueName("cfg-bad"), kind: "rate_limit", config: { limit: 1, windowSeconds: 0 } });
    doc.tokens.push({
      id: "tok_x",
      name: uniqueName("cfg-bad"),
      tokenPrefix: "mcpgw_x",
      tokenSha256: "0".repeat(64),
      scopes: ["mcp"],
      servers: ["no-such-server"],
    });
    const res = await importDoc(doc);
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(
      expect.arrayContaining([
        `backends.${doc.backends.length - 1}.url`,
        `servers.${doc.servers.length - 1}.backends.0`,
        `plugins.${doc.plugins.length - 1}.config.windowSeconds`,
        `tokens.${doc.tokens.length - 1}.servers.0`,
      ]),
    );
    expect(await readVersion(env.DB)).toBe(before);
  });

  it("refuses a document from a newer schema version for that reason alone", async () => {
    const res = await importDoc({
      schemaVersion: 2,
      backends: [],
      servers: [],
      plugins: [],
      tokens: [],
      futureThing: {},
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details).toEqual([
      {
        path: "schemaVersion",
        message: "is 2, newer than this gateway reads (up to 1): upgrade the gateway first",
      },
    ]);
  });

  it("replace deletes what the document leaves out; merge never does", async () => {
    const doc = await exportDoc();
    const without = { ...doc, plugins: doc.plugins.filter((p) => p.name !== RATE) };
    const merge = (await importDoc(without, "?dryRun=true")).body as ImportAnswer;
    expect(merge.changes.plugins.deleted).toEqual([]);
    const replace = (await importDoc(without, "?mode=replace&dryRun=true")).body as ImportAnswer;
    expect(replace.changes.plugins.deleted).toEqual([RATE]);
    const applied = await importDoc(without, "?mode=replace");
    expect((applied.body as ImportAnswer).applied).toBe(true);
    expect((await api("GET", `/api/plugins/${RATE}`)).status).toBe(404);
    // Put it back for the other tests.
    expect(((await importDoc(doc)).body as ImportAnswer).changes.plugins.created).toEqual([RATE]);
  });

  it("restores a deleted token with its hash: the same secret works again", async () => {
    const doc = await exportDoc();
    const id = String(doc.tokens.find((t) => t.name === TOKEN)?.id);
    expect((await api("DELETE", `/api/tokens/${id}`)).status).toBe(204);
    expect((await api("GET", "/api/backends", { token: tokenSecret })).status).toBe(401);
    expect(((await importDoc(doc)).body as ImportAnswer).changes.tokens.created).toEqual([TOKEN]);
    expect((await api("GET", "/api/backends", { token: tokenSecret })).status).toBe(200);
  });

  it("leaves nothing half-applied when the store fails mid-import", async () => {
    const doc = await exportDoc();
    doc.backends.push({ name: uniqueName("cfg-f"), url: "https://93.184.215.14/f" });
    (doc.servers.find((s) => s.name === S) as Record<string, unknown>).prefix = false;
    const before = JSON.stringify(await exportDoc());
    const fault: Fault = { mode: "fail", writesOnly: true, hits: 0 };
    const res = await fetchWith({ DB: faultyD1(env.DB, fault) }, "POST", "/api/config/import", { body: doc });
    expect(res.status).toBe(503);
    expect(fault.hits).toBeGreaterThan(0);
    expect(JSON.stringify(await exportDoc())).toBe(before);
  });
});
