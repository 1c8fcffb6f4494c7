// Covers teams, roles and visibility on the admin API and MCP (list/call agree), team-scoped plugins, and the audit log with secrets redacted.
import { createScheduledController, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { api, errorOf, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

const V = "2026-07-28";

async function rpc(path: string, method: string, token: string, params: Record<string, unknown> = {}) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": V,
    "mcp-method": method,
    authorization: `Bearer ${token}`,
  };
  if (typeof params.name === "string") headers["mcp-name"] = params.name;
  const meta = { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} };
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: meta } }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : null) as {
      result?: Record<string, unknown>;
      error?: { code: number; message: string };
    } | null,
  };
}

function names(list: unknown, key = "name"): string[] {
  return ((list ?? []) as Array<Record<string, string>>).map((i) => i[key] ?? "");
}

async function token(body: Record<string, unknown>, as?: string): Promise<string> {
  const res = await api("POST", "/api/tokens", { body: { name: uniqueName("tk"), ...body }, ...(as && { token: as }) });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${res.text}`);
  return (res.body as { token: string }).token;
}

const teamA = uniqueName("ta");
const teamB = uniqueName("tb");
let adminA: string;
let devA: string;
let viewerA: string;
let devB: string;
let backA: FakeBackend;
let backB: FakeBackend;
const nameA = uniqueName("ba");
const nameB = uniqueName("bb");
const privateB = uniqueName("pb");

beforeAll(async () => {
  for (const team of [teamA, teamB])
    expect((await api("POST", "/api/teams", { body: { name: team } })).status).toBe(201);
  adminA = await token({ scopes: ["mcp", "admin"], team: teamA, role: "team_admin" });
  devA = await token({ scopes: ["mcp", "admin"], team: teamA, role: "developer" });
  viewerA = await token({ scopes: ["mcp", "admin"], team: teamA, role: "viewer" });
  devB = await token({ scopes: ["mcp", "admin"], team: teamB, role: "developer" });
  const adminB = await token({ scopes: ["mcp", "admin"], team: teamB, role: "team_admin" });
  backA = fakeBackend(`https://93.184.215.14/${nameA}/mcp`, ["echo"]);
  backB = fakeBackend(`https://93.184.215.14/${nameB}/mcp`, ["echo", "secret-op"]);
  // Team admins create in their own team by default, visible to the team.
  const a = await api("POST", "/api/backends", { body: { name: nameA, url: backA.url }, token: adminA });
  expect(a.status).toBe(201);
  expect(a.body).toMatchObject({ team: teamA, visibility: "team" });
  const b = await api("POST", "/api/backends", {
    body: { name: nameB, url: backB.url, visibility: "private", headers: { Authorization: "Bearer upstream-s3cret" } },
    token: adminB,
  });
  expect(b.status).toBe(201);
  const s = await api("POST", "/api/servers", {
    body: { name: privateB, backends: [nameB], visibility: "private" },
    token: adminB,
  });
  expect(s.status).toBe(201);
  // adminB owns the private objects: give devB its own access by making the server team-visible for the last test.
  expect(devB).toBeTruthy();
});

afterAll(() => {
  backA.close();
  backB.close();
});

