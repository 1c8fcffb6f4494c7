// Fault injection on D1 (the real binding, made to fail, hang or slow down): admin requests answer 503 service_unavailable and a failed write changes nothing, while MCP calls keep working from the isolate's config cache.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigCache } from "../../src/config/cache";
import { configCache } from "../../src/config/middleware";
import type { ConfigSnapshot } from "../../src/config/snapshot";
import { type Fault, faultyD1, fetchWith } from "./faults";
import { startFuzzBackend } from "./fuzz-backend";

const BACKEND_URL = "https://93.184.215.14/fd-a/mcp";
const ACCEPT = { accept: "application/json, text/event-stream", "content-type": "application/json" };

/** Every config row, to prove a failed write left no trace. */
async function snapshot(): Promise<string> {
  const out: unknown[] = [];
  for (const table of ["config_meta", "backends", "servers", "api_tokens", "plugins"]) {
    out.push((await env.DB.prepare(`SELECT * FROM ${table} ORDER BY 1`).all()).results);
  }
  return JSON.stringify(out);
}

async function rpc(bindings: Partial<typeof env>, session: string, id: number, method: string, params: object) {
  const res = await fetchWith(bindings, "POST", "/mcp", {
    headers: { ...ACCEPT, "mcp-session-id": session },
    body: { jsonrpc: "2.0", id, method, params },
  });
  return {
    status: res.status,
    body: (await res.json()) as { id: unknown; result?: Record<string, unknown>; error?: unknown },
  };
}

async function initialize(bindings: Partial<typeof env>): Promise<string> {
  const res = await fetchWith(bindings, "POST", "/mcp", {
    headers: ACCEPT,
    body: {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    },
  });
  expect(res.status).toBe(200);
  return res.headers.get("mcp-session-id") as string;
}

describe("D1 failing or slow", () => {
  beforeAll(async () => {
    startFuzzBackend(BACKEND_URL, "fd-a", "x-none");
    const res = await fetchWith({}, "POST", "/api/backends", { body: { name: "fd-a", url: BACKEND_URL }, wait: true });
    expect(res.status).toBe(201);
    const server = await fetchWith({}, "POST", "/api/servers", { body: { name: "fd-s", backends: ["fd-a"] } });
    expect(server.status).toBe(201);
  });

  it("answers every admin write with 503 service_unavailable and leaves no row or version change behind", async () => {
    const fault: Fault = { mode: "fail", writesOnly: true, hits: 0 };
    const DB = faultyD1(env.DB, fault);
    const before = await snapshot();
    const writes: Array<[string, string, unknown?]> = [
      ["POST", "/api/backends", { name: "fd-new", url: "https://93.184.215.14/x", headers: { "X-K": "v" } }],
      ["PATCH", "/api/backends/fd-a", { timeoutMs: 1000, headers: { "X-K": "v" } }],
      ["DELETE", "/api/servers/fd-s"],
      ["POST", "/api/servers", { name: "fd-new", backends: ["fd-a"] }],
      ["PATCH", "/api/servers/fd-s", { prefix: false }],
      ["POST", "/api/tokens", { name: "fd-token", scopes: ["mcp"] }],
      ["POST", "/api/plugins", { name: "fd-p", kind: "deny_list", config: { words: ["x"] } }],
    ];
    for (const [method, path, body] of writes) {
      const res = await fetchWith({ DB }, method, path, { body });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json).toEqual({
        error: { code: "service_unavailable", message: expect.stringMatching(/nothing was changed/) },
      });
      expect(json.error.message).not.toContain("D1_ERROR");
    }
    expect(fault.hits).toBeGreaterThanOrEqual(writes.length);
    expect(await snapshot()).toBe(before);
  });

  it("answers admin reads and /metrics with 503 when D1 is down", async () => {
    const fault: Fault = { mode: "fail", hits: 0 };
    const DB = faultyD1(env.DB, fault);
    for (const path of ["/api/backends", "/api/backends/fd-a", "/api/tokens", "/api/spans", "/metrics"]) {
      const res = await fetchWith({ DB }, "GET", path);
      expect(res.status, path).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    }
    expect(fault.hits).toBeGreaterThan(0);
  });

  it("answers an admin write 503 instead of hanging when D1 does not answer", async () => {
    const fault: Fault = { mode: "hang", hits: 0 };
    const before = await snapshot();
    const res = await fetchWith({ DB: faultyD1(env.DB, fault) }, "POST", "/api/tokens", {
      body: { name: "fd-hang", scopes: ["mcp"] },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/did not answer in time/);
    expect(await snapshot()).toBe(before);
  }, 20_000);

  it("completes admin writes on a slow D1", async () => {
    const fault: Fault = { mode: "slow", hits: 0 };
    const res = await fetchWith({ DB: faultyD1(env.DB, fault) }, "POST", "/api/tokens", {
      body: { name: "fd-slow", scopes: ["mcp"] },
    });
    expect(res.status).toBe(201);
    expect(fault.hits).toBeGreaterThan(0);
  });

  it("keeps MCP sessions, listings and calls working from the isolate cache while D1 fails or hangs", async () => {
    const healthy = await initialize({});
    expect(
      (await rpc({}, healthy, 1, "tools/call", { name: "fd-a__echo", arguments: { text: "warm" } })).body.result,
    ).toBeDefined();
    for (const mode of ["fail", "hang"] as const) {
      const fault: Fault = { mode, hits: 0 };
      const DB = faultyD1(env.DB, fault);
      // As if the isolate had been idle: the next request must check D1 before answering.
      configCache.invalidate();
      const call = await rpc({ DB }, healthy, 2, "tools/call", { name: "fd-a__echo", arguments: { text: mode } });
      expect(call.status).toBe(200);
      expect(call.body).toMatchObject({ id: 2, result: { content: [{ type: "text", text: mode }] } });
      expect(fault.hits, "D1 was really asked").toBeGreaterThan(0);
      const list = await rpc({ DB }, healthy, 3, "tools/list", {});
      expect(JSON.stringify(list.body.result)).toContain("fd-a__echo");
      const fresh = await initialize({ DB });
      const again = await rpc({ DB }, fresh, 4, "tools/call", { name: "fd-a__echo", arguments: { text: "new" } });
      expect(again.body).toMatchObject({ id: 4, result: { content: [{ text: "new" }] } });
    }
  }, 30_000);

  it("an idle isolate whose check hangs serves its last snapshot after the check's deadline, and the next requests do not wait", async () => {
    const snapshot = (version: number): ConfigSnapshot => ({
      version,
      backends: new Map(),
      servers: new Map(),
      tokensByHash: new Map(),
      plugins: [],
    });
    let hang = false;
    let checks = 0;
    const source = {
      version: () => {
        checks += 1;
        return hang ? new Promise<number>(() => undefined) : Promise.resolve(1);
      },
      load: () => Promise.resolve(snapshot(1)),
    };
    let now = 1_000_000;
    const cache = new ConfigCache({ freshMs: 1000, maxStaleMs: 10_000, checkTimeoutMs: 50, now: () => now });
    expect((await cache.get(source, () => undefined)).version).toBe(1);
    hang = true;
    now += 60_000;
    // Idle: this request waits for a check, which hangs; it gets the last snapshot once the deadline passes.
    expect((await cache.get(source, () => undefined)).version).toBe(1);
    expect(checks).toBe(1);
    // The next request is served at once (stale), sharing the check still in flight instead of waiting again.
    const deferred: Promise<unknown>[] = [];
    expect((await cache.get(source, (w) => deferred.push(w))).version).toBe(1);
    expect(checks).toBe(1);
  });
});
