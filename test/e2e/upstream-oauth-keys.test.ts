// End to end: users' upstream OAuth tokens under key rotation: sealed under ENCRYPTION_KEY in each user's object, still usable with the old key in ENCRYPTION_KEY_PREVIOUS, re-sealed by POST /api/keys/rotate, and usable after the old key is removed (restarts keep the same local state).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
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

const ADMIN = `admin-${randomBytes(12).toString("hex")}`;
const OLD_KEY = `old-${randomBytes(16).toString("hex")}`;
const NEW_KEY = `new-${randomBytes(16).toString("hex")}`;

let as: BackendAuthServer;
let backend: WhoamiBackend;
let storage: string;
let gateway: Gateway | undefined;

async function restart(vars: Record<string, string>): Promise<Gateway> {
  await gateway?.stop();
  gateway = await startGateway({ storage, adminToken: ADMIN, vars });
  return gateway;
}

async function whoami(gw: Gateway, token: string) {
  const session = await openSession(`${gw.url}/mcp`, token);
  const res = await mcpPost(
    `${gw.url}/mcp`,
    { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "gh__whoami", arguments: {} } },
    { token, session, protocolVersion: "2025-11-25" },
  );
  return res.json as { result?: { content: Array<{ text: string }> }; error?: { code: number; data?: unknown } };
}

async function tokenKeys(gw: Gateway): Promise<Array<{ kind: string; keyId: string | null }>> {
  const res = await adminCall(gw.url, ADMIN, "GET", "/api/keys");
  return (res.json as { secrets: Array<{ kind: string; keyId: string | null }> }).secrets.filter(
    (s) => s.kind === "upstream-token",
  );
}

beforeAll(async () => {
  as = await startBackendAuthServer(3600);
  backend = await startWhoamiBackend(as.issuer);
  storage = await mkdtemp(path.join(tmpdir(), "mcpgw-upstream-keys-"));
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await as?.close();
  if (storage) await rm(storage, { recursive: true, force: true });
});

describe("upstream tokens and key rotation", () => {
  it("stay usable through a rotation, and are re-sealed under the new key", async () => {
    let gw = await restart({ ENCRYPTION_KEY: OLD_KEY });
    as.register(`${gw.url}/oauth/upstream/callback`);
    const created = await adminCall(gw.url, ADMIN, "POST", "/api/backends", {
      name: "gh",
      url: backend.url,
      auth: { type: "oauth", clientId: as.clientId, clientSecret: as.clientSecret, scopes: ["whoami"] },
    });
    expect(created.status).toBe(201);
    const { token } = (await adminCall(gw.url, ADMIN, "POST", "/api/tokens", { name: "erin", scopes: ["mcp"] }))
      .json as { token: string };
    const asked = await whoami(gw, token);
    const data = asked.error?.data as { elicitations: Array<{ url: string }> } | undefined;
    const link = data?.elicitations[0]?.url ?? "";
    expect(link).toContain("/oauth/upstream/start?state=");
    const visit = await browse(link, `${gw.url}/oauth/upstream/callback`, { fields: { login: "erin", password: "x" } });
    expect((await fetch(visit.final)).status).toBe(200);
    expect((await whoami(gw, token)).result?.content[0]?.text).toBe("erin");
    const [sealedOld] = await tokenKeys(gw);
    expect(sealedOld?.keyId).toMatch(/^[0-9a-f]{16}$/);

    gw = await restart({ ENCRYPTION_KEY: NEW_KEY, ENCRYPTION_KEY_PREVIOUS: OLD_KEY });
    expect((await whoami(gw, token)).result?.content[0]?.text).toBe("erin");
    const rotated = await adminCall(gw.url, ADMIN, "POST", "/api/keys/rotate");
    const current = (rotated.json as { current: string }).current;
    expect(current).not.toBe(sealedOld?.keyId);
    expect((rotated.json as { resealed: Array<{ kind: string }> }).resealed.map((r) => r.kind)).toEqual(
      expect.arrayContaining(["upstream-token", "client-secret"]),
    );
    expect((await tokenKeys(gw)).map((t) => t.keyId)).toEqual([current]);

    gw = await restart({ ENCRYPTION_KEY: NEW_KEY });
    expect((await whoami(gw, token)).result?.content[0]?.text).toBe("erin");
  });
});