describe("admin API", () => {
  it("a developer of team A cannot see, list or edit team B's private server or backend", async () => {
    expect((await api("GET", `/api/servers/${privateB}`, { token: devA })).status).toBe(404);
    expect((await api("GET", `/api/backends/${nameB}`, { token: devA })).status).toBe(404);
    expect((await api("PATCH", `/api/servers/${privateB}`, { token: devA, body: { prefix: false } })).status).toBe(404);
    expect((await api("DELETE", `/api/backends/${nameB}`, { token: devA })).status).toBe(404);
    const servers = await api("GET", "/api/servers", { token: devA });
    expect(names(servers.body)).not.toContain(privateB);
    expect(names((await api("GET", "/api/backends", { token: devA })).body)).toContain(nameA);
    expect(names((await api("GET", "/api/backends", { token: devA })).body)).not.toContain(nameB);
    // Nor name it in a server of its own.
    const ref = await api("POST", "/api/servers", {
      token: adminA,
      body: { name: uniqueName("s"), backends: [nameB] },
    });
    expect(ref.status).toBe(400);
    expect(errorOf(ref.body).details?.[0]).toMatchObject({ path: "backends.0", message: `unknown backend '${nameB}'` });
  });

  it("developers and viewers read their team's objects; only team admins change them", async () => {
    expect((await api("GET", `/api/backends/${nameA}`, { token: devA })).status).toBe(200);
    expect((await api("GET", `/api/backends/${nameA}`, { token: viewerA })).status).toBe(200);
    expect((await api("PATCH", `/api/backends/${nameA}`, { token: devA, body: { timeoutMs: 5000 } })).status).toBe(403);
    expect((await api("PATCH", `/api/backends/${nameA}`, { token: viewerA, body: { timeoutMs: 5000 } })).status).toBe(
      403,
    );
    expect((await api("PATCH", `/api/backends/${nameA}`, { token: adminA, body: { timeoutMs: 5000 } })).status).toBe(
      200,
    );
    // Nobody but a platform admin creates platform-owned objects or moves objects to a team it does not administer.
    const global = await api("POST", "/api/backends", {
      token: adminA,
      body: { name: uniqueName("g"), url: backA.url, team: null },
    });
    expect(global.status).toBe(403);
    const move = await api("PATCH", `/api/backends/${nameA}`, { token: adminA, body: { team: teamB } });
    expect(move.status).toBe(403);
  });

  it("team tokens: a team admin mints tokens for its team only, never platform admins; platform routes are closed", async () => {
    expect(
      (
        await api("POST", "/api/tokens", {
          token: adminA,
          body: { name: uniqueName("x"), scopes: ["mcp"], team: teamB },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api("POST", "/api/tokens", {
          token: adminA,
          body: { name: uniqueName("x"), scopes: ["admin"], role: "platform_admin" },
        })
      ).status,
    ).toBe(400);
    const minted = await api("POST", "/api/tokens", {
      token: adminA,
      body: { name: uniqueName("x"), scopes: ["mcp"] },
    });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ team: teamA });
    const listed = names((await api("GET", "/api/tokens", { token: adminA })).body);
    expect(listed).toContain((minted.body as { name: string }).name);
    expect(listed.length).toBeLessThan(names((await api("GET", "/api/tokens")).body).length);
    for (const path of ["/api/keys", "/api/spans"])
      expect((await api("GET", path, { token: adminA })).status).toBe(403);
    expect((await api("POST", "/api/teams", { token: adminA, body: { name: uniqueName("t") } })).status).toBe(403);
  });

  it("teams and members: team admins manage members; others see only their own teams", async () => {
    const put = await api("PUT", `/api/teams/${teamA}/members/oauth:idp:carol`, {
      token: adminA,
      body: { role: "developer" },
    });
    expect(put.status).toBe(200);
    expect(names((await api("GET", `/api/teams/${teamA}/members`, { token: devA })).body, "subject")).toContain(
      "oauth:idp:carol",
    );
    expect((await api("PUT", `/api/teams/${teamA}/members/x`, { token: devA, body: { role: "viewer" } })).status).toBe(
      403,
    );
    expect((await api("GET", `/api/teams/${teamB}`, { token: devA })).status).toBe(404);
    expect(names((await api("GET", "/api/teams", { token: devA })).body)).toEqual([teamA]);
    const busy = await api("DELETE", `/api/teams/${teamA}`);
    expect(busy.status).toBe(409);
  });

  it("the OpenAPI document describes teams, members, the audit log and ownership fields", async () => {
    const doc = (await api("GET", "/api/openapi.json")).body as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/teams", "/teams/{team}", "/teams/{team}/members/{subject}", "/audit"]),
    );
    for (const schema of ["BackendCreate", "ServerCreate"]) {
      expect(Object.keys(doc.components.schemas[schema]?.properties ?? {})).toEqual(
        expect.arrayContaining(["team", "visibility"]),
      );
    }
    expect(Object.keys(doc.components.schemas.TokenCreate?.properties ?? {})).toEqual(
      expect.arrayContaining(["team", "role"]),
    );
    expect(doc.components.schemas.AuditRecord).toBeDefined();
  });
});

describe("MCP", () => {
  it("listing and calling agree: team A's developer neither lists nor calls team B's private tools, on /mcp or the server", async () => {
    const tools = names((await rpc("/mcp", "tools/list", devA)).body?.result?.tools);
    expect(tools).toContain(`${nameA}__echo`);
    expect(tools.filter((t) => t.startsWith(nameB))).toEqual([]);
    const call = await rpc("/mcp", "tools/call", devA, { name: `${nameB}__secret-op`, arguments: {} });
    expect(call.body?.error?.message).toContain("Unknown tool");
    expect(backB.received).not.toContain("tools/call");
    expect((await rpc(`/servers/${privateB}/mcp`, "tools/list", devA)).status).toBe(404);
  });

  it("a viewer reads but does not use its team's objects; the owner of a private server lists and calls it", async () => {
    expect(names((await rpc("/mcp", "tools/list", viewerA)).body?.result?.tools)).not.toContain(`${nameA}__echo`);
    // devB is not the owner of the private backend: it sees nothing of it either.
    expect(names((await rpc("/mcp", "tools/list", devB)).body?.result?.tools)).not.toContain(`${nameB}__echo`);
    expect((await rpc(`/servers/${privateB}/mcp`, "tools/list", devB)).status).toBe(404);
  });
});

