/**
 * End-to-end harness: the production bundle on workerd, without `wrangler dev`.
 *
 * `startGateway()` builds the bundle once per process (`wrangler deploy
 * --dry-run --outdir <tmp>`, with the project's Node 22) and serves it
 * through the Miniflare that wrangler itself depends on, with the bindings
 * declared in wrangler.toml (read by wrangler's own config reader, so D1
 * databases, Durable Object namespaces, queues and vars added later are picked
 * up without touching this file): local D1 with the migrations applied, SQLite
 * Durable Objects, queue producers and consumers, vars plus a random
 * `ADMIN_TOKEN` and `ALLOW_PRIVATE_BACKENDS=true`.
 *
 * `isolates: 2` runs two workers from the same bundle in one Miniflare: two
 * isolates with separate memory that share the D1 database, the Durable Object
 * instances (the classes live in the first worker; the second binds to them
 * with `scriptName`) and the queues (one consumer, on the first worker). A
 * small round-robin proxy spreads requests over both; responses carry
 * `x-e2e-isolate: <index>`.
 *
 * Everything listens on 127.0.0.1. Imports carry `.ts` extensions so this also
 * runs under `node --experimental-strip-types` (see serve-bundle.ts).
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import { type RoundRobinProxy, startRoundRobinProxy } from "./proxy.ts";
import {
  type Bundle,
  buildBundle,
  type DurableObjectDesignator,
  type Json,
  loadMiniflare,
  type MiniflareInstance,
  PROJECT_ROOT,
  quietWrangler,
  readWranglerConfig,
  type WorkerOptions,
  WRANGLER_TOML,
  type WranglerConfig,
} from "./wrangler.ts";

export {
  buildBundle,
  type D1Database,
  type D1Statement,
  type DurableObjectNamespace,
  d1Bindings,
  durableObjectBindings,
  loadMiniflare,
  type MiniflareInstance,
  PROJECT_ROOT,
} from "./wrangler.ts";

const HOST = "127.0.0.1";

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface GatewayOptions {
  /** 1 (default): one worker, `url` is its own socket. 2: two isolates behind a round-robin proxy. */
  isolates?: 1 | 2;
  /** Extra vars / secrets; override wrangler.toml's vars and the harness defaults. */
  vars?: Record<string, string>;
  /** Port for `url` (the worker's socket, or the proxy's with 2 isolates). Default 0 (free port). */
  port?: number;
  /** Print Miniflare's and the Worker's logs (default: env `E2E_GATEWAY_LOG=1`). */
  log?: boolean;
  /**
   * false: no `SPANS` queue (producer or consumer), so the process runs only
   * the request path (the benchmark's decomposition row). Default true.
   */
  spans?: boolean;
  /** Open workerd's V8 inspector on this port (for CPU profiles, `npm run bench:profile`). */
  inspectorPort?: number;
  /**
   * Keep local state (D1, Durable Objects) in this directory and leave it on
   * stop, so a later gateway can start on the same state (a restart).
   */
  storage?: string;
  /** The admin token (default: a random one). */
  adminToken?: string;
  /**
   * Adjusts the gateway worker's Miniflare options in place and returns
   * workers to run beside it in the same workerd (the benchmark's span
   * forwarder and ingest, `bench/stack.ts`).
   */
  customize?: (gateway: Record<string, unknown>) => Array<Record<string, unknown> & { name: string }>;
}

export interface Gateway {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** The `ADMIN_TOKEN` secret the gateway runs with. */
  adminToken: string;
  /** Base URL of each isolate's own socket (one or two entries), bypassing the proxy. */
  isolateUrls: string[];
  /** Stops the proxy and Miniflare and removes the gateway's local storage. */
  stop(): Promise<void>;
  /**
   * Escape hatch into the runtime, for assertions the HTTP surface cannot
   * make (rows in D1, Durable Object state). Worker names are in `workerNames`.
   */
  miniflare: MiniflareInstance;
  /** Miniflare worker name of each isolate, in `isolateUrls` order. */
  workerNames: string[];
}

// ---------------------------------------------------------------------------
// Miniflare options
// ---------------------------------------------------------------------------

function isDesignator(value: unknown): value is DurableObjectDesignator {
  return (
    typeof value === "object" && value !== null && typeof (value as { className?: unknown }).className === "string"
  );
}

function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

/**
 * Worker options mirroring wrangler.toml, as wrangler computes them for its
 * own local runtime, with the bundle as the source and the harness's vars.
 */
function baseWorkerOptions(config: WranglerConfig, bundle: Bundle, vars: Record<string, string>): WorkerOptions {
  const { workerOptions, externalWorkers } = quietWrangler(() => unstable_getMiniflareWorkerOptions(WRANGLER_TOML));
  if (Array.isArray(externalWorkers) && externalWorkers.length > 0) {
    throw new Error("wrangler.toml needs external workers (e.g. remote bindings); the e2e harness does not run those");
  }
  // `modulesRules` apply to unbundled sources (and Miniflare 5's v4 adapter rejects them); `bindings`
  // would include .dev.vars, which the tests must not depend on.
  const { modulesRules: _rules, bindings: _devBindings, ...rest } = workerOptions as Record<string, unknown>;
  const bindings: Record<string, Json> = {};
  for (const [key, value] of Object.entries(config.vars ?? {})) bindings[key] = toJson(value);
  Object.assign(bindings, vars);
  return {
    ...rest,
    name: config.name ?? "gateway",
    modules: bundle.modules,
    modulesRoot: bundle.dir,
    bindings,
  };
}

