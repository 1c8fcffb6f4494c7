/**
 * `npm run bench:sdk`: the numbers behind the SDK choice in the README
 * ("Protocol code: hand-written or the SDK v2"). It bundles two entry points
 * with esbuild the way wrangler bundles the Worker (ESM, minified, workerd
 * conditions) and compares them:
 *
 * - ours: `classifyEra` (src/edge/era.ts) and `classify` (src/protocol/jsonrpc.ts),
 *   what the gateway runs on every MCP POST;
 * - sdk: `classifyInboundRequest` and `parseJSONRPCMessage` from
 *   `@modelcontextprotocol/server` 2.4 (zod v4 message schemas), the same job.
 *
 * For each it reports the bundle's size (minified and gzip, with zod whole in
 * both, as in the Worker) and the time per
 * request for a 2025 `tools/call` and a 2026 `tools/call`, in interleaved
 * rounds (ours, sdk, ours, sdk …) with the median and the min–max spread.
 * It runs on Node's V8 (the same engine as workerd), as a microbenchmark of
 * the classification step only; the end-to-end cost of a call is `npm run bench`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.SDK_BENCH_ROUNDS ?? 7);
const ITERATIONS = Number(process.env.SDK_BENCH_ITERATIONS ?? 20_000);

// Both entries keep zod whole, as the Worker does (the admin API's schemas), so
// the bundle columns show what each choice adds to the Worker, not zod twice.
const ZOD = `import * as z from "zod"; globalThis.__zod = z;`;

const ENTRIES = {
  ours: `${ZOD}
import { classifyEra } from ${JSON.stringify(path.join(ROOT, "src/edge/era.ts"))};
import { classify } from ${JSON.stringify(path.join(ROOT, "src/protocol/jsonrpc.ts"))};
export function run(text, headers) {
  const body = JSON.parse(text);
  const verdict = classifyEra(body, headers);
  if ("refuse" in verdict) throw new Error("refused");
  if (classify(body) === null) throw new Error("invalid");
}`,
  sdk: `${ZOD}
import { classifyInboundRequest, parseJSONRPCMessage } from "@modelcontextprotocol/server";
export function run(text, headers) {
  const body = JSON.parse(text);
  const verdict = classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: headers.protocolVersion ?? undefined,
    mcpMethodHeader: headers.method ?? undefined,
    body,
  });
  if (verdict.kind === "reject") throw new Error("refused");
  parseJSONRPCMessage(body);
}`,
} as const;

type Name = keyof typeof ENTRIES;
type Run = (text: string, headers: { protocolVersion: string | null; method: string | null }) => void;

const ARGS = { name: "search", arguments: { query: "weather in Lisbon", limit: 5 } };
const CASES = {
  "2025 tools/call": {
    text: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: ARGS }),
    headers: { protocolVersion: "2025-11-25", method: null },
  },
  "2026 tools/call": {
    text: JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: {
        ...ARGS,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
    headers: { protocolVersion: "2026-07-28", method: "tools/call" },
  },
} as const;

async function bundle(name: Name, dir: string): Promise<{ run: Run; min: number; gzip: number }> {
  const result = await build({
    stdin: { contents: ENTRIES[name], resolveDir: ROOT, loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles?.[0]?.contents;
  if (!code) throw new Error(`esbuild produced no output for ${name}`);
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(file, code);
  const mod = (await import(pathToFileURL(file).href)) as { run: Run };
  return { run: mod.run, min: code.byteLength, gzip: gzipSync(code).byteLength };
}

function time(run: Run, c: (typeof CASES)[keyof typeof CASES]): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) run(c.text, c.headers);
  return Number(process.hrtime.bigint() - start) / ITERATIONS;
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `${Math.round(median)} (${Math.round(sorted[0] ?? 0)}–${Math.round(sorted.at(-1) ?? 0)})`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "sdk-bench-"));
  const bundles = { ours: await bundle("ours", dir), sdk: await bundle("sdk", dir) };
  const samples = new Map<string, number[]>();
  for (const name of Object.keys(bundles) as Name[]) for (const c of Object.values(CASES)) time(bundles[name].run, c);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, c] of Object.entries(CASES)) {
      for (const name of Object.keys(bundles) as Name[]) {
        const key = `${name}|${label}`;
        samples.set(key, [...(samples.get(key) ?? []), time(bundles[name].run, c)]);
      }
    }
  }
  const version = JSON.parse(
    readFileSync(path.join(ROOT, "node_modules/@modelcontextprotocol/server/package.json"), "utf8"),
  ).version;
  const lines = [
    `# SDK choice: classification and message validation per MCP POST`,
    "",
    `${new Date().toISOString()}, Node ${process.version}, @modelcontextprotocol/server ${version}, ${ROUNDS} interleaved rounds of ${ITERATIONS} requests; ns per request, median (min–max).`,
    "",
    `| code | bundle (min) | bundle (gzip) | ${Object.keys(CASES).join(" | ")} |`,
    `| --- | ---: | ---: | ${Object.keys(CASES)
      .map(() => "---:")
      .join(" | ")} |`,
  ];
  for (const name of Object.keys(bundles) as Name[]) {
    const b = bundles[name];
    const cells = Object.keys(CASES).map((label) => stats(samples.get(`${name}|${label}`) ?? []));
    lines.push(
      `| ${name} | ${(b.min / 1024).toFixed(1)} KiB | ${(b.gzip / 1024).toFixed(1)} KiB | ${cells.join(" | ")} |`,
    );
  }
  const table = `${lines.join("\n")}\n`;
  writeFileSync(path.join(ROOT, "bench/results/sdk-choice.md"), table);
  process.stdout.write(table);
}

await main();
