/**
 * `npm run test:mutation`: mutation testing of the pure and security-relevant
 * modules (scripts/mutation-modules.ts) with Stryker and its vitest runner.
 *
 * Stryker changes one small thing at a time in those files (an operator, a
 * condition, a constant, a removed statement) and runs the module's own test
 * files (its `tests`, in test/workers, inside workerd through
 * @cloudflare/vitest-plugin) against each change, only the tests that reach
 * the changed code. A change no test notices "survives": either a test is
 * missing, or the change cannot be observed (then it is explained in
 * scripts/mutation-survivors.ts). Each module is one Stryker run, so a run
 * stopped midway keeps the modules it finished (and Stryker writes what it
 * finished of the current one).
 *
 * Incremental by default: each module's last full result is checked in
 * (test/results/stryker/<module>.json) and only mutants whose code or
 * covering tests changed since are run again, so a run on an unchanged tree
 * costs one run of each module's tests. Writes test/results/mutation.md and
 * .json: the score per module, when it last ran, and every survivor with its
 * explanation. Exits 1 when a module scores under MIN_SCORE, a survivor is
 * unexplained, or a module has no result.
 *
 * Options: `--force` reruns every mutant; `--report-only` rescores the last
 * results (after editing explanations) without running anything; `--module
 * <name>` (repeatable, a prefix of a module name) runs only those modules, in
 * the order given (the report still scores every module from its last
 * result); `--concurrency <n>` (default 2).
 *
 * Limits: the e2e suite (test/e2e) cannot take part: it runs the built
 * bundle in its own workerd, out of reach of Stryker's in-process mutant
 * switch. Mutants in module-level code (constants evaluated once at import)
 * are "static" and skipped: each would need the whole suite per mutant.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Stryker } from "@stryker-mutator/core";
import { type Explanation, MIN_SCORE, MODULES, type MutationModule } from "./mutation-modules.ts";
import { type MutantResult, normalise, originalText, relative, window } from "./mutation-source.ts";

type StrykerOptions = ConstructorParameters<typeof Stryker>[0];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = path.join(ROOT, "test/results");
const INCREMENTAL_DIR = "test/results/stryker";

interface Args {
  force: boolean;
  reportOnly: boolean;
  modules: string[];
  concurrency: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { force: false, reportOnly: false, modules: [], concurrency: 2 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--force") args.force = true;
    else if (arg === "--report-only") args.reportOnly = true;
    else if (arg === "--module") args.modules.push(String(argv[++i] ?? ""));
    else if (arg === "--concurrency") args.concurrency = Math.max(1, Number(argv[++i]) || 1);
    else throw new Error(`Unknown option ${arg} (options: --force, --report-only, --module <name>, --concurrency <n>)`);
  }
  return args;
}

/**
 * The modules to run, with every path checked: a moved file stops the run
 * instead of going unmutated.
 */
function selectModules(prefixes: string[]): MutationModule[] {
  // In the order named (most wanted first: a run can be stopped, and what finished is kept).
  const selected = prefixes.length
    ? [...new Set(prefixes.flatMap((p) => MODULES.filter((m) => m.name.toLowerCase().startsWith(p.toLowerCase()))))]
    : MODULES;
  if (selected.length === 0) throw new Error(`No module matches ${prefixes.join(", ")}`);
  const missing = selected.flatMap((m) => m.files.filter((f) => !existsSync(path.join(ROOT, f))));
  if (missing.length) {
    throw new Error(`Not found: ${missing.join(", ")}. Update the paths in scripts/mutation-modules.ts.`);
  }
  return selected;
}

function strykerOptions(module: MutationModule, args: Args): StrykerOptions {
  return {
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    // The workers suite reaches most code through the Worker's fetch handler, not by importing it;
    // vitest.config.ts narrows it to the module's own tests (MUTATION_TESTS, set by main()).
    vitest: { configFile: "vitest.config.ts", related: false },
    coverageAnalysis: "perTest",
    mutate: module.files,
    ignoreStatic: true,
    incremental: true,
    incrementalFile: incrementalFile(module),
    force: args.force,
    concurrency: args.concurrency,
    // Generous: the machines are shared, and a spurious timeout would count as a kill.
    timeoutMS: 20_000,
    // The initial run is the module's tests with per-test coverage; on a shared 2-core machine it can
    // take longer than Stryker's 5-minute default, and a timed-out initial run aborts the whole run.
    dryRunTimeoutMinutes: 30,
    reporters: ["html", "clear-text", process.stdout.isTTY ? "progress" : "progress-append-only"],
    htmlReporter: { fileName: `reports/mutation/${path.basename(incrementalFile(module), ".json")}.html` },
    clearTextReporter: { allowColor: process.stdout.isTTY, logTests: false, reportMutants: false },
    tempDirName: ".stryker-tmp",
    ignorePatterns: ["test/results", "bench/results", "test/conformance/results", "reports", ".wrangler"],
  };
}

interface Survivor {
  module: string;
  file: string;
  line: number;
  mutator: string;
  original: string;
  replacement: string;
  status: string;
  explanation: string | null;
}

