// The production bundle as the e2e harness serves it (one and two isolates): health, admin, config across isolates, MCP sessions, Host/Origin.
/**
 * What the harness must provide (127.0.0.1 sockets, one per isolate; D1
 * migrated and shared; one Durable Object namespace across isolates; the span
 * queue bound on every isolate) is asserted in `beforeAll` as setup: a broken
 * harness fails every test here with its reason, and is not counted as a test
 * of the gateway. The fixture backends and the round-robin proxy are proven by
 * the gateway tests that use them (the proxy's streaming, e.g., by the
 * elicitation round trips in federation.test.ts, which deadlock if it buffers).
 */
import { readdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatefulBackend, startStatefulBackend } from "../fixtures/backends.ts";
import { eventually } from "../helpers/eventually.ts";
import { d1Bindings, durableObjectBindings, type Gateway, PROJECT_ROOT, startGateway } from "../helpers/gateway.ts";

/** Host names the gateway answers MCP for in this file (as `npm start` sets them). */
const ALLOWED_HOSTS = "localhost,127.0.0.1,[::1]";

function admin(gateway: Gateway, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json", ...init.headers },
  };
}

function textOf(result: unknown): string {
  return CallToolResultSchema.parse(result)
    .content.map((part) => (part.type === "text" ? part.text : `[${part.type}]`))
    .join("");
}

/** A POST with an explicit Host header (fetch would send the URL's own). */
function postWithHost(
  url: string,
  host: string,
  body: unknown,
  token: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: "POST",
        headers: {
          host,
          authorization: `Bearer ${token}`,
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "host-check", version: "1" } },
};

/** The harness's own guarantees, checked once per gateway before any test runs. */
async function assertHarness(gateway: Gateway, isolates: 1 | 2): Promise<void> {
  expect(new URL(gateway.url).hostname).toBe("127.0.0.1");
  expect(gateway.isolateUrls).toHaveLength(isolates);
  for (const url of gateway.isolateUrls) expect(new URL(url).hostname).toBe("127.0.0.1");
  if (isolates === 1) expect(gateway.url).toBe(gateway.isolateUrls[0]);

  const migrations = (await readdir(path.join(PROJECT_ROOT, "migrations"))).filter((f) => f.endsWith(".sql")).sort();
  expect(migrations.length).toBeGreaterThan(0);
  for (const binding of d1Bindings()) {
    for (const worker of gateway.workerNames) {
      const db = await gateway.miniflare.getD1Database(binding, worker);
      const { results } = await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
      expect(results.map((r) => r.name)).toEqual(migrations);
    }
  }

  const namespaces = durableObjectBindings();
  expect(namespaces.map((b) => b.name)).toEqual(expect.arrayContaining(["BACKEND", "SESSION"]));
  for (const binding of namespaces) {
    const ids = new Set<string>();
    for (const worker of gateway.workerNames) {
      const namespace = await gateway.miniflare.getDurableObjectNamespace(binding.name, worker);
      // A class declared separately per worker would give a different id for the same name.
      ids.add(String(namespace.idFromName("e2e-shared")));
    }
    expect(ids.size).toBe(1);
  }
  // Throws when a worker has no SPANS producer.
  for (const worker of gateway.workerNames) await gateway.miniflare.getQueueProducer("SPANS", worker);
}

