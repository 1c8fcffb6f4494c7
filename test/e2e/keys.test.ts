/**
 * End to end: key changes on restart. A changed ADMIN_TOKEN (the old
 * fallback key) affects only the backend whose headers it sealed, which is
 * shown and can be re-entered; ENCRYPTION_KEY rotates without downtime
 * through ENCRYPTION_KEY_PREVIOUS and `POST /api/keys/rotate`, after which
 * the old key can be removed. Every restart keeps the same local state.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type StatelessBackend, startStatelessBackend } from "../fixtures/backends";
import { adminCall, mcpPost, openSession } from "../helpers/admin-client";
import { type Gateway, startGateway } from "../helpers/gateway";

let locked: StatelessBackend;
let open: StatelessBackend;
const running: Gateway[] = [];
const dirs: string[] = [];

async function state(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "mcpgw-keys-"));
  dirs.push(dir);
  return dir;
}

async function start(storage: string, adminToken: string, vars: Record<string, string> = {}): Promise<Gateway> {
  const gateway = await startGateway({ storage, adminToken, vars });
  running.push(gateway);
  return gateway;
}

async function stop(gateway: Gateway): Promise<void> {
  await gateway.stop();
  running.splice(running.indexOf(gateway), 1);
}

function call(gateway: Gateway, session: string, token: string, name: string) {
  return mcpPost(
    `${gateway.url}/mcp`,
    { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name, arguments: { text: "hi" } } },
    { token, session, protocolVersion: "2025-11-25" },
  );
}

beforeAll(async () => {
  locked = await startStatelessBackend("locked");
  open = await startStatelessBackend("open");
});

afterEach(async () => {
  for (const gateway of [...running]) await stop(gateway);
});

afterAll(async () => {
  await Promise.all([locked?.close(), open?.close()]);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("key changes", () => {
  it("a changed ADMIN_TOKEN breaks only the backend whose headers it sealed, which PATCH repairs", async () => {
    const storage = await state();
    const first = await start(storage, "admin-token-A");
    const admin = (method: string, p: string, body?: unknown) => adminCall(first.url, "admin-token-A", method, p, body);
    expect(
      (await admin("POST", "/api/backends", { name: "locked", url: locked.url, headers: { "X-Api-Key": "old-x" } }))
        .status,
    ).toBe(201);
    expect((await admin("POST", "/api/backends", { name: "open", url: open.url })).status).toBe(201);
    const token = (await admin("POST", "/api/tokens", { name: "client", scopes: ["mcp"] })).json as { token: string };
    await stop(first);

    const second = await start(storage, "admin-token-B");
    const adminB = (method: string, p: string, body?: unknown) =>
      adminCall(second.url, "admin-token-B", method, p, body);
    // Everything that does not need the lost key keeps working.
    expect((await adminB("GET", "/api/backends")).status).toBe(200);
    expect((await fetch(`${second.url}/api/openapi.json`)).status).toBe(200);
    expect((await adminB("GET", "/metrics")).status).toBe(200);
    expect((await adminB("GET", "/api/backends/locked")).json).toMatchObject({ credentials: "unreadable" });
    expect((await adminB("GET", "/api/backends/open")).json).toMatchObject({ credentials: "none" });

    const session = await openSession(`${second.url}/mcp`, token.token);
    const fine = await call(second, session, token.token, "open__echo");
    expect(fine.json).toMatchObject({ id: 7, result: { content: [{ type: "text", text: "hi" }] } });
    const refused = await call(second, session, token.token, "locked__echo");
    expect(refused.status).toBe(200);
    expect(refused.json).toMatchObject({
      id: 7,
      error: { code: -32010, data: { backend: "locked", reason: "credentials" } },
    });
    expect((refused.json as { error: { message: string } }).error.message).toMatch(/re-enter/);

    // The masked value cannot be kept; a new value repairs the backend.
    const keep = await adminB("PATCH", "/api/backends/locked", { headers: { "X-Api-Key": "********" } });
    expect(keep.status).toBe(400);
    expect(keep.json).toMatchObject({ error: { details: [{ path: "headers.X-Api-Key" }] } });
    const repaired = await adminB("PATCH", "/api/backends/locked", { headers: { "X-Api-Key": "new-x" } });
    expect(repaired.status).toBe(200);
    expect(repaired.json).toMatchObject({ credentials: "ok" });
    const works = await call(second, session, token.token, "locked__echo");
    expect(works.json).toMatchObject({ id: 7, result: { content: [{ type: "text", text: "hi" }] } });
    expect(locked.received.at(-1)?.headers["x-api-key"]).toBe("new-x");
  });

  it("ENCRYPTION_KEY rotates without downtime, and the old key can then be retired", async () => {
    const storage = await state();
    const first = await start(storage, "admin", { ENCRYPTION_KEY: "key-one-0123456789abcdef" });
    const admin1 = (method: string, p: string, body?: unknown) => adminCall(first.url, "admin", method, p, body);
    await admin1("POST", "/api/backends", { name: "locked", url: locked.url, headers: { "X-Api-Key": "k1" } });
    const token = (await admin1("POST", "/api/tokens", { name: "client", scopes: ["mcp"] })).json as { token: string };
    const before = (await admin1("GET", "/api/keys")).json as { current: string };
    const session = await openSession(`${first.url}/mcp`, token.token);
    await stop(first);

    // New key, old one still accepted: stored secrets and open sessions keep working.
    const second = await start(storage, "admin", {
      ENCRYPTION_KEY: "key-two-0123456789abcdef",
      ENCRYPTION_KEY_PREVIOUS: "key-one-0123456789abcdef",
    });
    const admin2 = (method: string, p: string, body?: unknown) => adminCall(second.url, "admin", method, p, body);
    expect((await call(second, session, token.token, "locked__echo")).json).toMatchObject({ result: {} });
    const status = (await admin2("GET", "/api/keys")).json as {
      current: string;
      accepted: string[];
      secrets: Array<{ kind: string; name: string; keyId: string }>;
    };
    expect(status.current).not.toBe(before.current);
    expect(status.accepted).toContain(before.current);
    expect(status.secrets).toEqual([{ kind: "backend", name: "locked", keyId: before.current }]);
    const rotated = await admin2("POST", "/api/keys/rotate");
    expect(rotated.status).toBe(200);
    expect(rotated.json).toMatchObject({
      resealed: [{ kind: "backend", name: "locked", keyId: status.current }],
      unreadable: [],
    });
    expect(((await admin2("GET", "/api/keys")).json as typeof status).secrets).toEqual([
      { kind: "backend", name: "locked", keyId: status.current },
    ]);
    const fresh = await openSession(`${second.url}/mcp`, token.token);
    await stop(second);

    // Old key retired: secrets still open; sessions sealed under it are gone (404), new ones work.
    const third = await start(storage, "admin", { ENCRYPTION_KEY: "key-two-0123456789abcdef" });
    expect((await adminCall(third.url, "admin", "GET", "/api/backends/locked")).json).toMatchObject({
      credentials: "ok",
    });
    expect((await call(third, session, token.token, "locked__echo")).status).toBe(404);
    const after = await call(third, fresh, token.token, "locked__echo");
    expect(after.json).toMatchObject({ id: 7, result: { content: [{ type: "text", text: "hi" }] } });
    expect(locked.received.at(-1)?.headers["x-api-key"]).toBe("k1");
  });
});
