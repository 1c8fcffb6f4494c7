/**
 * References on a forwarded call (`references.ts` says where they sit): the
 * tool arguments a client sends back in public form are mapped to the
 * backend's, and the result's references to their public form. Only on
 * prefixed endpoints; elsewhere both forms are the same.
 *
 * The result mapper keeps the unparsed pass-through (issue 15) for every
 * reply whose text shows no reference: `passes` is a byte-level check, and a
 * tool whose output schema has no URI field never needs its
 * `structuredContent` read. With post hooks the result is parsed anyway and
 * the hooks see the public form (as the client will).
 */
import type { Catalog, CatalogItem } from "../protocol/catalog-types";
import { cachedCatalog, catalogs } from "./catalog";
import type { McpContext } from "./context";
import type { AfterHooks } from "./plugin-hooks";
import { bySchema, inbound, mapResult, mentionsReference, outbound, schemaHasUri } from "./references";
import type { ResultMapper } from "./relay";

/** How one call maps references: `args` on the way in, `result` (then the post hooks) on the way out. */
export interface CallReferences {
  args(value: unknown): unknown;
  result: ResultMapper | undefined;
}

const same = (value: unknown) => value;

function resultMapper(
  method: string,
  backend: string,
  after: AfterHooks | undefined,
  outputSchema?: unknown,
): ResultMapper {
  const map = outbound(backend);
  const refs = (result: Record<string, unknown>) => mapResult(method, result, map, outputSchema);
  if (after) return (result) => after(refs(result));
  const structured = schemaHasUri(outputSchema);
  return Object.assign(refs, {
    passes: (text: string) => !mentionsReference(text) && !(structured && text.includes('"structuredContent"')),
  });
}

/** A backend's tools by their own name, per (immutable, cached) catalog. */
const toolIndex = new WeakMap<Catalog, Map<string, CatalogItem>>();

/**
 * The backend's own entry of a tool (its schemas are what its arguments and
 * results follow): the isolate's cached catalog of that one backend, asked
 * of its Durable Object only on a cold isolate (`catalog.ts`).
 */
async function backendTool(ctx: McpContext, backend: string, original: string): Promise<CatalogItem | undefined> {
  const config = ctx.config.backends.get(backend);
  if (!config) return undefined;
  // A warm isolate has the catalog in memory: read it without `catalogs()`'s maps and promises (issue 15).
  const catalog =
    cachedCatalog(config, ctx.caller.profile) ??
    (await catalogs(ctx.env, [config], ctx.caller.profile, ctx.defer)).catalogs.get(backend);
  if (!catalog) return undefined;
  let index = toolIndex.get(catalog);
  if (!index) {
    index = new Map(catalog.tools.flatMap((t) => (typeof t.name === "string" ? [[t.name, t] as const] : [])));
    toolIndex.set(catalog, index);
  }
  return index.get(original);
}

/** References of a `tools/call` or `prompts/get` forwarded to `backend` (`original`: its name there). */
export async function callReferences(
  ctx: McpContext,
  entity: "tool" | "prompt",
  backend: string,
  original: string,
  after: AfterHooks | undefined,
): Promise<CallReferences> {
  if (!ctx.endpoint.prefix) return { args: same, result: after };
  if (entity === "prompt") return { args: same, result: resultMapper("prompts/get", backend, after) };
  const tool = await backendTool(ctx, backend, original);
  const input = tool?.inputSchema;
  const map = inbound(backend);
  return {
    args: schemaHasUri(input) ? (value) => bySchema(value, input, map) : same,
    result: resultMapper("tools/call", backend, after, tool?.outputSchema),
  };
}

/** The result mapper of a `resources/read` answered by `backend`. */
export function readReferences(
  ctx: McpContext,
  backend: string,
  after: AfterHooks | undefined,
): ResultMapper | undefined {
  return ctx.endpoint.prefix ? resultMapper("resources/read", backend, after) : after;
}
