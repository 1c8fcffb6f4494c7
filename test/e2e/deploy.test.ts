// npm run deploy: the dry run works offline and changes nothing; the real flow is idempotent (wrangler scripted as a fresh and as a provisioned account).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type Answer, deploy, type Resources, setDatabaseId, type Wrangler } from "../../scripts/deploy.ts";
import { PROJECT_ROOT } from "../helpers/gateway";

const TOML = `name = "x"
# the config store
[[d1_databases]]
binding = "DB"
database_name = "mcp-gateway"
database_id = "00000000-0000-0000-0000-000000000000"
migrations_dir = "migrations"

[[d1_databases]]
binding = "OTHER"
database_name = "other"
database_id = "11111111-1111-1111-1111-111111111111"
`;

const RESOURCES: Resources = {
  databases: [{ binding: "DB", name: "mcp-gateway", id: "00000000-0000-0000-0000-000000000000" }],
  queues: ["mcp-gateway-spans", "mcp-gateway-spans-dlq"],
};

const ok = (stdout = ""): Answer => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string): Answer => ({ code: 1, stdout: "", stderr });

/** A scripted account: which resources exist; records every command. */
function account(state: {
  databases: Array<{ name: string; uuid: string }>;
  queues: string[];
  secrets: string[] | null;
}) {
  const calls: string[] = [];
  const wrangler: Wrangler = async (args) => {
    const cmd = args.join(" ");
    calls.push(cmd);
    if (cmd === "whoami") return ok("You are logged in");
    if (cmd === "d1 list --json") return ok(`${JSON.stringify(state.databases)}\n`);
    if (args[0] === "d1" && args[1] === "create") {
      state.databases.push({ name: args[2] ?? "", uuid: "22222222-2222-2222-2222-222222222222" });
      return ok("Created your new D1 database.");
    }
    if (args[0] === "queues" && args[1] === "info") {
      return state.queues.includes(args[2] ?? "")
        ? ok("Queue Name: x")
        : fail("✘ [ERROR] Queue not found. [code: 11000]");
    }
    if (args[0] === "queues" && args[1] === "create") {
      state.queues.push(args[2] ?? "");
      return ok("Created queue");
    }
    if (cmd.startsWith("d1 migrations apply")) return ok("Migrations applied");
    if (cmd === "secret list --format json") {
      return state.secrets === null
        ? fail("✘ [ERROR] This Worker does not exist on your account. [code: 10007]")
        : ok(JSON.stringify(state.secrets.map((name) => ({ name, type: "secret_text" }))));
    }
    if (cmd === "deploy") return ok("Deployed");
    throw new Error(`unexpected wrangler ${cmd}`);
  };
  return { calls, wrangler };
}

