/**
 * `webhook`: asks an external HTTP policy service about each payload.
 *
 * The gateway POSTs JSON `{hook, plugin, request: {entity, name, original,
 * backend, server, user}, <field>: <value>}` (field: `arguments`, `result` or
 * `uri`, see HOOK_SPECS) and expects 2xx JSON:
 * - `{"decision": "allow"}`
 * - `{"decision": "deny", "code"?: "...", "reason"?: "..."}`: a violation
 *   (the reason is shown to the client: the service must keep it safe)
 * - `{"decision": "modify", "<field>": <new value>}`: replaces the field.
 * Anything else (non-2xx, bad JSON, over 1 MiB, past `timeout_ms`) is a
 * plugin failure, handled by `on_error`. The call has a deadline
 * (AbortSignal), no redirects are followed, and the URL is checked like a
 * backend URL when saved (no private addresses unless ALLOW_PRIVATE_BACKENDS).
 *
 * `headers` (e.g. the service's credential) are encrypted at rest like
 * backend headers and shown as `********`; on update `********` keeps a value.
 */
import { z } from "zod";
import { decryptHeaders, encryptHeaders, keyRing } from "../../config/header-crypto";
import { REDACTED } from "../../config/shapes";
import { checkBackendUrl, dohResolver, MAX_URL_LENGTH, urlProblem } from "../../config/url-safety";
import { commonSettings } from "../settings";
import { ConfigIssues, defineKind, HOOKS, type HookSpec, type PluginEnv, type RequestContext } from "../types";

const DEFAULT_RESOLVER = "https://cloudflare-dns.com/dns-query";
const MAX_RESPONSE_BYTES = 1024 * 1024;

const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, "must be a valid HTTP header name");
const HeaderValue = z
  .string()
  .max(4096)
  .regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL");

const schema = z.strictObject({
  url: z
    .string()
    .superRefine((u, ctx) => {
      // Never `new URL` here: it throws on bad input, and zod runs refinements after a failed check.
      const problem = urlProblem(u);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .meta({ format: "uri", maxLength: MAX_URL_LENGTH })
    .describe("The policy service's endpoint (http or https)"),
  headers: z
    .record(HeaderName, HeaderValue)
    .refine((h) => Object.keys(h).length <= 32, "at most 32 headers")
    .optional()
    .describe("Sent with every call; encrypted at rest, shown as ********"),
  headers_sealed: z
    .string()
    .max(262_144)
    .optional()
    .describe("Set by the gateway (encrypted headers); ignored on input"),
  ...commonSettings(5_000),
});

const Decision = z.object({
  decision: z.enum(["allow", "deny", "modify"]),
  code: z
    .string()
    .regex(/^[A-Z0-9_]{1,64}$/)
    .optional(),
  reason: z.string().max(500).optional(),
  arguments: z.unknown().optional(),
  result: z.unknown().optional(),
  uri: z.unknown().optional(),
});

async function readLimited(res: Response): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw new Error("webhook response too large");
  }
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new Error("webhook response too large");
  return text;
}

/** Calls the policy service once. */
async function ask(
  url: string,
  headers: Record<string, string>,
  hook: HookSpec,
  plugin: string,
  value: unknown,
  ctx: RequestContext,
  timeoutMs: number,
) {
  const body = JSON.stringify({
    hook: hook.name,
    plugin,
    request: {
      entity: ctx.entity,
      name: ctx.name,
      original: ctx.original,
      backend: ctx.backend,
      server: ctx.server,
      user: ctx.user,
    },
    [hook.field]: value,
  });
  const res = await fetch(url, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json", accept: "application/json" },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status < 200 || res.status > 299) {
    await res.body?.cancel();
    throw new Error(`webhook answered HTTP ${res.status}`);
  }
  return Decision.parse(JSON.parse(await readLimited(res)));
}

export const webhook = defineKind({
  kind: "webhook",
  description: "Sends the payload to an external HTTP policy service that allows, denies or modifies it.",
  hooks: HOOKS,
  defaultHooks: ["tool_pre_invoke"],
  schema,
  async check(config, env) {
    const allowPrivate = env.ALLOW_PRIVATE_BACKENDS === "true";
    const verdict = await checkBackendUrl(
      config.url,
      allowPrivate,
      dohResolver(env.DNS_RESOLVER_URL || DEFAULT_RESOLVER),
    );
    return verdict.ok
      ? []
      : [{ path: "url", message: `${verdict.reason}; set ALLOW_PRIVATE_BACKENDS=true to allow it` }];
  },
  async seal(config, previous, env) {
    const { headers, headers_sealed: _ignored, ...rest } = config;
    if (!headers || Object.keys(headers).length === 0) return rest;
    const needsPrevious = Object.values(headers).some((v) => v === REDACTED);
    let kept: Record<string, string> = {};
    if (needsPrevious && typeof previous?.headers_sealed === "string") {
      try {
        kept = await decryptHeaders(previous.headers_sealed, await keyRing(env));
      } catch {
        // A retired key: the masked values cannot be kept, the caller must send them again (below).
      }
    }
    const plain: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value !== REDACTED) plain[name] = value;
      else if (kept[name] !== undefined) plain[name] = kept[name];
      else throw new ConfigIssues([{ path: `headers.${name}`, message: "has no stored value to keep" }]);
    }
    return {
      ...rest,
      headers: Object.fromEntries(Object.keys(plain).map((h) => [h, REDACTED])),
      headers_sealed: await encryptHeaders(plain, await keyRing(env)),
    };
  },
  view(stored) {
    const { headers_sealed: _sealed, ...rest } = stored;
    return rest;
  },
  create(config, name) {
    let headers: Promise<Record<string, string>> | undefined;
    const headersFor = (env: PluginEnv) => {
      const sealed = config.headers_sealed;
      if (!sealed) return Promise.resolve({});
      headers ??= keyRing(env).then((ring) => decryptHeaders(sealed, ring));
      return headers;
    };
    return {
      modifies: () => true,
      async run(hook, value, ctx) {
        const decision = await ask(config.url, await headersFor(ctx.env), hook, name, value, ctx, config.timeout_ms);
        if (decision.decision === "allow") return undefined;
        if (decision.decision === "deny") {
          return {
            violation: {
              code: decision.code ?? "WEBHOOK_DENIED",
              description: decision.reason ?? "Denied by the policy service",
            },
          };
        }
        const modified = decision[hook.field];
        if (modified === undefined) throw new Error(`webhook modify without '${hook.field}'`);
        return { modified };
      },
    };
  },
});
