// End to end: per-user upstream OAuth against a real authorization server (oidc-provider) protecting a real MCP backend: consent through URL-mode elicitation (2025 and 2026 clients), two users acting as themselves, refresh, revocation by the user and by an admin, a user who declines, and no token in any answer.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackendAuthServer,
  startBackendAuthServer,
  startWhoamiBackend,
  type WhoamiBackend,
} from "../fixtures/upstream-oauth";
import { adminCall, mcpPost, openSession } from "../helpers/admin-client";
import { browse, readForm } from "../helpers/browser";
import { type Gateway, startGateway } from "../helpers/gateway";

/** Access tokens live this long: long enough for one call, short enough to expire within the test. */
const TTL_SECONDS = 4;

let as: BackendAuthServer;
let backend: WhoamiBackend;
let gateway: Gateway;
let callback: string;
/** Every answer body the gateway gave in these tests (scanned for tokens at the end). */
const answers: string[] = [];

const users: Record<string, { token: string; id: string; session?: string }> = {};

async function admin(method: string, path: string, body?: unknown) {
  const res = await adminCall(gateway.url, gateway.adminToken, method, path, body);
  answers.push(JSON.stringify(res.json));
  return res;
}

async function asUser(user: string, method: string, path: string) {
  const res = await adminCall(gateway.url, users[user]?.token ?? "", method, path);
  answers.push(JSON.stringify(res.json));
  return res;
}

/** tools/call gh__whoami as `user` over a 2025 session; answers the JSON-RPC message. */
async function whoami(user: string): Promise<{
  result?: { content: Array<{ text: string }> };
  error?: { code: number; message: string; data?: unknown };
}> {
  const u = users[user];
  if (!u) throw new Error(`unknown user ${user}`);
  u.session ??= await openSession(`${gateway.url}/mcp`, u.token);
  const res = await mcpPost(
    `${gateway.url}/mcp`,
    { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "gh__whoami", arguments: {} } },
    { token: u.token, session: u.session, protocolVersion: "2025-11-25" },
  );
  answers.push(JSON.stringify(res.json));
  return res.json as never;
}

function elicitationUrl(reply: Awaited<ReturnType<typeof whoami>>): string {
  expect(reply.error?.code).toBe(-32042);
  const data = reply.error?.data as { elicitations: Array<{ mode: string; url: string; elicitationId: string }> };
  expect(data.elicitations).toHaveLength(1);
  const [elicitation] = data.elicitations;
  expect(elicitation?.mode).toBe("url");
  expect(elicitation?.elicitationId).toMatch(/^[0-9a-f]{32}$/);
  expect(elicitation?.url.startsWith(`${gateway.url}/oauth/upstream/start?state=`)).toBe(true);
  return elicitation?.url ?? "";
}

/** Signs `login` in at the authorization server and consents; answers the gateway's final page. */
async function consent(link: string, login: string): Promise<{ status: number; text: string }> {
  const visit = await browse(link, callback, { fields: { login, password: "x" } });
  const res = await fetch(visit.final);
  const text = await res.text();
  answers.push(text);
  return { status: res.status, text };
}

/** Opens the link and presses the authorization server's "Cancel" (abort) link instead of signing in. */
async function decline(link: string): Promise<{ status: number; text: string }> {
  const jar = new Map<string, string>();
  let url = new URL(link);
  for (let step = 0; step < 15; step++) {
    if (url.toString().startsWith(callback)) {
      const res = await fetch(url);
      const text = await res.text();
      answers.push(text);
      return { status: res.status, text };
    }
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = res.headers.get("location");
    if (location) {
      await res.body?.cancel();
      url = new URL(location, url);
      continue;
    }
    const html = await res.text();
    const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
    if (abort) {
      url = new URL(abort, url);
      continue;
    }
    // The gateway's confirmation page: continue to the authorization server.
    const form = readForm(html, {});
    if (form?.method !== "POST") throw new Error(`no abort link or form at ${url}`);
    const posted = await fetch(new URL(form.action, url), {
      method: "POST",
      body: form.body,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    });
    await posted.body?.cancel();
    url = new URL(posted.headers.get("location") ?? "", url);
  }
  throw new Error("decline flow did not reach the callback");
}

beforeAll(async () => {
  as = await startBackendAuthServer(TTL_SECONDS);
  backend = await startWhoamiBackend(as.issuer);
  gateway = await startGateway();
  callback = `${gateway.url}/oauth/upstream/callback`;
  as.register(callback);
  const created = await admin("POST", "/api/backends", {
    name: "gh",
    url: backend.url,
    auth: { type: "oauth", clientId: as.clientId, clientSecret: as.clientSecret, scopes: ["whoami"] },
  });
  expect(created.status).toBe(201);
  for (const name of ["alice", "bob", "carol"]) {
    const t = await admin("POST", "/api/tokens", { name, scopes: ["mcp"] });
    const { token, id } = t.json as { token: string; id: string };
    users[name] = { token, id };
  }
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await as?.close();
});

