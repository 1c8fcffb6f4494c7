/**
 * `npm run deploy`: one command from a fresh clone to a running gateway
 * (README, "Deploy to Cloudflare"). Every step is idempotent and uses
 * wrangler's own commands:
 *
 * 1. the D1 database of each `[[d1_databases]]`: created when the account has
 *    none of that name (`wrangler d1 create`), its id written into
 *    wrangler.toml when it differs (wrangler writes ids itself only into JSON
 *    configs, and its deploy-time provisioning runs after migrations would
 *    need the database);
 * 2. every queue wrangler.toml names (producers, consumers and dead-letter
 *    queues, which deploy-time provisioning does not create);
 * 3. D1 migrations, applied remotely before the new code goes live;
 * 4. a reminder for each missing secret (`ADMIN_TOKEN`, `ENCRYPTION_KEY`);
 * 5. `wrangler deploy`.
 *
 * `npm run deploy -- --dry-run` runs no command that needs the network or an
 * account: it prints the plan, then builds the bundle with
 * `wrangler deploy --dry-run` (offline), and changes no file.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TOML = path.join(ROOT, "wrangler.toml");

/** The secrets the gateway needs (docs/design.md, "External contract"; README, "Keys and rotation"). */
export const REQUIRED_SECRETS = ["ADMIN_TOKEN", "ENCRYPTION_KEY"] as const;

