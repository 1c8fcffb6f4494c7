// End to end: RFC 8693 token exchange for a backend: each caller's own gateway JWT (from a trusted issuer) is exchanged at the backend's authorization server for a token of their own, which never reaches the backend itself; a caller without such a token gets a clear error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockIssuer, startMockIssuer } from "../fixtures/identity-providers";
import { startTokenExchangeServer, type TokenExchangeServer } from "../fixtures/token-exchange-server";
import { startWhoamiBackend, type WhoamiBackend } from "../fixtures/upstream-oauth";
import { adminCall, mcpPost } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let mock: MockIssuer;
let exchange: TokenExchangeServer;
let backend: WhoamiBackend;
let gateway: Gateway;

/** A gateway JWT for `sub`, from the trusted issuer, for the gateway's /mcp resource. */
function callerToken(sub: string): Promise<string> {
  return mock.server.issuer.buildToken({
    scopesOrTransform: (_h, p) => Object.assign(p, { aud: `${gateway.url}/mcp`, scope: "mcp", sub }),
  });
}

/** A stateless 2026 tools/call of tx__whoami (no session: every call carries the caller's token). */
async function whoami(token: string) {
  const res = await mcpPost(
    `${gateway.url}/mcp`,
    {
      jsonrpc: "2.0",
      id: 4,
      method: "tools/call",
      params: {
        name: "tx__whoami",
        arguments: {},
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    },
    { token, protocolVersion: "2026-07-28", headers: { "mcp-method": "tools/call", "mcp-name": "tx__whoami" } },
  );
  return res.json as { result?: { content: Array<{ text: string }> }; error?: { code: number; message: string } };
}

beforeAll(async () => {
  mock = await startMockIssuer();
  exchange = await startTokenExchangeServer(mock.issuer);
  backend = await startWhoamiBackend(exchange.issuer);
  gateway = await startGateway({ vars: { OAUTH_ISSUERS: JSON.stringify([{ name: "mock", issuer: mock.issuer }]) } });
  const created = await adminCall(gateway.url, gateway.adminToken, "POST", "/api/backends", {
    name: "tx",
    url: backend.url,
    auth: {
      type: "oauth",
      grant: "token_exchange",
      issuer: exchange.issuer,
      clientId: exchange.clientId,
      clientSecret: exchange.clientSecret,
    },
  });
  expect(created.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await exchange?.close();
  await mock?.close();
});

describe("token exchange", () => {
  it("each caller's gateway token is exchanged for their own backend token", async () => {
    const alice = await callerToken("alice");
    const bob = await callerToken("bob");
    expect((await whoami(alice)).result?.content[0]?.text).toBe("exchanged:alice");
    expect((await whoami(bob)).result?.content[0]?.text).toBe("exchanged:bob");
    expect((await whoami(alice)).result?.content[0]?.text).toBe("exchanged:alice");
    // The callers' own tokens went to the authorization server only, never to the backend.
    expect(exchange.subjects).toEqual(expect.arrayContaining([alice, bob]));
    for (const sent of backend.bearers) expect([alice, bob]).not.toContain(sent);
    // One exchange per caller: the second call of alice used the stored token.
    expect(exchange.subjects.filter((s) => s === alice)).toHaveLength(1);
  });

  it("indexes exchanged connections for admins, and the caller can revoke theirs", async () => {
    const carol = await callerToken("carol");
    expect((await whoami(carol)).result?.content[0]?.text).toBe("exchanged:carol");
    // The index is written off the call path (waitUntil).
    await eventually(async () => {
      const listed = await adminCall(gateway.url, gateway.adminToken, "GET", "/api/connections?backend=tx");
      const users = (listed.json as { connections: Array<{ user: string }> }).connections.map((c) => c.user);
      return users.some((u) => u.endsWith(":carol"));
    }, 10_000);
    const mine = await adminCall(gateway.url, carol, "GET", "/api/me/connections");
    expect((mine.json as { connections: Array<{ backend: string }> }).connections.map((c) => c.backend)).toEqual([
      "tx",
    ]);
    expect((await adminCall(gateway.url, carol, "DELETE", "/api/me/connections/tx")).status).toBe(200);
    expect((await adminCall(gateway.url, carol, "GET", "/api/me/connections")).json).toEqual({ connections: [] });
  });

  it("never sends an API token to the authorization server: such a caller gets a clear error", async () => {
    const created = await adminCall(gateway.url, gateway.adminToken, "POST", "/api/tokens", {
      name: "api",
      scopes: ["mcp"],
    });
    const { token } = created.json as { token: string };
    const reply = await whoami(token);
    expect(reply.error?.code).toBe(-32600);
    expect(reply.error?.message).toContain("OAuth sign-in");
    expect(exchange.subjects).not.toContain(token);
  });

  it("a token the authorization server refuses to exchange is a clear error, not a consent link", async () => {
    exchange.refused.add("mallory");
    const reply = await whoami(await callerToken("mallory"));
    expect(reply.error?.code).toBe(-32010);
    expect(reply.error?.message).toContain("invalid_grant");
    expect((reply.error as { data?: { reason?: string } }).data?.reason).toBe("upstream-auth");
  });
});
