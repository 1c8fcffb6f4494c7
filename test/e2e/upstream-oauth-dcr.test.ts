// End to end: upstream OAuth with a dynamically registered client (RFC 7591) against a real oidc-provider protecting a real MCP backend: the backend is saved without clientId, concurrent first users cause one registration, two users act as themselves through it, its secret is sealed under the key ring and never shown, and a server that forgets the client gets one new registration, and a server without a registration endpoint is refused at save time.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackendAuthServer,
  startBackendAuthServer,
  startWhoamiBackend,
  type WhoamiBackend,
} from "../fixtures/upstream-oauth";
import { adminCall, mcpPost, openSession } from "../helpers/admin-client";
import { browse } from "../helpers/browser";
import { type Gateway, startGateway } from "../helpers/gateway";

/** Access tokens live this long, so a refresh (which names the client) happens within the test. */
const TTL_SECONDS = 4;

let as: BackendAuthServer;
let plain: BackendAuthServer;
let backend: WhoamiBackend;
let gateway: Gateway;
let callback: string;
/** Every answer body the gateway gave in these tests (scanned for the registered secret at the end). */
const answers: string[] = [];
const users: Record<string, { token: string; session?: string }> = {};

async function admin(method: string, path: string, body?: unknown) {
  const res = await adminCall(gateway.url, gateway.adminToken, method, path, body);
  answers.push(JSON.stringify(res.json));
  return res;
}

type Reply = {
  result?: { content: Array<{ text: string }> };
  error?: { code: number; message: string; data?: { elicitations?: Array<{ url: string }> } };
};

/** tools/call dyn__whoami as `user` over a 2025 session. */
async function whoami(user: string): Promise<Reply> {
  const u = users[user];
  if (!u) throw new Error(`unknown user ${user}`);
  u.session ??= await openSession(`${gateway.url}/mcp`, u.token);
  const res = await mcpPost(
    `${gateway.url}/mcp`,
    { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "dyn__whoami", arguments: {} } },
    { token: u.token, session: u.session, protocolVersion: "2025-11-25" },
  );
  answers.push(JSON.stringify(res.json));
  return res.json as Reply;
}

/** Follows the consent link, signs `login` in and consents; answers the gateway's final page. */
async function connect(reply: Reply, login: string): Promise<{ status: number; text: string }> {
  expect(reply.error?.code).toBe(-32042);
  const link = reply.error?.data?.elicitations?.[0]?.url ?? "";
  expect(link.startsWith(`${gateway.url}/oauth/upstream/start?state=`)).toBe(true);
  const visit = await browse(link, callback, { fields: { login, password: "x" } });
  const res = await fetch(visit.final);
  const text = await res.text();
  answers.push(text);
  return { status: res.status, text };
}

beforeAll(async () => {
  as = await startBackendAuthServer(TTL_SECONDS, { registration: true });
  plain = await startBackendAuthServer(300);
  backend = await startWhoamiBackend(as.issuer);
  gateway = await startGateway();
  callback = `${gateway.url}/oauth/upstream/callback`;
  as.register(callback);
  plain.register(callback);
  for (const name of ["alice", "bob"]) {
    const t = await admin("POST", "/api/tokens", { name, scopes: ["mcp"] });
    users[name] = { token: (t.json as { token: string }).token };
  }
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await as?.close();
  await plain?.close();
});

