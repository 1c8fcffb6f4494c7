// Configuration as code end to end: `npm run config` exports one gateway and applies the document to an empty one, which then holds the same configuration, secrets filled from the environment.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fillSecretRefs, formatChanges } from "../../scripts/config.ts";
import { type StatelessBackend, startStatelessBackend } from "../fixtures/backends";
import { adminCall, mcpPost, openSession } from "../helpers/admin-client";
import { type Gateway, PROJECT_ROOT, startGateway } from "../helpers/gateway";

let source: Gateway;
let target: Gateway;
let backend: StatelessBackend;
let dir: string;
let mcpToken = "";

/** Runs `npm run config -- …` as a person or a pipeline would. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "config", "--", ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const asAdmin = (g: Gateway) => ({ MCPGW_URL: g.url, MCPGW_TOKEN: g.adminToken });

beforeAll(async () => {
  [source, target, backend] = await Promise.all([startGateway(), startGateway(), startStatelessBackend("rt")]);
  dir = await mkdtemp(path.join(tmpdir(), "mcpgw-config-"));
  const writes: Array<[string, string, unknown]> = [
    ["POST", "/api/backends", { name: "rt", url: backend.url, headers: { Authorization: "Bearer upstream-secret" } }],
    ["POST", "/api/backends", { name: "rt-off", url: backend.url, enabled: false, timeoutMs: 9000 }],
    ["POST", "/api/servers", { name: "rt-server", backends: ["rt"], prefix: false }],
    ["POST", "/api/plugins", { name: "rt-rate", kind: "rate_limit", config: { limit: 100, windowSeconds: 60 } }],
    [
      "POST",
      "/api/plugins",
      {
        name: "rt-deny",
        kind: "deny_list",
        priority: 5,
        config: { words: ["forbidden"] },
        conditions: [{ serverIds: ["rt"] }],
      },
    ],
  ];
  for (const [method, route, body] of writes) {
    const res = await adminCall(source.url, source.adminToken, method, route, body);
    expect(res.status, `${method} ${route}: ${JSON.stringify(res.json)}`).toBe(201);
  }
  const token = await adminCall(source.url, source.adminToken, "POST", "/api/tokens", {
    name: "rt-client",
    scopes: ["mcp"],
    servers: ["rt-server"],
  });
  mcpToken = (token.json as { token: string }).token;
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop(), backend?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("npm run config", () => {
  it("export → apply to an empty gateway reproduces the same configuration", async () => {
    const file = path.join(dir, "gateway.json");
    const exported = await cli(["export", file], asAdmin(source));
    expect(exported.code, exported.stderr).toBe(0);
    const doc = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    expect(JSON.stringify(doc)).not.toContain("upstream-secret");

    // Without the secret the new backend cannot be created: the error names the variable to set.
    const missing = await cli(["diff", file], asAdmin(target));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("backends.0.headers.Authorization");
    expect(missing.stderr).toContain("MCPGW_BACKEND_RT_AUTHORIZATION");

    const secrets = { ...asAdmin(target), MCPGW_BACKEND_RT_AUTHORIZATION: "Bearer upstream-secret" };
    const diff = await cli(["diff", file], secrets);
    expect(diff.code, diff.stderr).toBe(2);
    expect(diff.stdout).toContain("backends: 2 created, 0 updated, 0 deleted, 0 unchanged");
    expect(diff.stdout).toContain("  + rt-off");

    const apply = await cli(["apply", file], secrets);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain("filled from the environment: MCPGW_BACKEND_RT_AUTHORIZATION");
    expect(apply.stdout).toContain("applied (one config version)");

    const again = (await adminCall(target.url, target.adminToken, "GET", "/api/config/export")).json;
    expect(again).toEqual(doc);
    // Applied: the stored value now answers the unfilled reference, and nothing is left to change.
    expect((await cli(["diff", file], asAdmin(target))).code).toBe(0);
  });

  it("the copy works: the same token reaches the backend through the target, with the filled-in header", async () => {
    const url = `${target.url}/servers/rt-server/mcp`;
    const session = await openSession(url, mcpToken);
    const call = await mcpPost(
      url,
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "copied" } } },
      { token: mcpToken, session, protocolVersion: "2025-11-25" },
    );
    expect(JSON.stringify(call.json)).toContain("copied");
    const upstream = backend.received.filter((r) => r.method === "tools/call").at(-1);
    expect(upstream?.headers.authorization).toBe("Bearer upstream-secret");
    // The deny_list plugin came along: a denied word is refused on the target too.
    const denied = await mcpPost(
      url,
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "forbidden" } } },
      { token: mcpToken, session, protocolVersion: "2025-11-25" },
    );
    expect(JSON.stringify(denied.json)).toContain("DENIED_CONTENT");
  });

  it("fills only references whose variable is set and prints changes a person can read", () => {
    const doc = {
      backends: [{ name: "a", headers: { A: { secretRef: "SET" }, B: { secretRef: "UNSET" }, C: "literal" } }],
      plugins: [{ name: "w", config: { headers: { K: { secretRef: "SET" } } } }],
    };
    const { doc: filled, filled: names } = fillSecretRefs(doc, { SET: "v" });
    expect(filled).toEqual({
      backends: [{ name: "a", headers: { A: "v", B: { secretRef: "UNSET" }, C: "literal" } }],
      plugins: [{ name: "w", config: { headers: { K: "v" } } }],
    });
    expect(names).toEqual(["SET", "SET"]);
    expect(doc.backends[0]?.headers.A).toEqual({ secretRef: "SET" });
    const empty = { created: [], updated: [], deleted: [], unchanged: 0 };
    expect(
      formatChanges({
        backends: {
          created: ["n"],
          updated: [{ name: "u", fields: ["url", "headers"] }],
          deleted: ["d"],
          unchanged: 2,
        },
        servers: empty,
      }),
    ).toBe(
      [
        "backends: 1 created, 1 updated, 1 deleted, 2 unchanged",
        "  + n",
        "  ~ u (url, headers)",
        "  - d",
        "servers: 0 created, 0 updated, 0 deleted, 0 unchanged",
      ].join("\n"),
    );
  });
});
