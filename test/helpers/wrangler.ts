/**
 * What the e2e harness takes from wrangler: the project's wrangler.toml read
 * by wrangler's own config reader, the Miniflare that wrangler depends on
 * (typed locally), and the production bundle built once per process with
 * `wrangler deploy --dry-run`. `gateway.ts` serves that bundle.
 *
 * Imports carry `.ts` extensions so this also runs under
 * `node --experimental-strip-types`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_readConfig } from "wrangler";

/** Project root (the directory holding wrangler.toml). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const WRANGLER_TOML = path.join(PROJECT_ROOT, "wrangler.toml");

// ---------------------------------------------------------------------------
// wrangler and Miniflare, typed locally
// ---------------------------------------------------------------------------

/** The parts of wrangler's resolved config the harness reads. */
export interface WranglerConfig {
  name?: string;
  main?: string;
  configPath?: string;
  vars: Record<string, unknown>;
  d1_databases: Array<{ binding: string; migrations_dir?: string; migrations_table?: string }>;
  durable_objects: { bindings: Array<{ name: string; class_name: string; script_name?: string }> };
}

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface DurableObjectDesignator {
  className: string;
  scriptName?: string;
  useSQLite?: boolean;
  [key: string]: unknown;
}

/** Miniflare's v4-style per-worker options (a subset; the rest passes through untyped). */
export interface WorkerOptions {
  [key: string]: unknown;
  name: string;
  modules: BundleModule[];
  modulesRoot: string;
  bindings: Record<string, Json>;
  durableObjects?: Record<string, string | DurableObjectDesignator>;
  unsafeDirectSockets?: Array<{ host?: string; port?: number }>;
}

export type ModuleType = "ESModule" | "CommonJS" | "Text" | "Data" | "CompiledWasm";

export interface D1Statement {
  bind(...values: unknown[]): D1Statement;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run(): Promise<unknown>;
}

export interface D1Database {
  prepare(sql: string): D1Statement;
  batch(statements: D1Statement[]): Promise<unknown[]>;
}

export interface DurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): unknown;
}

/** The parts of Miniflare 5's `Miniflare` the harness and tests use (typed here, loaded from wrangler's copy). */
export interface MiniflareInstance {
  ready: Promise<URL>;
  unsafeGetDirectURL(workerName?: string): Promise<URL>;
  getD1Database(bindingName: string, workerName?: string): Promise<D1Database>;
  getDurableObjectNamespace(bindingName: string, workerName?: string): Promise<DurableObjectNamespace>;
  getQueueProducer(bindingName: string, workerName?: string): Promise<{ send(body: unknown): Promise<unknown> }>;
  dispose(): Promise<void>;
}

export interface MiniflareLog {
  readonly __brand?: "Log";
}

export interface MiniflareModule {
  Miniflare: new (options: unknown) => MiniflareInstance;
  convertV4MiniflareOptions(options: Record<string, unknown>): unknown;
  Log: new (level: number) => MiniflareLog;
  LogLevel: { WARN: number; DEBUG: number; INFO: number };
}

const requireHere = createRequire(import.meta.url);
const wranglerPackageJson = requireHere.resolve("wrangler/package.json");

/** Miniflare as wrangler resolves it (wrangler's own copy, not the hoisted one the vitest plugin uses). */
export function loadMiniflare(): MiniflareModule {
  const mod = createRequire(wranglerPackageJson)("miniflare") as Partial<MiniflareModule>;
  if (typeof mod.Miniflare !== "function" || typeof mod.convertV4MiniflareOptions !== "function") {
    throw new Error(
      "wrangler's miniflare does not export Miniflare / convertV4MiniflareOptions (expected Miniflare 5)",
    );
  }
  return mod as MiniflareModule;
}

/** Runs `fn` with wrangler's logger at `error`, silencing e.g. "Using secrets defined in .dev.vars". */
export function quietWrangler<T>(fn: () => T): T {
  const previous = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = "error";
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env.WRANGLER_LOG;
    else process.env.WRANGLER_LOG = previous;
  }
}