describe("upstream OAuth, per user", () => {
  it("shows the client secret masked, never its value", async () => {
    const res = await admin("GET", "/api/backends/gh");
    expect((res.json as { auth: { clientSecret: string; clientId: string } }).auth).toMatchObject({
      clientId: as.clientId,
      clientSecret: "********",
    });
    expect(JSON.stringify(res.json)).not.toContain(as.clientSecret);
  });

  it("asks a user without a token to connect (URL-mode elicitation), and nothing reached the backend with a gateway credential", async () => {
    const reply = await whoami("alice");
    elicitationUrl(reply);
    expect(reply.error?.message).toContain("gh");
    for (const sent of backend.bearers) expect(sent.startsWith("mcpgw_")).toBe(false);
    expect(backend.accepted).toEqual([]);
  });

  it("the link first names the gateway user and the backend, and continues only by the page's own form", async () => {
    const link = elicitationUrl(await whoami("alice"));
    const page = await fetch(link);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain("<strong>alice</strong>");
    expect(html).toContain('action="/oauth/upstream/start"');
    const form = readForm(html, {});
    const crossSite = await fetch(`${gateway.url}/oauth/upstream/start`, {
      method: "POST",
      body: form?.body,
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      redirect: "manual",
    });
    expect(crossSite.status).toBe(400);
    const sameSite = await fetch(`${gateway.url}/oauth/upstream/start`, {
      method: "POST",
      body: form?.body,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    });
    expect(sameSite.status).toBe(302);
    const to = new URL(sameSite.headers.get("location") ?? "");
    expect(to.origin).toBe(as.issuer);
    expect(to.searchParams.get("code_challenge_method")).toBe("S256");
    expect(to.searchParams.get("resource")).toBe(backend.url);
    expect(to.searchParams.get("redirect_uri")).toBe(callback);
  });

  it("two users connect through the consent page and each acts as themselves", async () => {
    for (const user of ["alice", "bob"]) {
      const page = await consent(elicitationUrl(await whoami(user)), user);
      expect(page.status).toBe(200);
      expect(page.text).toContain("Connected");
    }
    expect((await whoami("alice")).result?.content[0]?.text).toBe("alice");
    expect((await whoami("bob")).result?.content[0]?.text).toBe("bob");
    expect((await whoami("alice")).result?.content[0]?.text).toBe("alice");
    // Only upstream tokens reached the backend: never a gateway API token.
    for (const sent of backend.bearers) expect(sent.startsWith("mcpgw_")).toBe(false);
  });

  it("a consent link completes once: replaying its callback stores nothing new", async () => {
    const link = elicitationUrl(await whoami("carol"));
    const visit = await browse(link, callback, { fields: { login: "carol", password: "x" } });
    expect((await fetch(visit.final)).status).toBe(200);
    const replay = await fetch(visit.final);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain("already");
    expect((await whoami("carol")).result?.content[0]?.text).toBe("carol");
  });

  it("lists a user's own connections without any token", async () => {
    const res = await asUser("alice", "GET", "/api/me/connections");
    expect(res.status).toBe(200);
    const list = (res.json as { connections: Array<{ backend: string; expiresAt: number }> }).connections;
    expect(list.map((c) => c.backend)).toEqual(["gh"]);
    expect(list[0]?.expiresAt).toBeGreaterThan(0);
  });

  it("refreshes an expired access token once (single-flight) for concurrent calls, still as the same user", async () => {
    const before = new Set(backend.bearers);
    await new Promise((r) => setTimeout(r, (TTL_SECONDS + 1) * 1000));
    // Refresh tokens rotate and a reused one revokes the grant: two refreshes would disconnect alice.
    const replies = await Promise.all([1, 2, 3, 4].map(() => whoami("alice")));
    expect(replies.map((r) => r.result?.content[0]?.text)).toEqual(["alice", "alice", "alice", "alice"]);
    expect((await whoami("alice")).result?.content[0]?.text).toBe("alice");
    const fresh = backend.bearers.filter((t) => !before.has(t));
    expect(fresh.length).toBeGreaterThan(0);
    const res = await asUser("alice", "GET", "/api/me/connections");
    const [conn] = (res.json as { connections: Array<{ refreshedAt: number | null }> }).connections;
    expect(conn?.refreshedAt).not.toBeNull();
  });

  it("a user who declines at the authorization server gets a clear page and nothing is stored", async () => {
    const dave = await admin("POST", "/api/tokens", { name: "dave", scopes: ["mcp"] });
    users.dave = dave.json as { token: string; id: string };
    const page = await decline(elicitationUrl(await whoami("dave")));
    expect(page.status).toBe(200);
    expect(page.text).toContain("declined");
    expect((await whoami("dave")).error?.code).toBe(-32042);
    expect((await asUser("dave", "GET", "/api/me/connections")).json).toEqual({ connections: [] });
  });

  it("a 2026 client gets an input request, and declining it is a clear error", async () => {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": { elicitation: { url: {} } },
    };
    const post = (params: Record<string, unknown>) =>
      mcpPost(
        `${gateway.url}/mcp`,
        {
          jsonrpc: "2.0",
          id: 9,
          method: "tools/call",
          params: { name: "gh__whoami", arguments: {}, _meta: meta, ...params },
        },
        {
          token: users.dave?.token ?? "",
          protocolVersion: "2026-07-28",
          headers: { "mcp-method": "tools/call", "mcp-name": "gh__whoami" },
        },
      );
    const first = await post({});
    answers.push(JSON.stringify(first.json));
    const result = (first.json as { result: Record<string, unknown> }).result;
    expect(result.resultType).toBe("input_required");
    const asked = (result.inputRequests as Record<string, { method: string; params: { mode: string; url: string } }>)
      .mcpgw_upstream_authorization;
    expect(asked?.method).toBe("elicitation/create");
    expect(asked?.params.mode).toBe("url");
    expect(asked?.params.url.startsWith(`${gateway.url}/oauth/upstream/start?state=`)).toBe(true);
    const declined = await post({ inputResponses: { mcpgw_upstream_authorization: { action: "decline" } } });
    const error = (declined.json as { error: { message: string; data: { reason: string } } }).error;
    expect(error.data.reason).toBe("consent-declined");
  });

  it("a user revokes their own connection: the next call asks again, the other user is unaffected", async () => {
    expect((await asUser("alice", "DELETE", "/api/me/connections/gh")).status).toBe(200);
    expect((await asUser("alice", "DELETE", "/api/me/connections/gh")).status).toBe(404);
    expect((await whoami("alice")).error?.code).toBe(-32042);
    expect((await whoami("bob")).result?.content[0]?.text).toBe("bob");
  });

  it("an admin lists and revokes anyone's connection; a user cannot use the admin route", async () => {
    const listed = await admin("GET", "/api/connections?backend=gh");
    const rows = (listed.json as { connections: Array<{ user: string }> }).connections;
    expect(rows.map((r) => r.user).sort()).toEqual([users.bob?.id, users.carol?.id].sort());
    expect((await asUser("bob", "GET", "/api/connections")).status).toBe(403);
    const bob = users.bob?.id ?? "";
    expect((await admin("DELETE", `/api/connections?user=${encodeURIComponent(bob)}&backend=gh`)).status).toBe(200);
    expect((await whoami("bob")).error?.code).toBe(-32042);
  });

  it("client_credentials: one token for the backend, shared by design, no consent asked", async () => {
    const shared = await admin("POST", "/api/backends", {
      name: "shared",
      url: backend.url,
      auth: {
        type: "oauth",
        grant: "client_credentials",
        issuer: as.issuer,
        clientId: as.clientId,
        clientSecret: as.clientSecret,
        scopes: ["whoami"],
      },
    });
    expect(shared.status).toBe(201);
    for (const user of ["alice", "bob"]) {
      const u = users[user];
      const res = await mcpPost(
        `${gateway.url}/mcp`,
        { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "shared__whoami", arguments: {} } },
        { token: u?.token ?? "", session: u?.session ?? "", protocolVersion: "2025-11-25" },
      );
      answers.push(JSON.stringify(res.json));
      expect((res.json as { result: { content: Array<{ text: string }> } }).result.content[0]?.text).toBe(as.clientId);
    }
    // Nobody's personal connection: the shared token is not listed as anyone's.
    expect((await asUser("alice", "GET", "/api/me/connections")).json).toEqual({ connections: [] });
  });

  it("tokens are sealed under the key ring (GET /api/keys names them by key id)", async () => {
    const res = await admin("GET", "/api/keys");
    const secrets = (res.json as { current: string; secrets: Array<{ kind: string; name: string; keyId: string }> })
      .secrets;
    const current = (res.json as { current: string }).current;
    expect(secrets).toContainEqual({ kind: "upstream-token", name: `${users.carol?.id} gh`, keyId: current });
    expect(secrets).toContainEqual({ kind: "client-secret", name: "gh", keyId: current });
    // The client-credentials backend's shared token too.
    expect(secrets).toContainEqual({ kind: "upstream-token", name: "client:shared shared", keyId: current });
  });

  it("no upstream token, refresh token or client secret appears in any answer or span", async () => {
    const spans = await admin("GET", "/api/spans?limit=200");
    expect(spans.status).toBe(200);
    const everything = answers.join("\n");
    expect(backend.bearers.length).toBeGreaterThan(3);
    for (const token of new Set(backend.bearers)) expect(everything).not.toContain(token);
    expect(everything).not.toContain(as.clientSecret);
  });
});
