/**
 * `npm run test:conformance`: the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`, server scenarios, `--suite all`)
 * against the gateway, with the conformance fixture as its only backend.
 *
 *   suite ──HTTP──▶ gateway (production bundle on workerd) ──HTTP──▶ fixture-server.ts
 *
 * Steps: start the fixture (127.0.0.1, free port) and the gateway
 * (test/helpers/gateway.ts: `wrangler deploy --dry-run` bundle on Miniflare,
 * local D1 migrated, `ALLOW_PRIVATE_BACKENDS` and `ALLOWED_HOSTS` set),
 * register the fixture as backend `conformance` and a virtual server
 * `conformance` (`prefix: false`, `auth: "none"`), run the suite against
 * `http://localhost:<port>/servers/conformance/mcp` with the baseline
 * `expected-failures.yml`, stream its output, tear everything down and exit
 * with the suite's exit code.
 *
 * By default the gateway runs as two isolates (separate memory, shared D1
 * and Durable Objects) behind the harness's round-robin proxy, so every
 * request of a session alternates isolates, as on Cloudflare where nothing
 * pins a client to one isolate.
 *
 * Arguments after `--` go to the suite (`npm run test:conformance --
 * --scenario ping`). Env: `CONFORMANCE_ISOLATES=1` (one isolate, its own
 * socket, no proxy; default 2), `CONFORMANCE_TIMEOUT_MS` (the whole run,
 * default 600000; then everything is stopped and the exit code is 124),
 * `CONFORMANCE_OUTPUT_DIR` (the suite's per-scenario `checks.json`, default
 * `test/conformance/results`, gitignored; earlier `server-*` results there
 * are removed first), `E2E_GATEWAY_LOG=1` (Worker logs).
 *
 * After the suite, every check that is not a SUCCESS or INFO is printed with
 * its message: the suite's own summary counts WARNINGs nowhere, but with a
 * baseline they fail the scenario.
 *
 * Runs with Node >= 22 (the suite needs it): `npm run` puts the project's
 * Node 22 first on PATH, and the script runs under
 * `node --experimental-strip-types` (hence the `.ts` import extensions).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { type Gateway, PROJECT_ROOT, startGateway } from "../helpers/gateway.ts";
import { type ConformanceFixture, startConformanceFixture } from "./fixture-server.ts";

const BACKEND = "conformance";
const SERVER = "conformance";
const EXPECTED_FAILURES = path.join(PROJECT_ROOT, "test", "conformance", "expected-failures.yml");
const OUTPUT_DIR = path.resolve(
  PROJECT_ROOT,
  process.env.CONFORMANCE_OUTPUT_DIR ?? path.join("test", "conformance", "results"),
);
const RUN_TIMEOUT_MS = Number.parseInt(process.env.CONFORMANCE_TIMEOUT_MS ?? "600000", 10) || 600_000;

function log(message: string): void {
  process.stderr.write(`[conformance] ${message}\n`);
}

/** The suite's CLI entry point (its package `bin`), resolved from the project. */
async function suiteEntry(): Promise<string> {
  const require = createRequire(path.join(PROJECT_ROOT, "package.json"));
  const packageJson = require.resolve("@modelcontextprotocol/conformance/package.json");
  const manifest = JSON.parse(await readFile(packageJson, "utf8")) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.conformance;
  if (!bin) throw new Error("@modelcontextprotocol/conformance has no `conformance` bin");
  return path.resolve(path.dirname(packageJson), bin);
}

async function adminCall(gateway: Gateway, method: string, route: string, body: unknown): Promise<void> {
  const res = await fetch(`${gateway.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${await res.text()}`);
}

// ---------------------------------------------------------------------------
// Lifecycle: everything started is stopped, whatever happens
// ---------------------------------------------------------------------------

/** Kept as promises so a teardown during startup still stops what is coming up. */
let fixtureStarting: Promise<ConformanceFixture> | undefined;
let gatewayStarting: Promise<Gateway> | undefined;
let suite: ChildProcess | undefined;
let tearingDown: Promise<void> | undefined;

/** Signals the suite's process group (it runs detached, as its own group). */
function killSuite(signal: NodeJS.Signals): void {
  const pid = suite?.pid;
  if (pid === undefined || suite?.exitCode !== null || suite.signalCode !== null) return;
  try {
    process.kill(-pid, signal);
  } catch {
    suite.kill(signal);
  }
}

function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    killSuite("SIGKILL");
    await Promise.all([
      gatewayStarting
        ?.then((gateway) => gateway.stop())
        .catch((error: unknown) => log(`stopping the gateway failed: ${String(error)}`)),
      fixtureStarting
        ?.then((fixture) => fixture.close())
        .catch((error: unknown) => log(`stopping the fixture failed: ${String(error)}`)),
    ]);
  })();
  return tearingDown;
}

let exitCode: number | undefined;

