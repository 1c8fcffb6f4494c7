/**
 * `npm run check:layout`: the layout rules of docs/design.md, checked on the
 * source (run by `npm test`).
 *
 * 1. No import cycle between files (runtime imports; `import type` is erased
 *    and cannot create a load-order cycle).
 * 2. Data flows one way: a folder imports only folders below it in `LAYERS`
 *    (or itself). Type-only imports may also name Durable Object classes and
 *    `src/env.ts`, because typed stubs and bindings need their types; nothing
 *    else may look upward, not even for a type.
 *
 * Hand-written (about a hundred lines) rather than `madge`: madge finds cycles
 * but knows nothing of our layering, and it would add a dependency tree for a
 * job that needs only the TypeScript files' import lines.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * Top to bottom. Each entry is a folder (or file) prefix relative to the
 * project root; the most specific prefix wins. A module may import its own
 * layer or any layer below it.
 */
export const LAYERS: readonly string[][] = [
  ["src/index.ts"],
  ["src/app.ts"],
  ["src/api", "src/edge", "src/console"],
  ["src/core"],
  ["src/plugins"],
  ["durable-objects"],
  ["src/backends"],
  ["src/upstream"],
  ["src/observability", "src/config", "src/auth", "src/middleware", "src/errors.ts", "src/env.ts"],
  ["src/protocol", "src/util", "src/stubs.ts"],
];

/** Type-only imports may always reach these (typed DO stubs and bindings). */
const TYPE_EXEMPT = ["durable-objects", "src/env.ts"];

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, entry);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...files(rel));
    else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm;

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = path.join(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
    try {
      if (statSync(path.join(ROOT, candidate)).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  throw new Error(`${from}: cannot resolve '${spec}'`);
}

function edgesOf(file: string): Edge[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const edges: Edge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const to = resolve(file, m[3] ?? "");
    // `import { type A, type B }` is type-only too.
    const typeOnly = m[2] !== undefined || /^\s*import\s*\{\s*(type\s+[\w$]+\s*,?\s*)+\}/.test(m[0]);
    if (to) edges.push({ from: file, to, typeOnly });
  }
  return edges;
}

/** Layer index of a file: the most specific matching prefix. */
export function layerOf(file: string): number {
  let best = -1;
  let bestLength = -1;
  LAYERS.forEach((layer, index) => {
    for (const prefix of layer) {
      const matches = file === prefix || file.startsWith(`${prefix}/`);
      if (matches && prefix.length > bestLength) {
        best = index;
        bestLength = prefix.length;
      }
    }
  });
  if (best < 0) throw new Error(`${file} is in no layer of scripts/check-layout.ts`);
  return best;
}

function cycles(edges: Edge[], nodes: string[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) if (!e.typeOnly) next.get(e.from)?.push(e.to);
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  return found;
}

function main(): void {
  const all = [...files("src"), ...files("durable-objects")];
  const edges = all.flatMap(edgesOf);
  const problems: string[] = [];
  for (const scc of cycles(edges, all)) problems.push(`import cycle: ${scc.join(" ⇄ ")}`);
  for (const e of edges) {
    if (layerOf(e.to) >= layerOf(e.from)) continue;
    if (e.typeOnly && TYPE_EXEMPT.some((p) => e.to === p || e.to.startsWith(`${p}/`))) continue;
    problems.push(`${e.from} imports ${e.to}${e.typeOnly ? " (type)" : ""}, a layer above it`);
  }
  if (problems.length > 0) {
    console.error(problems.join("\n"));
    console.error(`\n${problems.length} layout problem(s); see docs/design.md, "Layout".`);
    process.exit(1);
  }
  console.log(`layout: ${all.length} files, ${edges.length} imports, no cycles, every import points down`);
}

main();