/** What a wrangler command answered. */
export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wrangler <args>`; `interactive` lets it talk to the terminal (prompts, progress). */
export type Wrangler = (args: string[], options?: { interactive?: boolean }) => Promise<Answer>;

/** The resources wrangler.toml declares. */
export interface Resources {
  databases: Array<{ binding: string; name: string; id: string | undefined }>;
  queues: string[];
}

/** The D1 databases and queues of a wrangler.toml (as wrangler's own reader resolved it). */
export function resourcesOf(config: {
  d1_databases?: Array<{ binding: string; database_name?: string; database_id?: string }>;
  queues?: {
    producers?: Array<{ queue: string }>;
    consumers?: Array<{ queue: string; dead_letter_queue?: string }>;
  };
}): Resources {
  const queues = new Set<string>();
  for (const p of config.queues?.producers ?? []) queues.add(p.queue);
  for (const c of config.queues?.consumers ?? []) {
    queues.add(c.queue);
    if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
  }
  return {
    databases: (config.d1_databases ?? []).map((d) => ({
      binding: d.binding,
      name: d.database_name ?? d.binding,
      id: d.database_id,
    })),
    queues: [...queues],
  };
}

/**
 * wrangler.toml with `database_id` of the `[[d1_databases]]` block named
 * `name` set to `id` (added after `database_name` if the block has none).
 * Only that line changes; comments and layout stay.
 */
export function setDatabaseId(toml: string, name: string, id: string): string {
  const blocks = toml.split(/(?=^\[)/m);
  return blocks
    .map((block) => {
      if (!/^\[\[d1_databases\]\]/.test(block)) return block;
      if (!new RegExp(`^database_name\\s*=\\s*"${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"`, "m").test(block)) {
        return block;
      }
      if (/^database_id\s*=.*$/m.test(block)) return block.replace(/^database_id\s*=.*$/m, `database_id = "${id}"`);
      return block.replace(/^(database_name\s*=.*)$/m, `$1\ndatabase_id = "${id}"`);
    })
    .join("");
}

/** The first JSON value in a command's output (wrangler may print notices around it). */
function jsonIn(text: string): unknown {
  const start = text.search(/[[{]/);
  if (start < 0) throw new Error(`expected JSON from wrangler, got: ${text.slice(0, 200)}`);
  return JSON.parse(text.slice(start));
}

const notFound = (a: Answer) => /not\s*found|does not exist|\b11000\b|\b10007\b/i.test(`${a.stdout}\n${a.stderr}`);
const exists = (a: Answer) => /already exists|\b11009\b/i.test(`${a.stdout}\n${a.stderr}`);

function failed(step: string, a: Answer): Error {
  return new Error(`${step} failed (exit ${a.code}):\n${(a.stderr || a.stdout).trim().slice(0, 2000)}`);
}

/** What a run did or (dry run) would do, in order. */
export interface Report {
  steps: string[];
  /** Required secrets the Worker lacks (never known on a dry run). */
  missingSecrets: string[];
}

/** The required secrets the deployed Worker lacks (all of them before its first deploy). */
export async function missingSecrets(wrangler: Wrangler): Promise<string[]> {
  const listed = await wrangler(["secret", "list", "--format", "json"]);
  if (listed.code !== 0) {
    if (notFound(listed)) return [...REQUIRED_SECRETS];
    throw failed("wrangler secret list", listed);
  }
  const names = new Set((jsonIn(listed.stdout) as Array<{ name: string }>).map((s) => s.name));
  return REQUIRED_SECRETS.filter((s) => !names.has(s));
}

/**
 * Deploys (see the module comment). `wrangler` runs commands; `toml` is
 * wrangler.toml's text and `saveToml` writes it (before migrations, which
 * read the database id from it). A dry run runs only the offline bundle
 * build and saves nothing.
 */
export async function deploy(options: {
  dryRun: boolean;
  resources: Resources;
  toml: string;
  saveToml: (text: string) => Promise<void>;
  wrangler: Wrangler;
  log: (line: string) => void;
  outdir?: string;
}): Promise<Report> {
  const { dryRun, resources, wrangler, log } = options;
  const steps: string[] = [];
  const step = (text: string) => {
    steps.push(text);
    log(`${dryRun ? "[dry run] " : ""}${text}`);
  };
  const remind = (missing: readonly string[]) => {
    if (missing.length === 0) return;
    log(`Missing secrets: ${missing.join(", ")}. Set each to a long random value (e.g. openssl rand -base64 32):`);
    for (const name of missing) log(`  npx wrangler secret put ${name}`);
  };

  if (dryRun) {
    for (const db of resources.databases) {
      step(
        `would check D1 database ${db.name} (wrangler d1 list --json), create it if missing (wrangler d1 create ${db.name}) and write its id into wrangler.toml`,
      );
    }
    for (const q of resources.queues)
      step(`would check queue ${q} (wrangler queues info ${q}) and create it if missing`);
    for (const db of resources.databases) {
      step(`would apply D1 migrations remotely (wrangler d1 migrations apply ${db.binding} --remote)`);
    }
    step(`would check the secrets ${REQUIRED_SECRETS.join(", ")} (wrangler secret list)`);
    const outdir = options.outdir ?? path.join(tmpdir(), "mcpgw-deploy-dry-run");
    const built = await wrangler(["deploy", "--dry-run", "--outdir", outdir]);
    if (built.code !== 0) throw failed("wrangler deploy --dry-run", built);
    step(
      `built the bundle offline (wrangler deploy --dry-run): ${/Total Upload:[^\n]*/.exec(built.stdout)?.[0] ?? "ok"}`,
    );
    step("would deploy (wrangler deploy)");
    return { steps, missingSecrets: [] };
  }

  const who = await wrangler(["whoami"]);
  if (who.code !== 0 || /not authenticated/i.test(who.stdout + who.stderr)) {
    throw new Error(
      "Not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then deploy again.",
    );
  }

  let toml = options.toml;
  if (resources.databases.length > 0) {
    const list = async () => {
      const listed = await wrangler(["d1", "list", "--json"]);
      if (listed.code !== 0) throw failed("wrangler d1 list", listed);
      return jsonIn(listed.stdout) as Array<{ name: string; uuid: string }>;
    };
    let known = await list();
    for (const db of resources.databases) {
      let found = known.find((d) => d.name === db.name);
      if (found) step(`D1 database ${db.name} exists (${found.uuid})`);
      else {
        const created = await wrangler(["d1", "create", db.name]);
        if (created.code !== 0 && !exists(created)) throw failed(`wrangler d1 create ${db.name}`, created);
        known = await list();
        found = known.find((d) => d.name === db.name);
        if (!found) throw new Error(`D1 database ${db.name} was created but is not listed`);
        step(`created D1 database ${db.name} (${found.uuid})`);
      }
      if (db.id !== found.uuid) {
        toml = setDatabaseId(toml, db.name, found.uuid);
        step(`wrote database_id ${found.uuid} for ${db.name} into wrangler.toml`);
      }
    }
    if (toml !== options.toml) await options.saveToml(toml);
  }

  for (const q of resources.queues) {
    const info = await wrangler(["queues", "info", q]);
    if (info.code === 0) {
      step(`queue ${q} exists`);
      continue;
    }
    if (!notFound(info)) throw failed(`wrangler queues info ${q}`, info);
    const created = await wrangler(["queues", "create", q]);
    if (created.code !== 0 && !exists(created)) throw failed(`wrangler queues create ${q}`, created);
    step(`created queue ${q}`);
  }

  for (const db of resources.databases) {
    const migrated = await wrangler(["d1", "migrations", "apply", db.binding, "--remote"], { interactive: true });
    if (migrated.code !== 0) throw failed(`wrangler d1 migrations apply ${db.binding} --remote`, migrated);
    step(`applied D1 migrations to ${db.name}`);
  }

  const missing = await missingSecrets(wrangler);
  remind(missing);
  const released = await wrangler(["deploy"], { interactive: true });
  if (released.code !== 0) throw failed("wrangler deploy", released);
  step("deployed (wrangler deploy)");
  remind(missing);
  return { steps, missingSecrets: missing };
}

/** Runs the project's wrangler (node_modules/.bin, so the project's version) in the project root. */
const runWrangler: Wrangler = (args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn("wrangler", args, {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" },
      stdio: options.interactive ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

async function main(argv: string[]): Promise<number> {
  const dryRun = argv.includes("--dry-run");
  const unknown = argv.filter((a) => a !== "--dry-run");
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(" ")}\nusage: npm run deploy [-- --dry-run]`);
    return 1;
  }
  const { unstable_readConfig } = await import("wrangler");
  const resources = resourcesOf(unstable_readConfig({ config: TOML }) as Parameters<typeof resourcesOf>[0]);
  const outdir = dryRun ? await mkdtemp(path.join(tmpdir(), "mcpgw-deploy-")) : undefined;
  try {
    await deploy({
      dryRun,
      resources,
      toml: await readFile(TOML, "utf8"),
      saveToml: (text) => writeFile(TOML, text),
      wrangler: runWrangler,
      log: (l) => console.log(l),
      ...(outdir && { outdir }),
    });
    console.log(
      dryRun
        ? "Dry run: nothing was created, changed or deployed."
        : "Deployed. The admin console is at https://<your worker's host>/admin",
    );
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    if (outdir) await rm(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