/** Tears down and exits; the first caller's code wins (a signal, then the failure it caused). */
async function exit(code: number): Promise<never> {
  exitCode ??= code;
  // A teardown that hangs must not keep CI waiting.
  const deadline = setTimeout(() => process.exit(exitCode), 30_000);
  deadline.unref();
  await teardown();
  process.exit(exitCode);
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void exit(code);
  });
}
process.on("exit", () => killSuite("SIGKILL"));
const watchdog = setTimeout(() => {
  log(`still running after ${RUN_TIMEOUT_MS} ms (CONFORMANCE_TIMEOUT_MS): stopping everything`);
  void exit(124);
}, RUN_TIMEOUT_MS);
watchdog.unref();

// ---------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------

function runSuite(entry: string, url: string, extraArgs: string[]): Promise<number> {
  const args = [
    entry,
    "server",
    "--url",
    url,
    "--suite",
    "all",
    "--expected-failures",
    EXPECTED_FAILURES,
    "--output-dir",
    OUTPUT_DIR,
    ...extraArgs,
  ];
  log(`conformance ${args.slice(1).join(" ")}`);
  return new Promise((resolve) => {
    // Asynchronously, never spawnSync / execFileSync: the fixture backend and the round-robin
    // proxy live in this process, and a blocked event loop makes every call the gateway
    // forwards fail (only what the gateway answers itself, like initialize and ping, passes).
    // Its own process group, so a timeout can end it and anything it starts.
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    suite = child;
    child.once("error", (error) => {
      log(`could not start the suite: ${error.message}`);
      resolve(1);
    });
    child.once("exit", (code, signal) => {
      if (signal) log(`suite ended by ${signal}`);
      resolve(code ?? 1);
    });
  });
}

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

/** Removes earlier runs' results (`server-<scenario>-<timestamp>/`) so the directory holds this run only. */
async function clearResults(): Promise<void> {
  await mkdir(OUTPUT_DIR, { recursive: true });
  for (const entry of await readdir(OUTPUT_DIR, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith("server-")) {
      await rm(path.join(OUTPUT_DIR, entry.name), { recursive: true, force: true });
    }
  }
}

/** Prints every FAILURE and WARNING check of this run, by scenario. */
async function reportProblems(): Promise<void> {
  const lines: string[] = [];
  for (const entry of (await readdir(OUTPUT_DIR, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (!entry.isDirectory() || !entry.name.startsWith("server-")) continue;
    const scenario = entry.name.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    let checks: Check[];
    try {
      checks = JSON.parse(await readFile(path.join(OUTPUT_DIR, entry.name, "checks.json"), "utf8")) as Check[];
    } catch {
      continue;
    }
    for (const check of checks) {
      if (check.status !== "FAILURE" && check.status !== "WARNING") continue;
      lines.push(`  ${scenario}: ${check.status} ${check.id}${check.errorMessage ? `: ${check.errorMessage}` : ""}`);
    }
  }
  if (lines.length > 0) log(`checks that were not SUCCESS or INFO (details in ${OUTPUT_DIR}):\n${lines.join("\n")}`);
}

async function main(): Promise<number> {
  const [major = 0] = process.versions.node.split(".").map(Number);
  if (major < 22) throw new Error(`the conformance suite needs Node >= 22 (this is ${process.version}); use npm run`);
  const isolates = process.env.CONFORMANCE_ISOLATES === "1" ? 1 : 2;
  const entry = await suiteEntry();
  await clearResults();

  log(`starting the fixture backend and the gateway (${isolates} isolate${isolates === 2 ? "s" : ""})`);
  fixtureStarting = startConformanceFixture();
  gatewayStarting = startGateway({
    isolates,
    vars: {
      ALLOW_PRIVATE_BACKENDS: "true",
      // DNS-rebinding protection on, as under `npm start` (dns-rebinding-protection checks it).
      ALLOWED_HOSTS: "localhost,127.0.0.1,[::1]",
    },
  });
  const [fixture, gateway] = await Promise.all([fixtureStarting, gatewayStarting]);
  await adminCall(gateway, "POST", "/api/backends", { name: BACKEND, url: fixture.url });
  await adminCall(gateway, "POST", "/api/servers", { name: SERVER, backends: [BACKEND], prefix: false, auth: "none" });

  // `localhost`, as a client on this machine would write it (the gateway listens on 127.0.0.1).
  const url = new URL(`/servers/${SERVER}/mcp`, gateway.url);
  url.hostname = "localhost";
  log(`backend ${fixture.url} behind ${url.href}`);
  const code = await runSuite(entry, url.href, process.argv.slice(2));
  await reportProblems().catch((error: unknown) => log(`could not read the results: ${String(error)}`));
  return code;
}

let code: number;
try {
  code = await main();
  log(code === 0 ? "conformance: as expected" : `conformance: suite exited ${code}`);
} catch (error) {
  // Once stopping (signal, timeout), errors from what was torn down are expected.
  if (tearingDown === undefined)
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  code = 1;
}
await exit(code);
