/**
 * Save-time check for virtual servers without prefixes: two backends that
 * offer the same tool or prompt name cannot both be reached under it, so the
 * save is refused (409) and names every conflict. It uses the backends'
 * catalogs (cached in their Durable Objects) for the widest capability
 * profile; a backend whose catalog cannot be fetched now is not held against
 * the save: at runtime the first backend by name wins, as documented.
 */
import type { Context } from "hono";
import type { ServerConfig } from "../config/snapshot";
import { catalogs } from "../core/catalog";
import { nameConflicts, resolveEndpoint } from "../core/federation";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { ALL_PROFILES } from "../protocol/profiles";

/** Throws 409 when `server` (as it would be saved) exposes a name from two backends. */
export async function assertNoNameConflicts(c: Context<AppEnv>, server: ServerConfig): Promise<void> {
  if (server.prefix) return;
  const config = c.get("config");
  const endpoint = resolveEndpoint({ ...config, servers: new Map([[server.name, server]]) }, server.name);
  if (!endpoint || endpoint.backends.length < 2) return;
  const widest = ALL_PROFILES[ALL_PROFILES.length - 1] ?? "";
  const found = await catalogs(c.env, endpoint.backends, widest, (w) => c.executionCtx.waitUntil(w));
  const conflicts = nameConflicts(endpoint, found.catalogs);
  if (conflicts.length === 0) return;
  throw new HttpError(
    409,
    "conflict",
    "Names collide without prefixes: restrict `tools`, choose other backends, or set `prefix: true`",
    conflicts.map((x) => ({
      path: x.kind === "tool" ? "tools" : "backends",
      message: `${x.kind} '${x.name}' is offered by ${x.backends.join(", ")}`,
    })),
  );
}
