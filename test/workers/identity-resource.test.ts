// Covers the OAuth resource server inside workerd: RFC 9728 metadata, 401/403 challenges, JWT validation (audience, expiry, keys, algorithms, scopes) and claims mapped to teams.
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayOrigin } from "../../src/auth/oauth/resource";
import { ADMIN, api, uniqueName } from "./helpers";
import { startIdp, type TestIdp } from "./idp";
import { type FakeBackend, fakeBackend } from "./outbound";

const ORIGIN = "http://localhost";
const V = "2026-07-28";

interface Reply {
  status: number;
  headers: Headers;
  body: { result?: Record<string, unknown>; error?: { code: number; message: string } } | null;
}

/** One stateless 2026 request (no session needed). */
async function rpc(path: string, method: string, token: string | null, params: Record<string, unknown> = {}) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": V,
    "mcp-method": method,
  };
  if (typeof params.name === "string") headers["mcp-name"] = params.name;
  if (token) headers.authorization = `Bearer ${token}`;
  const body = {
    jsonrpc: "2.0",
    id: 1,
    method,
    params: {
      ...params,
      _meta: { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} },
    },
  };
  const res = await exports.default.fetch(`${ORIGIN}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null } as Reply;
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await exports.default.fetch(`${ORIGIN}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

function toolNames(reply: Reply): string[] {
  return ((reply.body?.result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
}

let idp: TestIdp;
let disc: TestIdp;
let server: string;

beforeAll(async () => {
  idp = await startIdp("https://idp.test", { jwksPath: "/jwks" });
  disc = await startIdp("https://disc.test/tenant", { jwksPath: "/keys", discovery: true });
  server = uniqueName("srv");
  expect((await api("POST", "/api/servers", { body: { name: server } })).status).toBe(201);
});

afterAll(() => {
  idp.close();
  disc.close();
});

describe("RFC 9728 protected resource metadata", () => {
  it("describes /mcp at the root and path-inserted URLs, with every trusted issuer", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.body).toMatchObject({
        resource: `${ORIGIN}/mcp`,
        authorization_servers: ["https://idp.test", "https://disc.test/tenant"],
        scopes_supported: ["mcp"],
        bearer_methods_supported: ["header"],
      });
    }
  });

  it("describes each virtual server and the admin API as their own resources; unknown servers are 404", async () => {
    expect((await get(`/.well-known/oauth-protected-resource/servers/${server}/mcp`)).body.resource).toBe(
      `${ORIGIN}/servers/${server}/mcp`,
    );
    const apiDoc = await get("/.well-known/oauth-protected-resource/api");
    expect(apiDoc.body).toMatchObject({ resource: `${ORIGIN}/api`, scopes_supported: ["admin"] });
    expect((await get("/.well-known/oauth-protected-resource/servers/nope-x/mcp")).status).toBe(404);
  });
});

describe("the origin resource identifiers are built on", () => {
  it("is PUBLIC_URL's origin when valid, else the request's, per host however often asked", () => {
    expect(gatewayOrigin({ PUBLIC_URL: "https://gw.example.com/base/" }, "http://other:8787/mcp")).toBe(
      "https://gw.example.com",
    );
    expect(gatewayOrigin({ PUBLIC_URL: "not a url" }, "http://host-a:8787/mcp")).toBe("http://host-a:8787");
    // The origin cache is keyed by scheme and authority: a second host never gets the first one's origin.
    for (let i = 0; i < 3; i++) {
      expect(gatewayOrigin({}, "http://host-a:8787/servers/x/mcp?y=1")).toBe("http://host-a:8787");
      expect(gatewayOrigin({}, "http://host-b/mcp")).toBe("http://host-b");
      expect(gatewayOrigin({}, "https://host-b/mcp")).toBe("https://host-b");
    }
    expect(gatewayOrigin({}, "http://user:secret@host-c:80/mcp")).toBe("http://host-c");
    for (let i = 0; i < 100; i++) expect(gatewayOrigin({}, `http://h${i}.example/mcp`)).toBe(`http://h${i}.example`);
  });
});

describe("challenges", () => {
  it("a bare 401 names the endpoint's metadata and scope (what the Inspector discovers from)", async () => {
    const res = await rpc("/mcp", "tools/list", null);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource/mcp", scope="mcp"`,
    );
    const perServer = await rpc(`/servers/${server}/mcp`, "tools/list", null);
    expect(perServer.headers.get("www-authenticate")).toContain(
      `resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource/servers/${server}/mcp"`,
    );
    const admin = await api("GET", "/api/backends", { token: null });
    expect(admin.headers.get("www-authenticate")).toContain("/.well-known/oauth-protected-resource/api");
  });

  it("a bad token is invalid_token; a valid one without the mcp scope is 403 insufficient_scope", async () => {
    const bad = await rpc("/mcp", "tools/list", "not-a-token");
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", resource_metadata=/);
    const adminOnly = await api("POST", "/api/tokens", { body: { name: uniqueName("ao"), scopes: ["admin"] } });
    const res = await rpc("/mcp", "tools/list", (adminOnly.body as { token: string }).token);
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="insufficient_scope", .*scope="mcp"/);
  });
});

