import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackendDO } from "../../durable-objects/backend-do";
import { ADMIN, api, errorOf, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

const fakes: FakeBackend[] = [];

afterEach(() => {
  vi.useRealTimers();
  for (const fake of fakes.splice(0)) fake.close();
});

/** Registers a backend served by a fake at a public literal address (URL safety allows it). */
async function register(extra: Record<string, unknown> = {}): Promise<{ name: string; fake: FakeBackend }> {
  const name = uniqueName("h");
  const fake = fakeBackend(`https://93.184.215.14/${name}/mcp`, ["echo", "add"]);
  fakes.push(fake);
  const res = await api("POST", "/api/backends", { body: { name, url: fake.url, timeoutMs: 1000, ...extra } });
  expect(res.status).toBe(201);
  return { name, fake };
}

function stubOf(name: string): DurableObjectStub<BackendDO> {
  return env.BACKEND.get(env.BACKEND.idFromName(name));
}

function alarmOf(name: string): Promise<number | null> {
  return runInDurableObject(stubOf(name), (_instance: BackendDO, state) => state.storage.getAlarm());
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, attempts = 100): Promise<T> {
  let value = await read();
  for (let i = 0; i < attempts && !ok(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    value = await read();
  }
  return value;
}

/** Waits for the catalog discovery that registration starts in the background. */
function registered(fake: FakeBackend): Promise<unknown> {
  return eventually(
    async () => fake.received,
    (r) => r.includes("tools/list"),
  );
}

describe("GET /api/backends/:name/health", () => {
  it("404 for an unknown backend", async () => {
    const res = await api("GET", "/api/backends/no-such-backend/health");
    expect(res.status).toBe(404);
    expect(errorOf(res.body).code).toBe("not_found");
  });

  it("describes a new backend: closed, not probed yet, next probe scheduled", async () => {
    const { name } = await register({ healthIntervalSeconds: 30 });
    const res = await api("GET", `/api/backends/${name}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      breaker: "closed",
      healthy: true,
      consecutiveFailures: 0,
      lastCheckAt: null,
      lastLatencyMs: null,
      lastError: null,
      nextCheckAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("shows a probe's result and an open breaker with retryAt", async () => {
    const { name, fake } = await register({ failureThreshold: 1, cooldownSeconds: 120 });
    await registered(fake);
    fake.mode = "down";
    await runDurableObjectAlarm(stubOf(name));
    const res = await api("GET", `/api/backends/${name}/health`);
    expect(res.body).toMatchObject({
      breaker: "open",
      healthy: false,
      consecutiveFailures: 1,
      lastError: expect.stringMatching(/503/),
      lastCheckAt: expect.any(String),
      retryAt: expect.any(String),
    });
  });
});

describe("the admin API drives the health schedule", () => {
  it("starts probes on create, stops them on disable, restarts on enable, reschedules on a new interval", async () => {
    const { name } = await register();
    expect(await alarmOf(name)).not.toBeNull();

    expect((await api("PATCH", `/api/backends/${name}`, { body: { enabled: false } })).status).toBe(200);
    expect(await alarmOf(name)).toBeNull();
    expect(await runDurableObjectAlarm(stubOf(name))).toBe(false);
    expect((await api("GET", `/api/backends/${name}/health`)).body).toMatchObject({ nextCheckAt: null });

    expect((await api("PATCH", `/api/backends/${name}`, { body: { enabled: true } })).status).toBe(200);
    expect(await alarmOf(name)).not.toBeNull();

    const before = Date.now();
    await api("PATCH", `/api/backends/${name}`, { body: { healthIntervalSeconds: 3600 } });
    const at = (await alarmOf(name)) as number;
    expect(at).toBeGreaterThanOrEqual(before + 3600 * 800);
    expect(at).toBeLessThanOrEqual(Date.now() + 3600 * 1200);
  });

  it("stops probes on delete", async () => {
    const { name } = await register();
    expect((await api("DELETE", `/api/backends/${name}`)).status).toBe(204);
    expect(await alarmOf(name)).toBeNull();
    expect((await api("GET", `/api/backends/${name}/health`)).status).toBe(404);
  });

  it("discovers the catalog on registration", async () => {
    const { fake } = await register();
    await registered(fake);
    expect(fake.received).toContain("tools/list");
  });
});

describe("POST /api/backends/:name/refresh", () => {
  it("404 for an unknown backend", async () => {
    expect((await api("POST", "/api/backends/no-such-backend/refresh")).status).toBe(404);
  });

  it("re-discovers now and answers with the counts, without needing a body", async () => {
    const { name, fake } = await register();
    await registered(fake);
    fake.tools.push("brand-new");
    const res = await api("POST", `/api/backends/${name}/refresh`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ backend: name, tools: 3, prompts: 0, resources: 0, resourceTemplates: 0 });
    expect(Date.parse((res.body as { fetchedAt: string }).fetchedAt)).not.toBeNaN();
  });

  it("502 naming the failure when the backend fails", async () => {
    const { name, fake } = await register();
    await registered(fake);
    fake.mode = "down";
    const res = await api("POST", `/api/backends/${name}/refresh`);
    expect(res.status).toBe(502);
    expect(errorOf(res.body)).toMatchObject({ code: "bad_gateway", details: { backend: name } });
    expect(errorOf(res.body).message).toMatch(new RegExp(`${name}.*503`));
  });

  it("502 when the backend sends garbage", async () => {
    const { name, fake } = await register();
    await registered(fake);
    fake.mode = "garbage";
    const res = await api("POST", `/api/backends/${name}/refresh`);
    expect(res.status).toBe(502);
    expect(errorOf(res.body).message).toMatch(/not JSON|malformed/);
  });
});

// ---------------------------------------------------------------------------
// The breaker on the MCP call path
// ---------------------------------------------------------------------------

interface Rpc {
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

async function mcp(path: string, body: unknown, session?: string): Promise<{ headers: Headers; body: Rpc }> {
  const headers: Record<string, string> = {
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
    authorization: `Bearer ${ADMIN}`,
  };
  if (session) headers["mcp-session-id"] = session;
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  return { headers: res.headers, body: (await res.json()) as Rpc };
}

async function openServer(backend: string): Promise<{ path: string; session: string }> {
  const server = uniqueName("sv");
  expect((await api("POST", "/api/servers", { body: { name: server, backends: [backend] } })).status).toBe(201);
  const path = `/servers/${server}/mcp`;
  const init = await mcp(path, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  });
  return { path, session: init.headers.get("mcp-session-id") as string };
}

let nextId = 1;
function call(path: string, session: string, tool: string): Promise<Rpc> {
  return mcp(
    path,
    { jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { name: tool, arguments: {} } },
    session,
  ).then((r) => r.body);
}

describe("circuit breaker on tools/call", () => {
  it("opens after consecutive failures, then fails fast without calling the backend", async () => {
    const { name, fake } = await register({ failureThreshold: 2, cooldownSeconds: 600 });
    const { path, session } = await openServer(name);
    expect((await call(path, session, `${name}__echo`)).result).toBeDefined();

    fake.mode = "down";
    let reply: Rpc = {};
    for (let i = 0; i < 50 && reply.error?.data?.reason !== "unavailable"; i++) {
      reply = await call(path, session, `${name}__echo`);
      expect(reply.error?.code).toBe(-32010);
      if (reply.error?.data?.reason !== "unavailable") await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(reply.error?.data).toMatchObject({ backend: name, reason: "unavailable", breaker: "open" });
    expect(reply.error?.message).toMatch(new RegExp(`Backend '${name}' is unavailable`));
    expect(Date.parse(String(reply.error?.data?.retryAt))).toBeGreaterThan(Date.now());

    const upstreamCalls = fake.received.length;
    for (let i = 0; i < 5; i++) {
      expect((await call(path, session, `${name}__echo`)).error?.data?.reason).toBe("unavailable");
    }
    expect(fake.received.length).toBe(upstreamCalls);
    // The isolate stopped on its own failures at once; the shared breaker opens when their report
    // (sent within URGENT_FLUSH_MS, through the isolate's shard) arrives.
    await eventually(
      async () => (await api("GET", `/api/backends/${name}/health`)).body as { breaker: string },
      (h) => h.breaker === "open",
    );
  });

  it("after the cooldown one trial call goes through and its success closes the breaker", async () => {
    const { name, fake } = await register({ failureThreshold: 1, cooldownSeconds: 60 });
    const { path, session } = await openServer(name);
    fake.mode = "down";
    await call(path, session, `${name}__echo`);
    await eventually(
      () => call(path, session, `${name}__echo`),
      (r) => r.error?.data?.reason === "unavailable",
    );

    fake.mode = "up";
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    expect((await call(path, session, `${name}__echo`)).result).toBeDefined();
    const health = await eventually(
      async () => (await api("GET", `/api/backends/${name}/health`)).body as { breaker: string },
      (h) => h.breaker === "closed",
    );
    expect(health.breaker).toBe("closed");
    expect((await call(path, session, `${name}__echo`)).result).toBeDefined();
  });

  it("a JSON-RPC error reply is an answer, not a failure", async () => {
    const { name, fake } = await register({ failureThreshold: 1 });
    const { path, session } = await openServer(name);
    fake.rpcErrors = true;
    for (let i = 0; i < 4; i++) {
      expect((await call(path, session, `${name}__echo`)).error).toMatchObject({ code: -32602 });
    }
    const health = (await api("GET", `/api/backends/${name}/health`)).body;
    expect(health).toMatchObject({ breaker: "closed", consecutiveFailures: 0 });
  });
});