interface ModuleScore {
  name: string;
  files: string[];
  mutants: number;
  killed: number;
  timedOut: number;
  survived: number;
  noCoverage: number;
  /** Static mutants (module-level code), not run; see the header comment. */
  skipped: number;
  /** Mutants that did not compile or crashed the runner; not counted. */
  invalid: number;
  score: number;
}

const DETECTED = new Set(["Killed", "Timeout"]);
const UNDETECTED = new Set(["Survived", "NoCoverage"]);

function explain(
  module: MutationModule,
  mutant: { mutator: string; original: string; replacement: string; around: string },
): Explanation | null {
  const code = normalise(mutant.original);
  const around = normalise(mutant.around);
  return (
    module.explained.find(
      (e) =>
        e.mutator === mutant.mutator &&
        normalise(e.replacement) === normalise(mutant.replacement) &&
        code.includes(normalise(e.original)) &&
        (e.near === undefined || around.includes(normalise(e.near))),
    ) ?? null
  );
}

function score(modules: MutationModule[], results: MutantResult[]) {
  const sources = new Map<string, string[]>();
  const scores: ModuleScore[] = [];
  const survivors: Survivor[] = [];
  const used = new Set<Explanation>();
  for (const module of modules) {
    const mine = results.filter((r) => module.files.includes(relative(r.fileName)));
    const count = (statuses: string[]) => mine.filter((r) => statuses.includes(r.status)).length;
    const detected = mine.filter((r) => DETECTED.has(r.status)).length;
    const undetected = mine.filter((r) => UNDETECTED.has(r.status)).length;
    scores.push({
      name: module.name,
      files: module.files,
      mutants: mine.length,
      killed: count(["Killed"]),
      timedOut: count(["Timeout"]),
      survived: count(["Survived"]),
      noCoverage: count(["NoCoverage"]),
      skipped: count(["Ignored"]),
      invalid: count(["CompileError", "RuntimeError"]),
      score: detected + undetected === 0 ? 100 : Math.floor((1000 * detected) / (detected + undetected)) / 10,
    });
    for (const r of mine.filter((m) => UNDETECTED.has(m.status))) {
      const original = originalText(r, sources);
      const explanation = explain(module, {
        mutator: r.mutatorName,
        original,
        replacement: r.replacement,
        around: window(r, sources),
      });
      if (explanation) used.add(explanation);
      survivors.push({
        module: module.name,
        file: relative(r.fileName),
        line: r.location.start.line,
        mutator: r.mutatorName,
        original,
        replacement: r.replacement,
        status: r.status,
        explanation: explanation?.why ?? null,
      });
    }
  }
  const order = (s: Survivor) => modules.findIndex((m) => m.name === s.module);
  survivors.sort((a, b) => order(a) - order(b) || a.file.localeCompare(b.file) || a.line - b.line);
  const stale = modules.flatMap((m) => m.explained.filter((e) => !used.has(e)).map((e) => ({ module: m.name, ...e })));
  return { scores, survivors, stale };
}

function code(text: string, max = 90): string {
  const flat = normalise(text);
  const cut = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return `\`${cut.replaceAll("`", "'").replaceAll("|", "\\|")}\``;
}