describe("JWT access tokens", () => {
  const aud = `${ORIGIN}/mcp`;

  it("accepts a token for this endpoint, from a JWKS URL and from OIDC discovery", async () => {
    expect((await rpc("/mcp", "tools/list", await idp.sign({ aud }))).status).toBe(200);
    // The discovered issuer grants `mcp` to every token (grantScopes), so it needs no scope claim.
    expect((await rpc("/mcp", "tools/list", await disc.sign({ aud, scope: undefined }))).status).toBe(200);
  });

  it("refuses a token for another resource, never passing it on (RFC 8707)", async () => {
    const forServer = await idp.sign({ aud: `${ORIGIN}/servers/${server}/mcp` });
    expect((await rpc("/mcp", "tools/list", forServer)).status).toBe(401);
    expect((await rpc(`/servers/${server}/mcp`, "tools/list", forServer)).status).toBe(200);
    expect((await rpc("/mcp", "tools/list", await idp.sign({ aud: "https://elsewhere.example/mcp" }))).status).toBe(
      401,
    );
  });

  it("refuses expired, not-yet-valid, tampered, unknown-issuer, unsigned and HMAC tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      await idp.sign({ aud, exp: now - 120 }),
      await idp.sign({ aud, nbf: now + 600 }),
      `${(await idp.sign({ aud })).slice(0, -4)}AAAA`,
      await idp.sign({ aud, iss: "https://evil.test" }),
      `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${btoa(
        JSON.stringify({ iss: "https://idp.test", sub: "x", aud, exp: now + 60, scope: "mcp" }),
      ).replace(/=+$/, "")}.`,
    ];
    for (const token of cases) {
      const res = await rpc("/mcp", "tools/list", token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
    const hmacKey = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("k".repeat(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const hs = await idp.sign({ aud }, { alg: "HS256", key: hmacKey as CryptoKey });
    expect((await rpc("/mcp", "tools/list", hs)).status).toBe(401);
  });

  it("an unknown key id refetches the JWKS at most once per cooldown, however many tokens ask", async () => {
    await rpc("/mcp", "tools/list", await idp.sign({ aud }));
    const before = idp.jwksFetches();
    const forged = await Promise.all(
      Array.from({ length: 5 }, (_, i) => idp.sign({ aud, sub: `s${i}` }, { kid: `k-${i}`, key: idp.stray })),
    );
    const answers = await Promise.all(forged.map((t) => rpc("/mcp", "tools/list", t)));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(idp.jwksFetches() - before).toBeLessThanOrEqual(1);
  });

  it("a token without the mcp scope is 403 insufficient_scope; the admin API wants its own audience and scope", async () => {
    const res = await rpc("/mcp", "tools/list", await idp.sign({ aud, scope: "openid" }));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    // The helpers' admin calls go to http://gateway.test, so that is the admin API's resource.
    const apiAud = "http://gateway.test/api";
    const root = await idp.sign({ aud: apiAud, scope: "admin", groups: ["root"], sub: "root-user" });
    expect((await api("GET", "/api/backends", { token: root })).status).toBe(200);
    const wrongAud = await idp.sign({ aud, scope: "admin", groups: ["root"] });
    expect((await api("GET", "/api/backends", { token: wrongAud })).status).toBe(401);
    const noScope = await idp.sign({ aud: apiAud, scope: "mcp", groups: ["root"] });
    expect((await api("GET", "/api/backends", { token: noScope })).status).toBe(403);
  });
});

describe("identity reaches MCP listings and calls", () => {
  let mine: FakeBackend;
  let theirs: FakeBackend;
  let mineName: string;
  let theirsName: string;

  beforeAll(async () => {
    for (const team of ["eng", "ops"]) {
      const res = await api("POST", "/api/teams", { body: { name: team } });
      expect([201, 409]).toContain(res.status);
    }
    mineName = uniqueName("eng");
    theirsName = uniqueName("ops");
    mine = fakeBackend(`https://93.184.215.14/${mineName}/mcp`, ["echo"]);
    theirs = fakeBackend(`https://93.184.215.14/${theirsName}/mcp`, ["echo"]);
    for (const [name, url, team] of [
      [mineName, mine.url, "eng"],
      [theirsName, theirs.url, "ops"],
    ] as const) {
      const res = await api("POST", "/api/backends", { body: { name, url, team, visibility: "team" } });
      expect(res.status).toBe(201);
    }
  });

  afterAll(() => {
    mine.close();
    theirs.close();
  });

  it("a JWT whose groups claim maps to team eng lists and calls eng's backend, never ops'", async () => {
    const eng = await idp.sign({ aud, groups: ["eng-devs"], sub: "dev-1" });
    const tools = toolNames(await rpc("/mcp", "tools/list", eng));
    expect(tools).toContain(`${mineName}__echo`);
    expect(tools).not.toContain(`${theirsName}__echo`);
    const call = await rpc("/mcp", "tools/call", eng, { name: `${mineName}__echo`, arguments: { text: "hi" } });
    expect(call.body?.result).toBeDefined();
    const refused = await rpc("/mcp", "tools/call", eng, { name: `${theirsName}__echo`, arguments: { text: "hi" } });
    expect(refused.body?.error?.message).toContain("Unknown tool");
    expect(theirs.received).not.toContain("tools/call");
    // The admin token still sees everything.
    expect(toolNames(await rpc("/mcp", "tools/list", ADMIN))).toEqual(
      expect.arrayContaining([`${mineName}__echo`, `${theirsName}__echo`]),
    );
  });

  const aud = `${ORIGIN}/mcp`;
});
