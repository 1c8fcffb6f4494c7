/**
 * Saving an OpenAPI backend (README, "REST APIs as backends"): its settings
 * go with `transport: "openapi"` and only with it, and its document is
 * loaded (fetched through the backend URL checks, or inline) and turned into
 * operations now, so a bad document is a 400 naming the problem at save time
 * and the request path never parses or fetches one (design rule 1).
 */
import type { Context } from "hono";
import type { OpenApiSettings } from "../config/openapi-types";
import type { OpenApiColumns } from "../config/store/backends";
import { checkBackendUrl, dohResolver } from "../config/url-safety";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { OpenApiProblem } from "../upstream/openapi/document";
import { loadOperations } from "../upstream/openapi/source";

const DEFAULT_RESOLVER = "https://cloudflare-dns.com/dns-query";

/** The document URL check: the one backend URLs get (private addresses only where allowed). */
function documentUrlCheck(c: Context<AppEnv>) {
  const allowPrivate = c.env.ALLOW_PRIVATE_BACKENDS === "true";
  const resolver = dohResolver(c.env.DNS_RESOLVER_URL || DEFAULT_RESOLVER);
  return async (url: string) => {
    const verdict = await checkBackendUrl(url, allowPrivate, resolver);
    return verdict.ok ? null : `${verdict.reason}; set ALLOW_PRIVATE_BACKENDS=true to allow it`;
  };
}

/**
 * The OpenAPI columns for a backend of `transport` with `settings`, or a
 * string naming what is wrong (`path` of the field, message).
 */
export async function planOpenApi(
  c: Context<AppEnv>,
  transport: string,
  settings: OpenApiSettings | null | undefined,
): Promise<OpenApiColumns | { path: string; message: string }> {
  if (transport !== "openapi") {
    if (settings) return { path: "openapi", message: "is only for transport 'openapi'" };
    return { openapi: null, openapiOperations: null };
  }
  if (!settings) return { path: "openapi", message: "is required with transport 'openapi'" };
  try {
    return { openapi: settings, openapiOperations: await loadOperations(settings, documentUrlCheck(c)) };
  } catch (err) {
    if (err instanceof OpenApiProblem) return { path: "openapi.document", message: err.message };
    throw err;
  }
}

/** `planOpenApi`, answering a problem as a 400 naming the field. */
export async function openApiColumns(
  c: Context<AppEnv>,
  transport: string,
  settings: OpenApiSettings | null | undefined,
): Promise<OpenApiColumns> {
  const plan = await planOpenApi(c, transport, settings);
  if ("path" in plan) throw new HttpError(400, "validation_failed", "Invalid request", [plan]);
  return plan;
}