export function readWranglerConfig(): WranglerConfig {
  const config: WranglerConfig = quietWrangler(() => unstable_readConfig({ config: WRANGLER_TOML }));
  return config;
}

/** Durable Object bindings declared in wrangler.toml (binding name, class, and script for external ones). */
export function durableObjectBindings(): Array<{ name: string; className: string; scriptName?: string }> {
  return (readWranglerConfig().durable_objects?.bindings ?? []).map((binding) => ({
    name: binding.name,
    className: binding.class_name,
    ...(binding.script_name === undefined ? {} : { scriptName: binding.script_name }),
  }));
}

/** D1 binding names declared in wrangler.toml. */
export function d1Bindings(): string[] {
  return (readWranglerConfig().d1_databases ?? []).map((database) => database.binding);
}

// ---------------------------------------------------------------------------
// Bundle (built once per process)
// ---------------------------------------------------------------------------

export interface BundleModule {
  type: ModuleType;
  /** Absolute path the module had in wrangler's output directory (names it; the file is gone). */
  path: string;
  contents: string | Uint8Array;
}

export interface Bundle {
  /** wrangler's output directory (deleted once read; `modulesRoot` for naming). */
  dir: string;
  /** The main module first. */
  modules: BundleModule[];
}

let bundlePromise: Promise<Bundle> | undefined;

/**
 * Builds the production bundle with `wrangler deploy --dry-run` once per
 * process and keeps it in memory (the output directory is removed at once,
 * so nothing is left behind even if the process is killed).
 */
export function buildBundle(): Promise<Bundle> {
  bundlePromise ??= build().catch((error: unknown) => {
    bundlePromise = undefined;
    throw error;
  });
  return bundlePromise;
}

/** Node >= 22.12 for wrangler: the current one if new enough, else the project's `node` devDependency. */
function node22(): string {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return process.execPath;
  const local = path.join(PROJECT_ROOT, "node_modules", ".bin", "node");
  if (!existsSync(local)) throw new Error("Node >= 22.12 is needed for wrangler; run `npm install` first");
  return local;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${path.basename(args[0] ?? command)} ${args.slice(1).join(" ")} exited ${code}:\n${output}`));
    });
  });
}

const MODULE_TYPES: Record<string, ModuleType> = {
  ".js": "ESModule",
  ".mjs": "ESModule",
  ".cjs": "CommonJS",
  ".wasm": "CompiledWasm",
  ".txt": "Text",
  ".html": "Text",
  ".sql": "Text",
  ".bin": "Data",
};

async function build(): Promise<Bundle> {
  const dir = await mkdtemp(path.join(tmpdir(), "mcpgw-bundle-"));
  try {
    const wrangler = path.join(path.dirname(wranglerPackageJson), "bin", "wrangler.js");
    await run(node22(), [wrangler, "deploy", "--dry-run", "--outdir", dir, "--config", WRANGLER_TOML], {
      ...process.env,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
    });

    const config = readWranglerConfig();
    const mainName = `${path.basename(config.main ?? "index.js").replace(/\.[cm]?[jt]sx?$/, "")}.js`;
    const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
      .sort();
    if (!files.includes(mainName)) throw new Error(`wrangler did not write ${mainName}: ${files.join(", ")}`);
    const modules: BundleModule[] = [];
    for (const file of [mainName, ...files.filter((f) => f !== mainName)]) {
      const type = MODULE_TYPES[path.extname(file)];
      if (type === undefined) continue; // source maps, README.md
      const absolute = path.join(dir, file);
      const binary = type === "Data" || type === "CompiledWasm";
      const contents = binary ? new Uint8Array(await readFile(absolute)) : await readFile(absolute, "utf8");
      modules.push({ type, path: absolute, contents });
    }
    return { dir, modules };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
