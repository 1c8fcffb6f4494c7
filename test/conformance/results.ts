/**
 * Reading and summarising the conformance suite's results for `run.ts`: the
 * per-scenario `checks.json` files one suite run writes under its output
 * directory (`server-<scenario>-<timestamp>/checks.json`), the scored scenario
 * list of a revision (the suite's own frozen `requirements/<revision>.yaml`),
 * one summary table per run, and every FAILURE / WARNING check with its message.
 *
 * A scenario counts as failed when any of its checks is a FAILURE or a
 * WARNING: that is how the suite judges a scenario once a baseline is given,
 * and every scored run here has one.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../helpers/gateway.ts";

/** One check of a scenario, as the suite writes it to `checks.json`. */
export interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

/** One scenario's outcome in one suite run. */
export interface ScenarioResult {
  scenario: string;
  checks: Check[];
}

const STATUSES = ["SUCCESS", "FAILURE", "WARNING", "INFO", "SKIPPED"] as const;

/** The directory of the installed suite package (its `package.json` resolved from the project). */
function suitePackageDir(): string {
  const require = createRequire(path.join(PROJECT_ROOT, "package.json"));
  return path.dirname(require.resolve("@modelcontextprotocol/conformance/package.json"));
}

/** The suite's CLI entry point (its package `bin`). */
export async function suiteEntry(): Promise<string> {
  const dir = suitePackageDir();
  const manifest = JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as {
    bin?: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.conformance;
  if (!bin) throw new Error("@modelcontextprotocol/conformance has no `conformance` bin");
  return path.resolve(dir, bin);
}

/**
 * The server scenarios a revision scores, from the suite's frozen requirement
 * set (`requirements/<revision>.yaml`, top-level `server:` list). Everything
 * else a `--requirements` run executes (`not_scored:`) is reported only.
 */
export async function scoredScenarios(revision: string): Promise<Set<string>> {
  const file = path.join(suitePackageDir(), "requirements", `${revision}.yaml`);
  const doc = parse(await readFile(file, "utf8")) as { server?: unknown };
  if (!Array.isArray(doc.server)) throw new Error(`${file} has no server: list`);
  return new Set(doc.server.filter((name): name is string => typeof name === "string"));
}

/** Empties `dir` (created if missing), so it holds one run's results only. */
export async function resetDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

/** Every scenario result under `dir`, sorted by scenario name; unreadable files are skipped. */
export async function readResults(dir: string): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return results;
  }
  for (const name of entries) {
    if (!name.startsWith("server-")) continue;
    const scenario = name.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    try {
      const checks = JSON.parse(await readFile(path.join(dir, name, "checks.json"), "utf8")) as Check[];
      results.push({ scenario, checks });
    } catch {
      // A scenario that crashed before writing its checks shows up in the suite's own output.
    }
  }
  return results.sort((a, b) => a.scenario.localeCompare(b.scenario));
}

/** True when a scenario has no FAILURE and no WARNING check (the suite's rule under a baseline). */
export function scenarioPassed(result: ScenarioResult): boolean {
  return result.checks.every((check) => check.status !== "FAILURE" && check.status !== "WARNING");
}

function countStatuses(results: ScenarioResult[]): Record<(typeof STATUSES)[number], number> {
  const counts = { SUCCESS: 0, FAILURE: 0, WARNING: 0, INFO: 0, SKIPPED: 0 };
  for (const result of results) for (const check of result.checks) counts[check.status] += 1;
  return counts;
}

/**
 * The entries of a baseline file (`server:` list, `<scenario>` or
 * `<scenario>:<check-id>`); the suite itself enforces them, this only labels
 * the printed checks.
 */
export async function baselineEntries(file: string): Promise<Set<string>> {
  const doc = parse(await readFile(file, "utf8")) as { server?: unknown } | null;
  const list = Array.isArray(doc?.server) ? doc.server : [];
  return new Set(list.filter((entry): entry is string => typeof entry === "string"));
}

/**
 * The FAILURE and WARNING checks of `results`, one line each, with their
 * messages; those a `baseline` entry covers are marked `[baseline]`.
 */
export function problemLines(results: ScenarioResult[], baseline: Set<string> = new Set()): string[] {
  const lines: string[] = [];
  for (const { scenario, checks } of results) {
    for (const check of checks) {
      if (check.status !== "FAILURE" && check.status !== "WARNING") continue;
      const expected = baseline.has(scenario) || baseline.has(`${scenario}:${check.id}`) ? " [baseline]" : "";
      lines.push(
        `  ${scenario}: ${check.status}${expected} ${check.id}${check.errorMessage ? `: ${check.errorMessage}` : ""}`,
      );
    }
  }
  return lines;
}

/** Totals of one group of scenarios, for the report. */
export interface GroupTotals {
  scenarios: number;
  passed: number;
  failed: number;
  checks: Record<(typeof STATUSES)[number], number>;
}

/** Scenario and check totals of `results`. */
export function totals(results: ScenarioResult[]): GroupTotals {
  const passed = results.filter(scenarioPassed).length;
  return { scenarios: results.length, passed, failed: results.length - passed, checks: countStatuses(results) };
}

function pad(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

/**
 * A per-scenario table (result and check counts by status) followed by the
 * totals, for scored and not-scored scenarios separately. `scored` undefined
 * means every scenario is reported as not scored (the pending header run).
 */
export function summaryTable(title: string, results: ScenarioResult[], scored?: Set<string>): string {
  const width = Math.max(8, ...results.map((r) => r.scenario.length)) + 2;
  const header = `  ${pad("scenario", width)}${pad("scored", 8)}${pad("result", 8)}${STATUSES.map((s) => pad(s.toLowerCase(), 9)).join("")}`;
  const rows = results.map((result) => {
    const counts = countStatuses([result]);
    return `  ${pad(result.scenario, width)}${pad(scored?.has(result.scenario) ? "yes" : "no", 8)}${pad(
      scenarioPassed(result) ? "pass" : "FAIL",
      8,
    )}${STATUSES.map((s) => pad(counts[s], 9)).join("")}`;
  });
  const describe = (label: string, group: ScenarioResult[]): string => {
    const t = totals(group);
    const checks = STATUSES.map((s) => `${t.checks[s]} ${s.toLowerCase()}`).join(", ");
    return `  ${label}: ${t.scenarios} scenarios, ${t.passed} passed, ${t.failed} failed; checks: ${checks}`;
  };
  const scoredResults = results.filter((r) => scored?.has(r.scenario));
  const unscored = results.filter((r) => !scored?.has(r.scenario));
  const summary = [
    ...(scored ? [describe("scored", scoredResults)] : []),
    ...(unscored.length > 0 ? [describe("not scored", unscored)] : []),
  ];
  return [`${title}`, header, ...rows, ...summary].join("\n");
}