describe("upstream OAuth, dynamic client registration", () => {
  it("saves a backend without clientId as a dynamic client, not registered yet", async () => {
    const created = await admin("POST", "/api/backends", {
      name: "dyn",
      url: backend.url,
      auth: { type: "oauth", scopes: ["whoami"] },
    });
    expect(created.status).toBe(201);
    expect((created.json as { auth: unknown }).auth).toMatchObject({
      registration: "dynamic",
      clientId: null,
      clientSecret: null,
    });
    expect(as.registered).toEqual([]);
  });

  it("refuses a clientSecret without clientId, and a server without a registration endpoint, at save time", async () => {
    const secret = await admin("POST", "/api/backends", {
      name: "dyn-secret",
      url: backend.url,
      auth: { type: "oauth", clientSecret: "s" },
    });
    expect(secret.status).toBe(400);
    const none = await admin("POST", "/api/backends", {
      name: "dyn-none",
      url: backend.url,
      auth: { type: "oauth", issuer: plain.issuer },
    });
    expect(none.status).toBe(400);
    const error = (none.json as { error: { code: string; details: Array<{ path: string; message: string }> } }).error;
    expect(error.code).toBe("validation_failed");
    expect(error.details[0]?.path).toBe("auth.clientId");
    expect(error.details[0]?.message).toContain("registration_endpoint");
    expect((await admin("GET", "/api/backends/dyn-none")).status).toBe(404);
  });

  it("concurrent first users cause one registration, naming the gateway's callback", async () => {
    const replies = await Promise.all([whoami("alice"), whoami("bob"), whoami("alice")]);
    for (const reply of replies) expect(reply.error?.code).toBe(-32042);
    expect(as.registered).toHaveLength(1);
    expect(as.registered[0]?.redirectUris).toEqual([callback]);
    expect(as.registered[0]?.clientSecret).toBeTruthy();
    const view = await admin("GET", "/api/backends/dyn");
    expect((view.json as { auth: unknown }).auth).toMatchObject({
      registration: "dynamic",
      clientId: as.registered[0]?.clientId,
      clientSecret: "********",
    });
  });

  it("two users connect through the registered client and each acts as themselves; still one registration", async () => {
    for (const user of ["alice", "bob"]) {
      const page = await connect(await whoami(user), user);
      expect(page.status).toBe(200);
      expect(page.text).toContain("Connected");
    }
    expect((await whoami("alice")).result?.content[0]?.text).toBe("alice");
    expect((await whoami("bob")).result?.content[0]?.text).toBe("bob");
    expect(as.registered).toHaveLength(1);
    for (const sent of backend.bearers) expect(sent.startsWith("mcpgw_")).toBe(false);
  });

  it("the registered secret is sealed under the key ring (GET /api/keys, POST /api/keys/rotate)", async () => {
    const res = await admin("GET", "/api/keys");
    const { current, secrets } = res.json as { current: string; secrets: Array<{ kind: string; name: string }> };
    expect(secrets).toContainEqual({ kind: "client-secret", name: "dyn", keyId: current });
    const rotated = await admin("POST", "/api/keys/rotate");
    expect(rotated.status).toBe(200);
    expect((await whoami("alice")).result?.content[0]?.text).toBe("alice");
  });

  it("a server that forgot the client (invalid_client) gets one new registration; users connect again through it", async () => {
    const old = as.registered[0]?.clientId ?? "";
    await as.forget(old);
    // Alice's access token expires; its refresh names the forgotten client.
    await new Promise((r) => setTimeout(r, (TTL_SECONDS + 1) * 1000));
    const reply = await whoami("alice");
    expect(as.registered).toHaveLength(2);
    expect(as.registered[1]?.clientId).not.toBe(old);
    // Tokens are bound to the client they were issued to: alice connects again, through the new client.
    const page = await connect(reply, "alice");
    expect(page.status).toBe(200);
    expect((await whoami("alice")).result?.content[0]?.text).toBe("alice");
    expect(as.registered).toHaveLength(2);
    const view = await admin("GET", "/api/backends/dyn");
    expect((view.json as { auth: { clientId: string } }).auth.clientId).toBe(as.registered[1]?.clientId);
  });

  it("the registered client's secret appears in no answer", async () => {
    expect(as.registered).toHaveLength(2);
    expect(answers.length).toBeGreaterThan(8);
    for (const { clientSecret } of as.registered) {
      expect(clientSecret?.length).toBeGreaterThan(10);
      expect(answers.join("\n")).not.toContain(clientSecret);
    }
  });
});