describe("plugins owned by a team", () => {
  it("apply only to calls to that team's backends", async () => {
    const plugin = uniqueName("pl");
    const res = await api("POST", "/api/plugins", {
      token: adminA,
      body: { name: plugin, kind: "deny_list", hooks: ["tool_pre_invoke"], config: { words: ["forbidden"] } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ team: teamA });
    const ownCall = await rpc("/mcp", "tools/call", devA, { name: `${nameA}__echo`, arguments: { text: "forbidden" } });
    expect(ownCall.body?.error?.code).toBe(-32011);
    const admin = "test-admin-token";
    const other = await rpc("/mcp", "tools/call", admin, { name: `${nameB}__echo`, arguments: { text: "forbidden" } });
    expect(other.body?.error).toBeUndefined();
    expect((await api("DELETE", `/api/plugins/${plugin}`, { token: devA })).status).toBe(403);
    expect((await api("DELETE", `/api/plugins/${plugin}`, { token: adminA })).status).toBe(204);
  });
});

describe("audit log", () => {
  it("records every write with who, what (a diff with secrets redacted) and when; team admins read their team's", async () => {
    const secret = "Bearer audit-s3cret-value";
    const name = uniqueName("au");
    expect(
      (
        await api("POST", "/api/backends", {
          token: adminA,
          body: { name, url: backA.url, headers: { Authorization: secret } },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api("PATCH", `/api/backends/${name}`, {
          token: adminA,
          body: { timeoutMs: 7000, headers: { Authorization: `${secret}-2` } },
        })
      ).status,
    ).toBe(200);
    expect((await api("DELETE", `/api/backends/${name}`, { token: adminA })).status).toBe(204);
    const minted = await api("POST", "/api/tokens", {
      token: adminA,
      body: { name: uniqueName("x"), scopes: ["mcp"] },
    });
    const page = await api("GET", `/api/audit?objectId=${name}`, { token: adminA });
    expect(page.status).toBe(200);
    const items = (page.body as { items: Array<Record<string, unknown>> }).items;
    expect(items.map((i) => i.method)).toEqual(["DELETE", "PATCH", "POST"]);
    expect(items[1]).toMatchObject({
      objectType: "backend",
      team: teamA,
      route: `/api/backends/${name}`,
      diff: { timeoutMs: { from: 30000, to: 7000 }, headersEncrypted: { from: "[redacted]", to: "[redacted]" } },
    });
    expect(items[2]?.subject).toMatch(/^tok_/);
    expect(items[2]?.tokenId).toBe(items[2]?.subject);
    const all = await api("GET", "/api/audit?limit=500");
    expect(all.text).not.toContain("audit-s3cret");
    expect(all.text).not.toContain((minted.body as { token: string }).token);
    // Team B's records are not team A's to read; developers read none.
    const own = (await api("GET", "/api/audit?limit=500", { token: adminA })).body as {
      items: Array<{ team: string }>;
    };
    expect(new Set(own.items.map((i) => i.team))).toEqual(new Set([teamA]));
    expect((await api("GET", "/api/audit", { token: devA })).status).toBe(403);
  });

  it("pages with a cursor and filters by object type", async () => {
    for (let i = 0; i < 3; i++) await api("POST", "/api/teams", { body: { name: uniqueName("pg") } });
    const first = (await api("GET", "/api/audit?objectType=team&limit=2")).body as {
      items: Array<{ id: string; objectType: string }>;
      nextCursor: string;
    };
    expect(first.items).toHaveLength(2);
    expect(first.items.every((i) => i.objectType === "team")).toBe(true);
    const second = (
      await api("GET", `/api/audit?objectType=team&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)
    ).body as { items: Array<{ id: string }> };
    expect(second.items.length).toBeGreaterThan(0);
    expect((second.items[0]?.id ?? "") < (first.items[1]?.id ?? "")).toBe(true);
  });

  it("is retained like spans: the daily cron deletes records past the retention", async () => {
    const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
    await env.DB.prepare(
      "INSERT INTO audit_log (id, at, subject, method, route, object_type, status, diff) VALUES (?, ?, 'admin', 'POST', '/api/x', 'x', 201, '{}')",
    )
      .bind(`${old}_old`, old)
      .run();
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log").first<{ n: number }>();
    await worker.scheduled(createScheduledController(), env);
    const gone = await env.DB.prepare("SELECT id FROM audit_log WHERE id = ?").bind(`${old}_old`).first();
    expect(gone).toBeNull();
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log").first<{ n: number }>();
    expect(after?.n).toBe((before?.n ?? 0) - 1);
  });
});