/** The second isolate: same bundle and bindings, bound to the first worker's Durable Object classes. */
function secondWorkerOptions(first: WorkerOptions): WorkerOptions {
  const durableObjects: Record<string, DurableObjectDesignator> = {};
  for (const [binding, designator] of Object.entries(first.durableObjects ?? {})) {
    const resolved = typeof designator === "string" ? { className: designator } : designator;
    if (!isDesignator(resolved)) throw new Error(`unexpected Durable Object binding ${binding}`);
    durableObjects[binding] = { ...resolved, scriptName: resolved.scriptName ?? first.name };
  }
  return {
    ...first,
    name: `${first.name}-isolate-2`,
    durableObjects,
    // Classes without bindings are declared once, in the first worker.
    additionalUnboundDurableObjects: [],
    // A queue has one consumer: the first worker. Both produce.
    queueConsumers: {},
    // Cron triggers would fire twice.
    cronTriggers: [],
  };
}

// ---------------------------------------------------------------------------
// D1 migrations
// ---------------------------------------------------------------------------

/**
 * Applies every D1 database's migrations the way `wrangler d1 migrations
 * apply` does: `*.sql` in name order, each in one batch, recorded in the
 * migrations table.
 */
async function applyMigrations(mf: MiniflareInstance, config: WranglerConfig, workerName: string): Promise<void> {
  const configDir = config.configPath ? path.dirname(config.configPath) : PROJECT_ROOT;
  for (const database of config.d1_databases ?? []) {
    const dir = path.resolve(configDir, database.migrations_dir ?? "migrations");
    if (!existsSync(dir)) continue;
    const table = database.migrations_table ?? "d1_migrations";
    const db = await mf.getD1Database(database.binding, workerName);
    await db.batch([
      db.prepare(
        `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      ),
    ]);
    // A restart on kept storage applies only what is new, like wrangler.
    const applied = new Set(
      (await db.prepare(`SELECT name FROM ${table}`).all<{ name: string }>()).results.map((r) => r.name),
    );
    const files = (await readdir(dir)).filter((file) => file.endsWith(".sql") && !applied.has(file)).sort();
    for (const file of files) {
      const sql = await readFile(path.join(dir, file), "utf8");
      const statements = unstable_splitSqlQuery(sql)
        .map((statement) => statement.trim())
        .filter((statement) => statement.length > 0);
      await db.batch([
        ...statements.map((statement) => db.prepare(statement)),
        db.prepare(`INSERT INTO ${table} (name) VALUES (?)`).bind(file),
      ]);
    }
  }
}

// ---------------------------------------------------------------------------
// startGateway
// ---------------------------------------------------------------------------

function baseUrl(url: URL): string {
  return url.origin;
}

/** Starts the gateway; see the module comment. */
export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const isolates = opts.isolates ?? 1;
  const log = opts.log ?? process.env.E2E_GATEWAY_LOG === "1";
  const bundle = await buildBundle();
  const config = readWranglerConfig();
  const miniflare = loadMiniflare();
  const adminToken = opts.adminToken ?? randomBytes(24).toString("base64url");
  const keepStorage = opts.storage !== undefined;
  const storage = opts.storage ?? (await mkdtemp(path.join(tmpdir(), "mcpgw-e2e-")));

  const vars = { ADMIN_TOKEN: adminToken, ALLOW_PRIVATE_BACKENDS: "true", ...opts.vars };
  const directPort = isolates === 1 ? (opts.port ?? 0) : 0;
  const first = baseWorkerOptions(config, bundle, vars);
  if (opts.spans === false) {
    first.queueProducers = {};
    first.queueConsumers = {};
  }
  first.unsafeDirectSockets = [{ host: HOST, port: directPort }];
  const extra = opts.customize?.(first) ?? [];
  const workers = [first];
  if (isolates === 2) workers.push({ ...secondWorkerOptions(first), unsafeDirectSockets: [{ host: HOST, port: 0 }] });

  const mf = new miniflare.Miniflare(
    miniflare.convertV4MiniflareOptions({
      host: HOST,
      port: 0,
      cf: false,
      logRequests: false,
      telemetry: { enabled: false },
      unsafeLocalExplorer: false,
      ...(opts.inspectorPort !== undefined && { inspectorPort: opts.inspectorPort }),
      resourcePersistencePath: storage,
      log: log ? new miniflare.Log(miniflare.LogLevel.DEBUG) : new miniflare.Log(miniflare.LogLevel.WARN),
      workers: [...workers, ...extra],
    }),
  );

  // Backstop for a process that exits without stop(); a killed one leaves only this directory.
  const removeStorage = (): void => {
    if (!keepStorage) rmSync(storage, { recursive: true, force: true });
  };
  process.once("exit", removeStorage);
  let proxy: RoundRobinProxy | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await proxy?.close().catch(() => undefined);
      await mf.dispose().catch(() => undefined);
      if (!keepStorage) await rm(storage, { recursive: true, force: true });
      process.off("exit", removeStorage);
    })();
    return stopped;
  };

  try {
    await mf.ready;
    await applyMigrations(mf, config, first.name);
    const isolateUrls: string[] = [];
    for (const worker of workers) isolateUrls.push(baseUrl(await mf.unsafeGetDirectURL(worker.name)));
    let url = isolateUrls[0] ?? "";
    if (isolates === 2) {
      proxy = await startRoundRobinProxy(isolateUrls, { port: opts.port ?? 0 });
      url = proxy.url;
    }
    return { url, adminToken, isolateUrls, stop, miniflare: mf, workerNames: workers.map((w) => w.name) };
  } catch (error) {
    await stop();
    throw error;
  }
}
