/**
 * `npm run config -- export|diff|apply …`: configuration as code against a
 * running gateway, for GitOps pipelines (README, "Configuration as code").
 *
 *   npm run config -- export [FILE]                     the document (stdout without FILE)
 *   npm run config -- diff FILE [--mode replace]        what applying would change; exit 2 if anything
 *   npm run config -- apply FILE [--mode replace]       apply it (all or nothing)
 *
 * The gateway is `--url` or `MCPGW_URL` (default http://127.0.0.1:8787); the
 * admin credential is `MCPGW_TOKEN` or `ADMIN_TOKEN` from the environment,
 * never a flag (flags show up in process lists and CI logs). Header values
 * in the document are `{"secretRef": "NAME"}` references: `diff` and
 * `apply` fill each from the environment variable NAME when it is set; an
 * unfilled one keeps the value the gateway already stores.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** What one section of an import changes (the API's answer). */
export interface SectionChanges {
  created: string[];
  updated: Array<{ name: string; fields: string[] }>;
  deleted: string[];
  unchanged: number;
}

const SECTIONS = ["backends", "servers", "plugins", "tokens"] as const;

function isRef(value: unknown): value is { secretRef: string } {
  return (
    typeof value === "object" && value !== null && typeof (value as { secretRef?: unknown }).secretRef === "string"
  );
}

function fillHeaders(headers: unknown, env: NodeJS.ProcessEnv, filled: string[]): unknown {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) return headers;
  return Object.fromEntries(
    Object.entries(headers).map(([h, v]) => {
      if (!isRef(v)) return [h, v];
      const value = env[v.secretRef];
      if (value === undefined) return [h, v];
      filled.push(v.secretRef);
      return [h, value];
    }),
  );
}

/**
 * The document with every `{secretRef}` whose variable is set in `env`
 * replaced by its value (backend headers and plugin config headers), and the
 * names that were filled. Pure: the input is not changed.
 */
export function fillSecretRefs(doc: unknown, env: NodeJS.ProcessEnv): { doc: unknown; filled: string[] } {
  if (typeof doc !== "object" || doc === null) return { doc, filled: [] };
  const d = doc as { backends?: unknown; plugins?: unknown };
  const filled: string[] = [];
  const backends = Array.isArray(d.backends)
    ? d.backends.map((b: Record<string, unknown>) =>
        b && typeof b === "object" && "headers" in b ? { ...b, headers: fillHeaders(b.headers, env, filled) } : b,
      )
    : d.backends;
  const plugins = Array.isArray(d.plugins)
    ? d.plugins.map((p: Record<string, unknown>) => {
        const config = p?.config as Record<string, unknown> | undefined;
        if (!config || typeof config !== "object" || !("headers" in config)) return p;
        return { ...p, config: { ...config, headers: fillHeaders(config.headers, env, filled) } };
      })
    : d.plugins;
  return { doc: { ...d, backends, plugins }, filled };
}

/** The changes as lines a person reads: per section a summary, then `+` created, `~` updated (fields), `-` deleted. */
export function formatChanges(changes: Record<string, SectionChanges>): string {
  const lines: string[] = [];
  for (const section of SECTIONS) {
    const c = changes[section];
    if (!c) continue;
    lines.push(
      `${section}: ${c.created.length} created, ${c.updated.length} updated, ${c.deleted.length} deleted, ${c.unchanged} unchanged`,
    );
    for (const name of c.created) lines.push(`  + ${name}`);
    for (const u of c.updated) lines.push(`  ~ ${u.name} (${u.fields.join(", ")})`);
    for (const name of c.deleted) lines.push(`  - ${name}`);
  }
  return lines.join("\n");
}

/** True when the changes would write anything. */
export function hasChanges(changes: Record<string, SectionChanges>): boolean {
  return Object.values(changes).some((c) => c.created.length + c.updated.length + c.deleted.length > 0);
}

interface Args {
  command: string;
  file?: string;
  url: string;
  mode: "merge" | "replace";
}

const USAGE = "usage: npm run config -- export [FILE] | diff FILE | apply FILE  [--url URL] [--mode merge|replace]";

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  const positional: string[] = [];
  let url = env.MCPGW_URL || "http://127.0.0.1:8787";
  let mode: Args["mode"] = "merge";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--url") url = argv[++i] ?? "";
    else if (arg === "--mode") {
      const value = argv[++i];
      if (value !== "merge" && value !== "replace") throw new Error(`--mode must be merge or replace\n${USAGE}`);
      mode = value;
    } else if (arg.startsWith("--")) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else positional.push(arg);
  }
  const [command = "", file] = positional;
  if (!["export", "diff", "apply"].includes(command) || (command !== "export" && !file)) throw new Error(USAGE);
  return { command, url: url.replace(/\/+$/, ""), mode, ...(file !== undefined && { file }) };
}

async function call(args: Args, token: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${args.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new Error(`${method} ${route}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) {
    const error = (json as { error?: { message?: string; details?: Array<{ path: string; message: string }> } })?.error;
    const details = (error?.details ?? []).map((d) => `  ${d.path}: ${d.message}`).join("\n");
    throw new Error(`${method} ${route}: HTTP ${res.status} ${error?.message ?? ""}${details ? `\n${details}` : ""}`);
  }
  return json;
}

/** Runs the CLI; resolves with the exit code (0 ok, 1 error, 2 `diff` found changes). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv, env);
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
  const token = env.MCPGW_TOKEN || env.ADMIN_TOKEN;
  if (!token) {
    console.error("Set MCPGW_TOKEN (or ADMIN_TOKEN) to the admin token or an API token with scope admin.");
    return 1;
  }
  try {
    if (args.command === "export") {
      const text = `${JSON.stringify(await call(args, token, "GET", "/api/config/export"), null, 2)}\n`;
      if (args.file) await writeFile(args.file, text);
      else process.stdout.write(text);
      return 0;
    }
    const { doc, filled } = fillSecretRefs(JSON.parse(await readFile(args.file ?? "", "utf8")), env);
    if (filled.length > 0) console.error(`filled from the environment: ${filled.join(", ")}`);
    const dryRun = args.command === "diff";
    const answer = (await call(args, token, "POST", `/api/config/import?mode=${args.mode}&dryRun=${dryRun}`, doc)) as {
      applied: boolean;
      changes: Record<string, SectionChanges>;
    };
    console.log(formatChanges(answer.changes));
    if (dryRun) return hasChanges(answer.changes) ? 2 : 0;
    console.log(answer.applied ? "applied (one config version)" : "nothing to apply");
    return 0;
  } catch (err) {
    console.error((err as Error).message);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
