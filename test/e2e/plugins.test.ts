/**
 * End to end: the plugin chain on the gateway bundle running as two isolates,
 * real SDK backends, the SDK's own client. Plugins are configured through the
 * REST API only.
 *
 * Propagation: each test creates its plugins first and then a fresh API
 * token, and connects with that token once every isolate accepts it. A config
 * version that knows the token also knows the plugins (versions only grow), so
 * no test sleeps or races the isolates' config refresh.
 */

import { createServer, type Server } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type StatefulBackend,
  type StatelessBackend,
  startStatefulBackend,
  startStatelessBackend,
} from "../fixtures/backends";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let alpha: StatefulBackend;
let beta: StatelessBackend;
const created: string[] = [];
const clients: Client[] = [];
let tokenCount = 0;
let policy: Server;
let policyUrl: string;
const policySeen: Array<Record<string, unknown>> = [];

/** A tiny external policy service for the webhook kind: denies "deny", hangs on "hang", upper-cases the rest. */
function startPolicyService(): Promise<void> {
  policy = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      const call = JSON.parse(body) as { arguments?: { text?: string } };
      policySeen.push({ ...call, authorization: req.headers.authorization });
      const text = call.arguments?.text ?? "";
      if (text.includes("hang")) return; // never answers
      res.setHeader("content-type", "application/json");
      if (text.includes("deny")) {
        res.end(JSON.stringify({ decision: "deny", code: "POLICY_SAYS_NO", reason: "The policy refuses this" }));
      } else {
        res.end(JSON.stringify({ decision: "modify", arguments: { text: text.toUpperCase() } }));
      }
    });
  });
  return new Promise((resolve) => {
    policy.listen(0, "127.0.0.1", () => {
      const address = policy.address();
      policyUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/check`;
      resolve();
    });
  });
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function plugin(body: Record<string, unknown>): Promise<void> {
  const res = await admin("POST", "/api/plugins", body);
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  created.push(String(body.name));
}

async function newToken(name = `e2e-plugins-${++tokenCount}`): Promise<string> {
  const res = await admin("POST", "/api/tokens", { name, scopes: ["mcp"] });
  expect(res.status).toBe(201);
  return (res.json as { token: string }).token;
}

/** Connects with `token` as soon as the isolate(s) behind `url` accept it. */
async function connectWith(token: string, url = gateway.url): Promise<Client> {
  let client: Client | undefined;
  await eventually(async () => {
    const candidate = new Client({ name: "e2e-plugins", version: "1" });
    try {
      await candidate.connect(
        new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      client = candidate;
      return true;
    } catch {
      await candidate.close().catch(() => undefined);
      return false;
    }
  }, 10_000);
  if (!client) throw new Error("not connected");
  clients.push(client);
  return client;
}

/** A client with a token created after the test's plugins (see the module comment). */
async function freshClient(): Promise<Client> {
  return connectWith(await newToken());
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

async function rpcError(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error("the call succeeded");
}

beforeAll(async () => {
  [gateway, alpha, beta] = await Promise.all([
    startGateway({ isolates: 2 }),
    startStatefulBackend("alpha"),
    startStatelessBackend("beta"),
    startPolicyService(),
  ]);
  for (const [name, url] of [
    ["alpha", alpha.url],
    ["beta", beta.url],
  ]) {
    expect((await admin("POST", "/api/backends", { name, url })).status).toBe(201);
  }
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const name of created.splice(0)) await admin("DELETE", `/api/plugins/${name}`);
});

afterAll(async () => {
  policy?.closeAllConnections();
  await Promise.all([
    gateway?.stop(),
    alpha?.close(),
    beta?.close(),
    new Promise((resolve) => (policy ? policy.close(resolve) : resolve(undefined))),
  ]);
});

describe("plugins through two isolates", () => {
  it("an enforce deny_list blocks the call with a JSON-RPC error naming the plugin", async () => {
    await plugin({
      name: "no-forbidden",
      kind: "deny_list",
      hooks: ["tool_pre_invoke"],
      config: { words: ["forbidden"] },
    });
    const client = await freshClient();
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "all fine" } }))).toBe("all fine");
    const err = await rpcError(client.callTool({ name: "alpha__echo", arguments: { text: "this is FORBIDDEN" } }));
    expect(err.code).toBe(-32011);
    expect(err.message).toContain("no-forbidden");
    expect(err.data).toMatchObject({ plugin: "no-forbidden", hook: "tool_pre_invoke", code: "DENIED_CONTENT" });
    // The backend never saw the blocked call.
    expect(alpha.received.some((r) => r.method === "tools/call" && JSON.stringify(r).includes("FORBIDDEN"))).toBe(
      false,
    );
  });

  it("runs plugins in priority order: a rewrite before a deny lets the call through, after it does not", async () => {
    await plugin({
      name: "rewrite-secret",
      kind: "regex_replace",
      priority: 10,
      hooks: ["tool_pre_invoke"],
      config: { rules: [{ pattern: "secret", replacement: "public" }] },
    });
    await plugin({
      name: "deny-secret",
      kind: "deny_list",
      priority: 20,
      hooks: ["tool_pre_invoke"],
      config: { words: ["secret"] },
    });
    const before = await freshClient();
    expect(textOf(await before.callTool({ name: "alpha__echo", arguments: { text: "a secret" } }))).toBe("a public");
    expect((await admin("PATCH", "/api/plugins/rewrite-secret", { priority: 30 })).status).toBe(200);
    const after = await freshClient();
    const err = await rpcError(after.callTool({ name: "alpha__echo", arguments: { text: "a secret" } }));
    expect(err.data).toMatchObject({ plugin: "deny-secret", code: "DENIED_CONTENT" });
  });

  it("pii_filter masks a backend's result (relayed as SSE)", async () => {
    await plugin({
      name: "mask-pii",
      kind: "pii_filter",
      hooks: ["tool_post_invoke"],
      conditions: [{ tools: ["alpha__echo", "beta__echo"] }],
      config: { strategy: "mask" },
    });
    const client = await freshClient();
    const text = "write to jane.doe@example.com, card 4111 1111 1111 1111";
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text } }))).toBe(
      "write to [REDACTED_EMAIL], card [REDACTED_CREDIT_CARD]",
    );
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text } }))).toBe(
      "write to [REDACTED_EMAIL], card [REDACTED_CREDIT_CARD]",
    );
  });

  it("a post hook in enforce mode replaces the result with the plugin's error", async () => {
    await plugin({ name: "block-pii", kind: "pii_filter", hooks: ["tool_post_invoke"], config: { strategy: "block" } });
    const client = await freshClient();
    const err = await rpcError(client.callTool({ name: "alpha__echo", arguments: { text: "ssn 123-45-6789" } }));
    expect(err.code).toBe(-32011);
    expect(err.data).toMatchObject({ plugin: "block-pii", hook: "tool_post_invoke", code: "PII_DETECTED" });
    expect(JSON.stringify(err.data)).not.toContain("6789");
  });

  it("tool_filter hides a tool from tools/list and refuses calls to it", async () => {
    await plugin({ name: "hide-add", kind: "tool_filter", config: { deny: ["beta__add"] } });
    const client = await freshClient();
    for (let i = 0; i < 2; i++) {
      // Twice: the listing is served by both isolates in turn.
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain("beta__echo");
      expect(names).toContain("alpha__add");
      expect(names).not.toContain("beta__add");
    }
    const err = await rpcError(client.callTool({ name: "beta__add", arguments: { a: 1, b: 2 } }));
    expect(err.code).toBe(-32011);
    expect(err.data).toMatchObject({ plugin: "hide-add", code: "TOOL_NOT_ALLOWED" });
  });

  it("rate_limit holds across isolates: the N+1th call is refused", async () => {
    const tokenName = `e2e-rate-${Date.now()}`;
    await plugin({
      name: "three-per-day",
      kind: "rate_limit",
      conditions: [{ user_patterns: [tokenName] }],
      // A day-long window: a fixed window that rolls over between the calls would reset the count.
      config: { limit: 3, window_seconds: 86_400, per: ["token"] },
    });
    const [first, second] = gateway.isolateUrls;
    if (!first || !second) throw new Error("two isolates expected");
    const token = await newToken(tokenName);
    const onFirst = await connectWith(token, first);
    const onSecond = await connectWith(token, second);

    const add = (c: Client) => c.callTool({ name: "beta__add", arguments: { a: 1, b: 1 } });
    expect(textOf(await add(onFirst))).toBe("2");
    expect(textOf(await add(onSecond))).toBe("2");
    expect(textOf(await add(onFirst))).toBe("2");
    const err = await rpcError(add(onSecond));
    expect(err.code).toBe(-32011);
    expect(err.data).toMatchObject({ plugin: "three-per-day", code: "RATE_LIMITED", details: { limit: 3 } });
    expect((await rpcError(add(onFirst))).code).toBe(-32011);
  });

  it("permissive mode records a violation and lets the call through", async () => {
    await plugin({
      name: "watch-only",
      kind: "deny_list",
      mode: "permissive",
      config: { words: ["forbidden"] },
    });
    const client = await freshClient();
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "forbidden but allowed" } }))).toBe(
      "forbidden but allowed",
    );
  });

  it("schema_guard validates arguments against the tool's inputSchema from the catalog", async () => {
    await plugin({ name: "schemas", kind: "schema_guard", hooks: ["tool_pre_invoke"] });
    const client = await freshClient();
    expect(textOf(await client.callTool({ name: "beta__add", arguments: { a: 2, b: 3 } }))).toBe("5");
    const err = await rpcError(client.callTool({ name: "beta__add", arguments: { a: "two", b: 3 } }));
    expect(err.code).toBe(-32011);
    expect(err.data).toMatchObject({ plugin: "schemas", code: "INVALID_ARGUMENTS" });
  });

  it("webhook: the policy service allows with changes or denies; a hung service is a plugin failure", async () => {
    await plugin({
      name: "policy",
      kind: "webhook",
      hooks: ["tool_pre_invoke"],
      conditions: [{ tools: ["alpha__echo"] }],
      config: { url: policyUrl, headers: { Authorization: "Bearer policy-secret" }, timeout_ms: 500 },
    });
    await plugin({
      name: "policy-lenient",
      kind: "webhook",
      hooks: ["tool_pre_invoke"],
      conditions: [{ tools: ["beta__echo"] }],
      config: { url: policyUrl, timeout_ms: 300, on_error: "ignore" },
    });
    const client = await freshClient();
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "quiet please" } }))).toBe(
      "QUIET PLEASE",
    );
    expect(policySeen.at(-1)).toMatchObject({
      hook: "tool_pre_invoke",
      plugin: "policy",
      request: { entity: "tool", name: "alpha__echo", original: "echo", backend: "alpha" },
      arguments: { text: "quiet please" },
      authorization: "Bearer policy-secret", // sealed at rest, decrypted only to call the service
    });
    const denied = await rpcError(client.callTool({ name: "alpha__echo", arguments: { text: "please deny" } }));
    expect(denied.code).toBe(-32011);
    expect(denied.message).toContain("Blocked by plugin 'policy': The policy refuses this");
    expect(denied.data).toMatchObject({ plugin: "policy", code: "POLICY_SAYS_NO" });

    const hung = await rpcError(client.callTool({ name: "alpha__echo", arguments: { text: "hang" } }));
    expect(hung.code).toBe(-32012);
    expect(hung.data).toEqual({ plugin: "policy", hook: "tool_pre_invoke", code: "PLUGIN_TIMEOUT" });
    // on_error "ignore": the same failure lets the call through unchanged.
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "hang on" } }))).toBe("hang on");
  });

  it("PLUGINS_ENABLED=false turns the chain off", async () => {
    const off = await startGateway({ vars: { PLUGINS_ENABLED: "false" } });
    try {
      const call = async (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${off.url}${path}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${off.adminToken}`,
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            ...headers,
          },
          body: JSON.stringify(body),
        });
      expect((await call("/api/backends", { name: "beta", url: beta.url })).status).toBe(201);
      const denied = await call("/api/plugins", { name: "deny-all", kind: "tool_filter", config: { deny: ["*"] } });
      expect(denied.status).toBe(201);
      const client = new Client({ name: "e2e-plugins", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${off.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${off.adminToken}` } },
        }),
      );
      expect(textOf(await client.callTool({ name: "beta__add", arguments: { a: 1, b: 2 } }))).toBe("3");
      await client.close();
    } finally {
      await off.stop();
    }
  });
});