describe.each([1, 2] as const)("gateway bundle on workerd, %i isolate(s)", (isolates) => {
  let gateway: Gateway;
  let backend: StatefulBackend;

  beforeAll(async () => {
    [gateway, backend] = await Promise.all([
      startGateway({ isolates, vars: { ALLOWED_HOSTS } }),
      startStatefulBackend("alpha"),
    ]);
    await assertHarness(gateway, isolates);
  });
  afterAll(async () => {
    await Promise.all([gateway?.stop(), backend?.close()]);
  });

  it("GET /health is 200 {status: ok} on every isolate", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gateway.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok" });
      seen.add(res.headers.get("x-e2e-isolate") ?? "direct");
    }
    expect(seen.size).toBe(isolates === 2 ? 2 : 1);
    for (const url of gateway.isolateUrls) {
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
    }
  });

  it("the admin API needs the admin token", async () => {
    const res = await fetch(`${gateway.url}/api/backends`);
    expect(res.status).toBe(401);
    const wrong = await fetch(`${gateway.url}/api/backends`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
  });

  it("admin round trip: a backend written on one isolate is readable on every isolate", async () => {
    const created = await fetch(
      `${gateway.url}/api/backends`,
      admin(gateway, {
        method: "POST",
        body: JSON.stringify({
          name: "alpha",
          url: backend.url,
          transport: "streamable-http",
          headers: { "X-Backend-Key": "alpha-secret" },
        }),
      }),
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: "alpha", url: backend.url, transport: "streamable-http" });
    // The header value is encrypted at rest: neither the row nor the API shows it.
    const db = await gateway.miniflare.getD1Database("DB", gateway.workerNames[0]);
    const row = await db.prepare("SELECT * FROM backends WHERE name = ?").bind("alpha").first();
    expect(row?.headers_encrypted).toEqual(expect.any(String));
    expect(JSON.stringify(row)).not.toContain("alpha-secret");
    const read = await fetch(`${gateway.url}/api/backends/alpha`, admin(gateway));
    expect(await read.text()).not.toContain("alpha-secret");

    for (const url of gateway.isolateUrls) {
      await eventually(async () => {
        const res = await fetch(`${url}/api/backends/alpha`, admin(gateway));
        if (res.status !== 200) return false;
        const body = (await res.json()) as { url?: string };
        return body.url === backend.url;
      });
    }
    // And through the proxy (both isolates in turn).
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gateway.url}/api/backends`, admin(gateway));
      expect(res.status).toBe(200);
      const list = (await res.json()) as Array<{ name: string }>;
      expect(list.map((b) => b.name)).toContain("alpha");
    }
  });

  it("a virtual server created on the first isolate is served by the last one", async () => {
    const first = gateway.isolateUrls[0] as string;
    const last = gateway.isolateUrls.at(-1) as string;
    const created = await fetch(
      `${first}/api/servers`,
      admin(gateway, { method: "POST", body: JSON.stringify({ name: "cross", backends: ["alpha"] }) }),
    );
    expect(created.status).toBe(201);
    await eventually(async () => {
      const res = await fetch(`${last}/servers/cross/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${gateway.adminToken}`,
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
        },
        body: JSON.stringify(INITIALIZE),
      });
      await res.body?.cancel();
      return res.status === 200;
    }, 10_000);
  });

  it("an SDK client session works through the bundle: tools, a call, its log notifications in order", async () => {
    const client = new Client({ name: "e2e-harness", version: "1.0.0" }, { capabilities: {} });
    const logs: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(String(notification.params.data));
    });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${gateway.adminToken}` } },
      }),
    );
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["alpha__echo", "alpha__log"]));
      expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "bundle" } }))).toBe("bundle");
      const logged = await client.callTool({ name: "alpha__log", arguments: { count: 2, text: "line" } });
      expect(textOf(logged)).toBe("logged 2");
      expect(logs).toEqual(["line 1", "line 2"]);
      // The backend got its configured header, decrypted, and never the client's credentials.
      const calls = backend.received.filter((r) => r.method === "tools/call");
      expect(calls.length).toBeGreaterThanOrEqual(2);
      for (const call of calls) {
        expect(call.headers["x-backend-key"]).toBe("alpha-secret");
        expect(call.headers.authorization).toBeUndefined();
      }
    } finally {
      await client.close();
    }
  });

  it("a session is bound to the token and the endpoint that opened it", async () => {
    const post = (path: string, token: string, session?: string) =>
      fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
          ...(session && { "mcp-session-id": session }),
        },
        body: JSON.stringify(session ? { jsonrpc: "2.0", id: 2, method: "ping" } : INITIALIZE),
      });
    const issued = await fetch(
      `${gateway.url}/api/tokens`,
      admin(gateway, { method: "POST", body: JSON.stringify({ name: `other-${isolates}`, scopes: ["mcp"] }) }),
    );
    const other = ((await issued.json()) as { token: string }).token;
    // A new token reaches every isolate's config within seconds (two requests: both isolates).
    const accepted = async (token: string) => {
      const res = await post("/mcp", token);
      await res.body?.cancel();
      return res.status === 200;
    };
    await eventually(async () => (await accepted(other)) && (await accepted(other)), 10_000);
    const opened = await post("/mcp", gateway.adminToken);
    const session = opened.headers.get("mcp-session-id") as string;
    await opened.body?.cancel();
    // Twice each: with two isolates, both see the same session the same way.
    for (let i = 0; i < 2; i++) {
      expect((await post("/mcp", gateway.adminToken, session)).status).toBe(200);
      expect((await post("/mcp", other, session)).status).toBe(404);
      expect((await post("/servers/cross/mcp", gateway.adminToken, session)).status).toBe(404);
    }
  });

  it("with ALLOWED_HOSTS set, MCP requests for another Host or from a foreign Origin are 403; listed hosts are served", async () => {
    const port = new URL(gateway.url).port;
    for (const host of [`rebind.example:${port}`, "rebind.example", `localhost.evil:${port}`]) {
      const refused = await postWithHost(`${gateway.url}/mcp`, host, INITIALIZE, gateway.adminToken);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.text)).toMatchObject({
        jsonrpc: "2.0",
        error: { message: "Forbidden: Host not allowed" },
      });
    }
    const other = await postWithHost(
      `${gateway.url}/servers/cross/mcp`,
      "rebind.example",
      INITIALIZE,
      gateway.adminToken,
    );
    expect(other.status).toBe(403);
    const foreignOrigin = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        origin: "https://rebind.example",
        authorization: `Bearer ${gateway.adminToken}`,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
      },
      body: JSON.stringify(INITIALIZE),
    });
    expect(foreignOrigin.status).toBe(403);
    expect(await foreignOrigin.json()).toMatchObject({ error: { message: "Forbidden: Origin not allowed" } });
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const served = await postWithHost(`${gateway.url}/mcp`, host, INITIALIZE, gateway.adminToken);
      expect(served.status).toBe(200);
      expect(JSON.parse(served.text)).toMatchObject({ result: { serverInfo: { name: "mcp-edge-gateway" } } });
    }
  });
});