describe("npm run deploy", () => {
  it("--dry-run works offline, prints every step and changes no file", async () => {
    const before = await readFile(path.join(PROJECT_ROOT, "wrangler.toml"), "utf8");
    const run = await new Promise<{ code: number; out: string }>((resolve, reject) => {
      const child = spawn("npm", ["run", "--silent", "deploy", "--", "--dry-run"], {
        cwd: PROJECT_ROOT,
        // Any attempt to reach Cloudflare would fail: no proxy answers, the token is invalid.
        env: {
          ...process.env,
          HTTPS_PROXY: "http://127.0.0.1:9",
          HTTP_PROXY: "http://127.0.0.1:9",
          CLOUDFLARE_API_TOKEN: "invalid",
          WRANGLER_SEND_METRICS: "false",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.once("error", reject);
      child.once("close", (code) => resolve({ code: code ?? -1, out }));
    });
    expect(run.code, run.out).toBe(0);
    for (const expected of [
      "would check D1 database mcp-gateway",
      "would check queue mcp-gateway-spans ",
      "would check queue mcp-gateway-spans-dlq",
      "would apply D1 migrations remotely (wrangler d1 migrations apply DB --remote)",
      "would check the secrets ADMIN_TOKEN, ENCRYPTION_KEY",
      "built the bundle offline (wrangler deploy --dry-run): Total Upload:",
      "Dry run: nothing was created, changed or deployed.",
    ]) {
      expect(run.out).toContain(expected);
    }
    expect(await readFile(path.join(PROJECT_ROOT, "wrangler.toml"), "utf8")).toBe(before);
  }, 120_000);

  it("on a fresh account creates the database and queues, writes the id, migrates, reminds about secrets, deploys", async () => {
    const { calls, wrangler } = account({ databases: [], queues: [], secrets: null });
    const saved: string[] = [];
    const log: string[] = [];
    const report = await deploy({
      dryRun: false,
      resources: RESOURCES,
      toml: TOML,
      saveToml: async (t) => {
        saved.push(t);
      },
      wrangler,
      log: (l) => log.push(l),
    });
    expect(calls).toEqual([
      "whoami",
      "d1 list --json",
      "d1 create mcp-gateway",
      "d1 list --json",
      "queues info mcp-gateway-spans",
      "queues create mcp-gateway-spans",
      "queues info mcp-gateway-spans-dlq",
      "queues create mcp-gateway-spans-dlq",
      "d1 migrations apply DB --remote",
      "secret list --format json",
      "deploy",
    ]);
    expect(saved).toEqual([
      TOML.replace('"00000000-0000-0000-0000-000000000000"', '"22222222-2222-2222-2222-222222222222"'),
    ]);
    expect(report.missingSecrets).toEqual(["ADMIN_TOKEN", "ENCRYPTION_KEY"]);
    expect(log.filter((l) => l.includes("npx wrangler secret put ADMIN_TOKEN"))).toHaveLength(2);
  });

  it("on a provisioned account creates nothing, writes nothing, reminds of nothing", async () => {
    const { calls, wrangler } = account({
      databases: [{ name: "mcp-gateway", uuid: "33333333-3333-3333-3333-333333333333" }],
      queues: ["mcp-gateway-spans", "mcp-gateway-spans-dlq"],
      secrets: ["ADMIN_TOKEN", "ENCRYPTION_KEY"],
    });
    const toml = setDatabaseId(TOML, "mcp-gateway", "33333333-3333-3333-3333-333333333333");
    const saved: string[] = [];
    const log: string[] = [];
    const report = await deploy({
      dryRun: false,
      resources: {
        ...RESOURCES,
        databases: [{ binding: "DB", name: "mcp-gateway", id: "33333333-3333-3333-3333-333333333333" }],
      },
      toml,
      saveToml: async (t) => {
        saved.push(t);
      },
      wrangler,
      log: (l) => log.push(l),
    });
    expect(calls.filter((c) => c.includes("create"))).toEqual([]);
    expect(saved).toEqual([]);
    expect(report.missingSecrets).toEqual([]);
    expect(log.some((l) => l.includes("secret put"))).toBe(false);
    expect(calls.at(-1)).toBe("deploy");
  });

  it("stops before anything else when not logged in, and on an unexpected wrangler failure", async () => {
    const calls: string[] = [];
    const loggedOut: Wrangler = async (args) => {
      calls.push(args.join(" "));
      return fail("You are not authenticated. Please run `wrangler login`.");
    };
    await expect(
      deploy({
        dryRun: false,
        resources: RESOURCES,
        toml: TOML,
        saveToml: async () => undefined,
        wrangler: loggedOut,
        log: () => undefined,
      }),
    ).rejects.toThrow(/npx wrangler login/);
    expect(calls).toEqual(["whoami"]);

    const { wrangler } = account({ databases: [{ name: "mcp-gateway", uuid: "u" }], queues: [], secrets: [] });
    const forbidden: Wrangler = async (args, o) =>
      args[0] === "queues" ? fail("Authentication error [code: 10000]") : wrangler(args, o);
    await expect(
      deploy({
        dryRun: false,
        resources: RESOURCES,
        toml: TOML,
        saveToml: async () => undefined,
        wrangler: forbidden,
        log: () => undefined,
      }),
    ).rejects.toThrow(/queues info mcp-gateway-spans failed/);
  });

  it("writes a database id into its own block only, keeping the rest of the file", () => {
    const next = setDatabaseId(TOML, "mcp-gateway", "abc");
    expect(next).toContain('database_id = "abc"');
    expect(next).toContain('database_id = "11111111-1111-1111-1111-111111111111"');
    expect(next).toContain("# the config store");
    const without = TOML.replace('database_id = "00000000-0000-0000-0000-000000000000"\n', "");
    expect(setDatabaseId(without, "mcp-gateway", "abc")).toContain(
      'database_name = "mcp-gateway"\ndatabase_id = "abc"',
    );
  });
});
