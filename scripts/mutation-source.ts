/**
 * The source around a mutant, for the mutation report (`mutation.ts`): the
 * text a mutant replaced and the lines near it, which survivor explanations
 * match (`Explanation.near`), read once per file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** What the report needs of a mutant: Stryker's results and its JSON report both have it. */
export interface MutantResult {
  fileName: string;
  mutatorName: string;
  replacement: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const normalise = (code: string) => code.replace(/\s+/g, " ").trim();

function sourceLines(mutant: MutantResult, sources: Map<string, string[]>): string[] {
  const file = relative(mutant.fileName);
  let lines = sources.get(file);
  if (!lines) {
    lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
    sources.set(file, lines);
  }
  return lines;
}

/** The lines around a mutant (two either side), for `Explanation.near`. */
export function window(mutant: MutantResult, sources: Map<string, string[]>): string {
  const { start, end } = mutant.location;
  return sourceLines(mutant, sources)
    .slice(Math.max(0, start.line - 3), end.line + 2)
    .join("\n");
}

/** The source text a mutant replaced (Stryker locations are 1-based lines and columns). */
export function originalText(mutant: MutantResult, sources: Map<string, string[]>): string {
  const lines = sourceLines(mutant, sources);
  const { start, end } = mutant.location;
  const picked = lines.slice(start.line - 1, end.line);
  if (picked.length === 1) return (picked[0] ?? "").slice(start.column - 1, end.column - 1);
  picked[0] = (picked[0] ?? "").slice(start.column - 1);
  picked[picked.length - 1] = (picked.at(-1) ?? "").slice(0, end.column - 1);
  return picked.join("\n");
}

export function relative(file: string): string {
  return path.relative(ROOT, path.resolve(ROOT, file)).split(path.sep).join("/");
}
