/**
 * What a 2025-era client sees of 2026-07-28 backends (brief §13, "C25 →
 * B26"): results without the 2026-only fields and with object structured
 * content (`legacyResult`), never an `input_required` or `task` result, and
 * tool listings a 2025 client can read: 2026 allows any JSON Schema root for
 * `inputSchema`/`outputSchema` (SEP-2106) while 2025 requires an object, so
 * a non-object output schema is wrapped as `{result: schema}` (matching the
 * wrapped structured content) and a tool whose input is not an object, which
 * a 2025 client cannot call, is left out. 2025 backends' tools already have
 * object roots, so the projection leaves them as they are.
 */
import { legacyResult } from "../protocol/eras";
import { ErrorCode, RpcError } from "../protocol/jsonrpc";
import { isModernVersion } from "../protocol/versions";
import type { UpstreamSession } from "../upstream/types";
import type { McpContext } from "./context";
import type { ViewEntry } from "./federation";

/**
 * A result as this request's client sees it: a 2026 backend's result
 * projected for a 2025 client; anything else unchanged. The gateway never
 * declares the tasks extension, so a `task` result (or any other type) from
 * a backend is an error, as is an `input_required` that was not bridged.
 */
export function forClient(
  ctx: McpContext,
  upstream: UpstreamSession | undefined,
  result: Record<string, unknown>,
): Record<string, unknown> {
  if (!ctx.legacyClient || !isModernVersion(upstream?.protocolVersion)) return result;
  const type = result.resultType;
  if (type !== undefined && type !== "complete") {
    const shown = String(type).slice(0, 32);
    throw new RpcError(ErrorCode.InternalError, `The backend answered with a result of type '${shown}'`);
  }
  return legacyResult(result);
}

function isObjectSchema(schema: unknown): boolean {
  return typeof schema === "object" && schema !== null && (schema as { type?: unknown }).type === "object";
}

/** Projected listings per view entry list (the lists are immutable and cached, so identity is the key). */
const projected = new WeakMap<readonly ViewEntry[], readonly ViewEntry[]>();

/** The tools a 2025 client is shown (see the module comment); the list itself for a 2026 client. */
export function legacyTools(ctx: McpContext, entries: readonly ViewEntry[]): readonly ViewEntry[] {
  if (!ctx.legacyClient) return entries;
  const known = projected.get(entries);
  if (known) return known;
  const out: ViewEntry[] = [];
  for (const entry of entries) {
    const { inputSchema, outputSchema } = entry.item;
    if (!isObjectSchema(inputSchema)) continue;
    if (outputSchema === undefined || isObjectSchema(outputSchema)) out.push(entry);
    else {
      const wrapped = { type: "object", properties: { result: outputSchema }, required: ["result"] };
      out.push({ ...entry, item: { ...entry.item, outputSchema: wrapped } });
    }
  }
  const result = out.length === entries.length && out.every((e, i) => e === entries[i]) ? entries : out;
  projected.set(entries, result);
  return result;
}
