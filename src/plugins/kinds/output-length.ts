/**
 * `output_length_guard`: limits the text a result carries (tool `content`
 * text blocks, prompt message texts, resource `contents` texts), by
 * truncating it or blocking the result. Structured content is left alone:
 * cutting it would break its schema (use payload_size for a hard byte cap).
 */
import { z } from "zod";
import { commonSettings } from "../settings";
import { defineKind } from "../types";

/** Text-bearing blocks of a result: where they are and what they say. */
function textBlocks(result: Record<string, unknown>): Array<{ list: string; index: number; nested: boolean }> {
  const out: Array<{ list: string; index: number; nested: boolean }> = [];
  for (const list of ["content", "contents", "messages"]) {
    const items = result[list];
    if (!Array.isArray(items)) continue;
    items.forEach((item: unknown, index) => {
      if (typeof item !== "object" || item === null) return;
      const rec = item as Record<string, unknown>;
      if (typeof rec.text === "string") out.push({ list, index, nested: false });
      else if (list === "messages" && typeof (rec.content as { text?: unknown } | undefined)?.text === "string") {
        out.push({ list, index, nested: true });
      }
    });
  }
  return out;
}

function textOf(result: Record<string, unknown>, b: { list: string; index: number; nested: boolean }): string {
  const item = (result[b.list] as Array<Record<string, unknown>>)[b.index] as Record<string, unknown>;
  return (b.nested ? (item.content as { text: string }).text : item.text) as string;
}

/** Truncates the result's texts to `max` characters in total (copy on write); `marker` marks the cut. */
export function truncateText(result: Record<string, unknown>, max: number, marker: string): Record<string, unknown> {
  let budget = max;
  let cut = false;
  let out: Record<string, unknown> | undefined;
  for (const b of textBlocks(result)) {
    const text = textOf(result, b);
    if (text.length <= budget) {
      budget -= text.length;
      continue;
    }
    const kept = cut ? "" : text.slice(0, budget) + marker;
    cut = true;
    budget = 0;
    out ??= { ...result };
    if (out[b.list] === result[b.list]) out[b.list] = [...(result[b.list] as unknown[])];
    const list = out[b.list] as Array<Record<string, unknown>>;
    const item = list[b.index] as Record<string, unknown>;
    list[b.index] = b.nested
      ? { ...item, content: { ...(item.content as object), text: kept } }
      : { ...item, text: kept };
  }
  return out ?? result;
}

/** Total characters of the result's texts. */
export function textLength(result: Record<string, unknown>): number {
  let n = 0;
  for (const b of textBlocks(result)) n += textOf(result, b).length;
  return n;
}

const schema = z.strictObject({
  max_chars: z.number().int().min(1).max(10_000_000).describe("Most characters of text a result may carry"),
  strategy: z.enum(["truncate", "block"]).default("truncate"),
  marker: z.string().max(100).default("… [truncated]").describe("Appended where text was cut"),
  ...commonSettings(),
});

export const outputLengthGuard = defineKind({
  kind: "output_length_guard",
  description: "Truncates or blocks results whose text is longer than a limit.",
  hooks: ["tool_post_invoke", "prompt_post_fetch", "resource_post_fetch"],
  defaultHooks: ["tool_post_invoke"],
  schema,
  create(config) {
    const truncate = config.strategy === "truncate";
    return {
      modifies: () => truncate,
      run(_hook, value) {
        const result = value as Record<string, unknown>;
        if (textLength(result) <= config.max_chars) return undefined;
        if (truncate) return { modified: truncateText(result, config.max_chars, config.marker) };
        return {
          violation: {
            code: "OUTPUT_TOO_LONG",
            description: `The result's text is longer than ${config.max_chars} characters`,
            details: { max_chars: config.max_chars },
          },
        };
      },
    };
  },
});
