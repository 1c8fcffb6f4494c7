/**
 * `npm run test:conformance`: the official MCP conformance suite
 * (`@modelcontextprotocol/conformance`, server scenarios) against the gateway,
 * with the conformance fixture (a 2025-era SDK v1 server) as its only backend.
 *
 *   suite ──HTTP──▶ gateway (production bundle on workerd) ──HTTP──▶ fixture-server.ts
 *
 * Steps: start the fixture (127.0.0.1, free port) and the gateway
 * (test/helpers/gateway.ts: `wrangler deploy --dry-run` bundle on Miniflare,
 * local D1 migrated, `ALLOW_PRIVATE_BACKENDS` and `ALLOWED_HOSTS` set),
 * register the fixture as backend `conformance` and a virtual server
 * `conformance` (`prefix: false`, `auth: "none"`), then run the suite four
 * times, one after the other, against the same endpoint
 * `http://localhost:<port>/servers/conformance/mcp`:
 *
 *   1. `--requirements 2025-11-25` with `expected-failures-2025-11-25.yml`
 *      (the stateful 2025 wire: initialize, sessions);
 *   2. `--requirements 2026-07-28` with `expected-failures-2026-07-28.yml`
 *      (the stateless 2026 wire: per-request `_meta`, no session), which the
 *      gateway bridges to the 2025 fixture;
 *   3. the tasks extension's `tasks-*` scenarios at the 2026 wire (unscored
 *      in the requirement set), one `--scenario` run each, scored against
 *      `expected-failures-tasks.yml`;
 *   4. the pending header scenarios `http-header-validation` and
 *      `http-custom-header-server-validation` at the 2026 wire, one
 *      `--scenario` run each, reported but not scored (the suite itself marks
 *      them pending: they never change the exit code).
 *
 * One baseline per revision: scenario names are shared between revisions but
 * run on different wires, so a shared entry would be stale in the run where the
 * scenario passes. Each run's results go to `<output dir>/<run>/`; afterwards a
 * summary table per run is printed (scenarios passed/failed, checks by status),
 * then every FAILURE and WARNING check with its message (with a baseline the
 * suite counts a WARNING as a failure, but its own summary shows them nowhere).
 * The exit code is non-zero when any scored run exits non-zero.
 *
 * By default the gateway runs as two isolates (separate memory, shared D1
 * and Durable Objects) behind the harness's round-robin proxy, so consecutive
 * requests alternate isolates, as on Cloudflare where nothing pins a client to
 * one isolate.
 *
 * Arguments after `--` go to both scored runs (`npm run test:conformance --
 * --scenario ping`); with `--scenario`, which the suite refuses next to
 * `--requirements`, a run uses `--spec-version <revision>` instead. Env:
 * `CONFORMANCE_RUNS` (comma-separated subset of `2025-11-25,2026-07-28,tasks,headers`,
 * default all four), `CONFORMANCE_ISOLATES=1` (one isolate, its own socket,
 * no proxy; default 2), `CONFORMANCE_TIMEOUT_MS` (the whole run, default
 * 900000; then everything is stopped and the exit code is 124),
 * `CONFORMANCE_OUTPUT_DIR` (default `test/conformance/results`, gitignored;
 * each run's subdirectory is emptied first), `E2E_GATEWAY_LOG=1` (Worker logs).
 *
 * Runs with Node >= 22 (the suite needs it): `npm run` puts the project's
 * Node 22 first on PATH, and the script runs under
 * `node --experimental-strip-types` (hence the `.ts` import extensions).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { type Gateway, PROJECT_ROOT, startGateway } from "../helpers/gateway.ts";
import { type ConformanceFixture, startConformanceFixture } from "./fixture-server.ts";
import {
  baselineEntries,
  problemLines,
  readResults,
  resetDir,
  type ScenarioResult,
  scoredScenarios,
  suiteEntry,
  summaryTable,
} from "./results.ts";

const BACKEND = "conformance";
const SERVER = "conformance";
const REVISIONS = ["2025-11-25", "2026-07-28"] as const;
/** Pending in the suite (SEP-2243), run at the 2026 wire and reported only. */
const HEADER_SCENARIOS = ["http-header-validation", "http-custom-header-server-validation"] as const;
const HEADER_RUN = "headers";
/**
 * The tasks extension's scenarios (SEP-2663): `--requirements` runs them
 * unscored; the `tasks` run scores each one against `expected-failures-tasks.yml`.
 */