function markdown(report: ReturnType<typeof score> & { runs: Record<string, RunInfo> }) {
  const lines = [
    "# Mutation testing report",
    "",
    `Generated by \`npm run test:mutation\` (Stryker ${strykerVersion()}, vitest runner, workers suite): each module`,
    "is mutated in its own run against its own tests (`tests` in scripts/mutation-modules.ts).",
    `Score = killed and timed-out mutants over all mutants that ran; every module must reach ${MIN_SCORE}%.`,
    "",
    "| module | files | mutants | killed | timed out | survived | no coverage | static (not run) | score | last run |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const s of report.scores) {
    const files = s.files.map((f) => `\`${f}\``).join(", ");
    lines.push(
      `| ${s.name} | ${files} | ${s.mutants} | ${s.killed} | ${s.timedOut} | ${s.survived} | ${s.noCoverage} | ${s.skipped} | ${s.score}% | ${lastRun(report.runs[s.name])} |`,
    );
  }
  const sum = (key: "mutants" | "killed" | "timedOut" | "survived" | "noCoverage" | "skipped") =>
    report.scores.reduce((n, s) => n + s[key], 0);
  const detected = sum("killed") + sum("timedOut");
  const undetected = sum("survived") + sum("noCoverage");
  const totalScore = Math.floor((1000 * detected) / Math.max(1, detected + undetected)) / 10;
  lines.push(
    `| **all** | | ${sum("mutants")} | ${sum("killed")} | ${sum("timedOut")} | ${sum("survived")} | ${sum("noCoverage")} | ${sum("skipped")} | ${totalScore}% | |`,
  );
  lines.push("", "## Survivors", "");
  if (report.survivors.length === 0) lines.push("None.");
  let current = "";
  for (const s of report.survivors) {
    if (s.module !== current) {
      current = s.module;
      lines.push(
        "",
        `### ${current}`,
        "",
        "| where | mutator | original | replacement | why it survives |",
        "| --- | --- | --- | --- | --- |",
      );
    }
    const why =
      s.explanation ?? "**UNEXPLAINED: add a test that kills it, or explain it in scripts/mutation-survivors.ts**";
    const status = s.status === "NoCoverage" ? " (no test reaches it)" : "";
    lines.push(
      `| ${s.file}:${s.line} | ${s.mutator}${status} | ${code(s.original)} | ${code(s.replacement)} | ${why} |`,
    );
  }
  const notRun = MODULES.filter((m) => !report.scores.some((s) => s.name === m.name));
  if (notRun.length) {
    lines.push("", "## Not run yet", "");
    for (const m of notRun) lines.push(`- ${m.name} (${m.files.map((f) => `\`${f}\``).join(", ")})`);
  }
  if (report.stale.length) {
    lines.push("", "## Stale explanations (matched no survivor; remove them)", "");
    for (const e of report.stale)
      lines.push(`- ${e.module}: ${e.mutator} ${code(e.original)} → ${code(e.replacement)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** "2026-11-30 09:40 UTC, incremental, 4.2 min" (or "unknown" for a result from before runs were recorded). */
function lastRun(run: RunInfo | undefined): string {
  if (!run) return "unknown";
  const when = `${run.generatedAt.slice(0, 16).replace("T", " ")} UTC`;
  return `${when}, ${run.incremental ? "incremental" : "full"}, ${run.minutes} min`;
}

function strykerVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "node_modules/@stryker-mutator/core/package.json"), "utf8"));
  return String(pkg.version);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const selected = selectModules(args.modules);
  process.chdir(ROOT);
  const runs = lastRuns();
  if (!args.reportOnly) {
    // One Stryker run per module, each against the module's own tests and its own incremental file.
    for (const module of selected) {
      const started = Date.now();
      const incremental = !args.force && existsSync(path.join(ROOT, incrementalFile(module)));
      process.env.MUTATION_TESTS = module.tests.join(",");
      await new Stryker(strykerOptions(module, args)).runMutationTest();
      const minutes = Math.round((Date.now() - started) / 6000) / 10;
      runs[module.name] = { generatedAt: new Date().toISOString(), minutes, incremental };
      // After each module, so a run stopped later keeps the report of what finished.
      writeReports(MODULES, runs);
    }
  }
  // Every module is scored from its last result, run now or before (`--report-only` runs nothing).
  if (!writeReports(MODULES, runs)) process.exitCode = 1;
}

/** When and how each module last ran. */
interface RunInfo {
  generatedAt: string;
  minutes: number;
  incremental: boolean;
}

/** A module's incremental file: Stryker's full result of its last run, which the next run starts from. */
function incrementalFile(module: MutationModule): string {
  const slug = module.name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return `${INCREMENTAL_DIR}/${slug}.json`;
}

/** The last result of `module`, or null when it never ran. */
function lastResults(module: MutationModule): MutantResult[] | null {
  const file = path.join(ROOT, incrementalFile(module));
  if (!existsSync(file)) return null;
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    files: Record<string, { mutants: Array<Omit<MutantResult, "fileName">> }>;
  };
  return Object.entries(report.files).flatMap(([fileName, f]) => f.mutants.map((m) => ({ ...m, fileName })));
}

/** The run information of the checked-in report, per module. */
function lastRuns(): Record<string, RunInfo> {
  const file = path.join(RESULTS, "mutation.json");
  if (!existsSync(file)) return {};
  const json = JSON.parse(readFileSync(file, "utf8")) as { runs?: Record<string, RunInfo> };
  return json.runs ?? {};
}

/** Writes the report; false when a module is under MIN_SCORE, a survivor is unexplained or a module never ran. */
function writeReports(modules: MutationModule[], runs: Record<string, RunInfo>): boolean {
  const ran = modules.filter((m) => lastResults(m) !== null);
  const results = ran.flatMap((m) => lastResults(m) ?? []);
  const report = { runs, ...score(ran, results) };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, "mutation.md"), markdown(report));
  writeFileSync(
    path.join(RESULTS, "mutation.json"),
    `${JSON.stringify({ minScore: MIN_SCORE, ...report }, null, 2)}\n`,
  );

  const low = report.scores.filter((s) => s.score < MIN_SCORE);
  const unexplained = report.survivors.filter((s) => s.explanation === null);
  const notRun = modules.filter((m) => !ran.includes(m));
  for (const s of report.scores) console.log(`${s.score.toFixed(1).padStart(5)}%  ${s.name} (${s.mutants} mutants)`);
  console.log(`Report: ${path.relative(ROOT, path.join(RESULTS, "mutation.md"))}`);
  if (low.length) console.error(`Under ${MIN_SCORE}%: ${low.map((s) => s.name).join(", ")}`);
  if (unexplained.length) {
    console.error(`${unexplained.length} survivor(s) neither killed nor explained (see the report)`);
  }
  if (notRun.length) console.error(`Never run: ${notRun.map((m) => m.name).join(", ")}`);
  return low.length === 0 && unexplained.length === 0 && notRun.length === 0;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