const TASK_SCENARIOS = [
  "tasks-lifecycle",
  "tasks-capability-negotiation",
  "tasks-wire-fields",
  "tasks-request-state-removal",
  "tasks-mrtr-input",
  "tasks-request-headers",
  "tasks-dispatch-and-envelope",
  "tasks-status-notifications",
  "tasks-required-task-error",
  "tasks-mrtr-composition",
] as const;
const TASKS_RUN = "tasks";
const OUTPUT_DIR = path.resolve(
  PROJECT_ROOT,
  process.env.CONFORMANCE_OUTPUT_DIR ?? path.join("test", "conformance", "results"),
);
const RUN_TIMEOUT_MS = Number.parseInt(process.env.CONFORMANCE_TIMEOUT_MS ?? "900000", 10) || 900_000;

function log(message: string): void {
  process.stderr.write(`[conformance] ${message}\n`);
}

function baseline(revision: string): string {
  return path.join(PROJECT_ROOT, "test", "conformance", `expected-failures-${revision}.yml`);
}

/** The runs `CONFORMANCE_RUNS` selects, in the fixed order 2025, 2026, tasks, headers. */
function selectedRuns(): string[] {
  const all = [...REVISIONS, TASKS_RUN, HEADER_RUN];
  const raw = process.env.CONFORMANCE_RUNS?.trim();
  if (!raw) return all;
  const wanted = new Set(raw.split(",").map((name) => name.trim()));
  const unknown = [...wanted].filter((name) => !all.includes(name));
  if (unknown.length > 0) throw new Error(`CONFORMANCE_RUNS: unknown run ${unknown.join(", ")} (use ${all.join(",")})`);
  return all.filter((name) => wanted.has(name));
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

/** Runs the suite's CLI once with `args` (after the entry point) and resolves with its exit code. */
function runSuite(entry: string, args: string[]): Promise<number> {
  log(`conformance ${args.join(" ")}`);
  return new Promise((resolve) => {
    // Asynchronously, never spawnSync / execFileSync: the fixture backend and the round-robin
    // proxy live in this process, and a blocked event loop makes every call the gateway
    // forwards fail (only what the gateway answers itself, like initialize and ping, passes).
    // Its own process group, so a timeout can end it and anything it starts.
    const child = spawn(process.execPath, [entry, ...args], {
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

/** What one run produced, for the report at the end. */
interface RunOutcome {
  name: string;
  scored: boolean;
  code: number;
  results: ScenarioResult[];
  scoredNames?: Set<string>;
}

/** One scored run at `revision`: the revision's requirement set (or `--spec-version` with a `--scenario`). */
async function runRevision(entry: string, url: string, revision: string, extraArgs: string[]): Promise<RunOutcome> {
  const dir = path.join(OUTPUT_DIR, revision);
  await resetDir(dir);
  // The suite refuses --requirements next to --scenario; a single scenario runs at the revision's wire.
  const selection = extraArgs.includes("--scenario")
    ? ["--spec-version", revision, "--force"]
    : ["--requirements", revision];
  const code = await runSuite(entry, [
    "server",
    "--url",
    url,
    ...selection,
    "--expected-failures",
    baseline(revision),
    "--output-dir",
    dir,
    ...extraArgs,
  ]);
  return {
    name: revision,
    scored: true,
    code,
    results: await readResults(dir),
    scoredNames: await scoredScenarios(revision),
  };
}

/**
 * The `tasks-*` scenarios at the 2026 wire, one `--scenario` run each and
 * scored: each gets a baseline holding only its own entries of
 * `expected-failures-tasks.yml` (another scenario's entry would be stale in
 * its run).
 */
async function runTaskScenarios(entry: string, url: string): Promise<RunOutcome> {
  const dir = path.join(OUTPUT_DIR, TASKS_RUN);
  await resetDir(dir);
  const entries = [...(await baselineEntries(baseline(TASKS_RUN)))];
  let code = 0;
  for (const scenario of TASK_SCENARIOS) {
    const own = entries.filter((e) => e === scenario || e.startsWith(`${scenario}:`));
    const file = path.join(dir, `expected-failures-${scenario}.yml`);
    await writeFile(file, own.length === 0 ? "server: []\n" : `server:\n${own.map((e) => `  - ${e}\n`).join("")}`);
    const args = ["--scenario", scenario, "--spec-version", "2026-07-28", "--force", "--expected-failures", file];
    const exited = await runSuite(entry, ["server", "--url", url, ...args, "--output-dir", dir]);
    if (exited !== 0) code = exited;
  }
  const scoredNames = new Set<string>(TASK_SCENARIOS);
  return { name: TASKS_RUN, scored: true, code, results: await readResults(dir), scoredNames };
}

/** The pending header scenarios, one `--scenario` run each at the 2026 wire; never scored. */
async function runHeaderScenarios(entry: string, url: string): Promise<RunOutcome> {
  const dir = path.join(OUTPUT_DIR, HEADER_RUN);
  await resetDir(dir);
  for (const scenario of HEADER_SCENARIOS) {
    const code = await runSuite(entry, [
      "server",
      "--url",
      url,
      "--scenario",
      scenario,
      "--spec-version",
      "2026-07-28",
      "--force",
      "--output-dir",
      dir,
    ]);
    log(`${scenario}: suite exited ${code} (not scored)`);
  }
  return { name: HEADER_RUN, scored: false, code: 0, results: await readResults(dir) };
}

async function report(outcomes: RunOutcome[]): Promise<void> {
  for (const outcome of outcomes) {
    const where = path.join(OUTPUT_DIR, outcome.name);
    if (outcome.name === HEADER_RUN) {
      log(summaryTable("pending header scenarios at the 2026-07-28 wire (not scored):", outcome.results));
      const problems = problemLines(outcome.results);
      if (problems.length > 0)
        log(`headers: FAILURE and WARNING checks (details in ${where}):\n${problems.join("\n")}`);
      continue;
    }
    const file = baseline(outcome.name);
    const run = outcome.name === TASKS_RUN ? "tasks-* scenarios at 2026-07-28, each" : `--requirements ${outcome.name}`;
    const title = `${run} (suite exit ${outcome.code}; baseline ${path.relative(PROJECT_ROOT, file)}):`;
    log(summaryTable(title, outcome.results, outcome.scoredNames));
    const scored = outcome.results.filter((r) => outcome.scoredNames?.has(r.scenario));
    const unscored = outcome.results.filter((r) => !outcome.scoredNames?.has(r.scenario));
    const problems = problemLines(scored, await baselineEntries(file));
    if (problems.length > 0) {
      log(
        `${outcome.name}: FAILURE and WARNING checks of scored scenarios (details in ${where}):\n${problems.join("\n")}`,
      );
    }
    const reported = problemLines(unscored);
    if (reported.length > 0) {
      log(`${outcome.name}: FAILURE and WARNING checks of scenarios that are not scored:\n${reported.join("\n")}`);
    }
  }
}

async function main(): Promise<number> {
  const [major = 0] = process.versions.node.split(".").map(Number);
  if (major < 22) throw new Error(`the conformance suite needs Node >= 22 (this is ${process.version}); use npm run`);
  const isolates = process.env.CONFORMANCE_ISOLATES === "1" ? 1 : 2;
  const runs = selectedRuns();
  const entry = await suiteEntry();

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
  log(`backend ${fixture.url} behind ${url.href}; runs: ${runs.join(", ")}`);

  const extraArgs = process.argv.slice(2);
  const outcomes: RunOutcome[] = [];
  for (const run of runs) {
    outcomes.push(
      run === HEADER_RUN
        ? await runHeaderScenarios(entry, url.href)
        : run === TASKS_RUN
          ? await runTaskScenarios(entry, url.href)
          : await runRevision(entry, url.href, run, extraArgs),
    );
  }
  await report(outcomes).catch((error: unknown) => log(`could not read the results: ${String(error)}`));
  const failed = outcomes.filter((outcome) => outcome.scored && outcome.code !== 0);
  for (const outcome of failed) log(`--requirements ${outcome.name}: suite exited ${outcome.code}`);
  return failed.length === 0 ? 0 : 1;
}

let code: number;
try {
  code = await main();
  log(code === 0 ? "conformance: as expected" : "conformance: a scored run failed");
} catch (error) {
  // Once stopping (signal, timeout), errors from what was torn down are expected.
  if (tearingDown === undefined)
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  code = 1;
}
await exit(code);
