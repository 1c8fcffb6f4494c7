/**
 * zod schemas of the admin API. One set produces both validation and the
 * OpenAPI 3.1 document served at `/api/openapi.json`.
 */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "./limits";
import { VISIBILITIES } from "./schema";
import { ToolOverrideView, toolOverrideFields } from "./tool-overrides";
import { MAX_URL_LENGTH, urlProblem } from "./url-safety";

/** The value shown instead of a secret header value. */
export const REDACTED = "********";

/** A slug: the id of a backend or virtual server everywhere. */
export const Slug = z
  .string()
  .regex(/^[a-z0-9-]{1,32}$/, "must be 1-32 characters of a-z, 0-9 and -")
  .openapi({ example: "github" });

/** Ownership fields of backends and virtual servers (teams and visibility, docs in README "Teams"). */
const ownershipFields = {
  team: Slug.nullable().optional().openapi({
    description:
      "Owning team; omitted: the caller's team when it administers exactly one, none for platform admins. null: platform-owned",
  }),
  visibility: z.enum(VISIBILITIES).optional().openapi({
    description:
      "private: the owner; team: members of the team; public: every authenticated caller. Default: team when owned by a team, else public",
  }),
};

/** Ownership as stored and shown. */
const ownershipView = {
  team: z.string().nullable(),
  owner: z.string().nullable().openapi({ description: "The subject that created it" }),
  visibility: z.enum(VISIBILITIES),
};

/** Header names are RFC 9110 tokens; the ones the gateway owns cannot be overridden. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "accept",
  "connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "keep-alive",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
  "traceparent",
  "tracestate",
]);

/** A configurable header name: an RFC 9110 token the gateway does not set itself. */
export const HeaderName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, "must be a valid HTTP header name")
  .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), "is set by the gateway and cannot be configured");

/** A header value: bounded, without CR, LF or NUL. */
export const HeaderValue = z
  .string()
  .max(LIMITS.headerValueBytes)
  .regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL");

/** Backend headers: secrets, encrypted at rest, never echoed. */
export const Headers = z
  .record(HeaderName, HeaderValue)
  .refine((h) => Object.keys(h).length <= LIMITS.headersPerBackend, `at most ${LIMITS.headersPerBackend} headers`)
  .openapi({ example: { Authorization: "Bearer upstream-secret" } });

/**
 * Backend URLs must be http(s) without embedded credentials (put those in
 * headers). One check that never throws (`urlProblem`): a malformed URL is a
 * 400 naming the field, not an exception inside a refinement.
 */
export const BackendUrl = z
  .string()
  .superRefine((u, ctx) => {
    const problem = urlProblem(u);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({ format: "uri", maxLength: MAX_URL_LENGTH, example: "https://mcp.example.com/mcp" });

const OperationId = z.string().min(1).max(64);

/** An OpenAPI backend's settings (README, "REST APIs as backends"); the document itself is checked by the route. */
export const OpenApiSettingsShape = z
  .strictObject({
    document: z.union([
      z.strictObject({ url: BackendUrl }),
      z.strictObject({
        inline: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).openapi({
          description: "The OpenAPI 3.0/3.1 document: JSON or YAML text, or a JSON object (at most 512 KiB)",
        }),
      }),
    ]),
    include: z.array(OperationId).max(1000).optional().openapi({ description: "Only these operationIds become tools" }),
    exclude: z
      .array(OperationId)
      .max(1000)
      .optional()
      .openapi({ description: "These operationIds never become tools" }),
    healthPath: z
      .string()
      .max(1024)
      .regex(/^\/[^\s#]*$/, "must be a path starting with /")
      .optional()
      .openapi({
        description:
          "The health probe GETs this path under `url` (2xx is healthy); default: `url` itself, below 500 is alive",
      }),
  })
  .openapi("OpenApiSettings");
/** An OAuth scope token (RFC 6749 section 3.3: NQCHAR, no space, quote or backslash). */
const ScopeToken = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, "must be an OAuth scope token");

/**
 * Upstream OAuth settings of a backend (README, "Upstream OAuth"). The client
 * secret is write-only: sealed at rest, shown as `********`, and a PATCH that
 * sends `********` keeps the stored one.
 */
export const UpstreamAuth = z
  .strictObject({
    type: z.literal("oauth"),
    grant: z.enum(["authorization_code", "client_credentials", "token_exchange"]).optional().openapi({
      description:
        "Default authorization_code: every user connects their own account. client_credentials: one shared token. token_exchange: the caller's gateway token is exchanged (RFC 8693) for a backend token",
    }),
    issuer: BackendUrl.optional().openapi({
      description: "The authorization server; omitted: discovered from the backend's RFC 9728 metadata",
    }),
    clientId: z.string().min(1).max(2048).optional().openapi({
      description:
        "The gateway's pre-registered client id at that server; omitted: dynamic registration (RFC 7591), once per backend",
    }),
    clientSecret: z.string().min(1).max(4096).optional().openapi({ description: "Write-only; omitted: public client" }),
    scopes: z.array(ScopeToken).max(50).optional(),
    resource: BackendUrl.optional().openapi({
      description: "RFC 8707 resource the tokens are requested for and bound to; default the backend URL",
    }),
  })
  // A secret belongs to a client id the admin gives; a registered client's secret is the server's.
  .refine((a) => a.clientId !== undefined || a.clientSecret === undefined || a.clientSecret === REDACTED, {
    path: ["clientSecret"],
    message: "needs clientId (a dynamically registered client gets its secret from the server)",
  })
  .openapi("UpstreamAuth");

/** The API view of `UpstreamAuth`. */
export const UpstreamAuthView = z
  .object({
    type: z.literal("oauth"),
    grant: z.enum(["authorization_code", "client_credentials", "token_exchange"]),
    issuer: z.string().nullable(),
    registration: z.enum(["static", "dynamic"]).openapi({
      description: "`dynamic`: the client was (or will be, on first use) registered by the gateway (RFC 7591)",
    }),
    clientId: z.string().nullable().openapi({ description: "null: dynamic, not registered yet" }),
    clientSecret: z.literal(REDACTED).nullable(),
    scopes: z.array(z.string()),
    resource: z.string().nullable(),
  })
  .openapi("UpstreamAuthView");

const backendFields = {
  url: BackendUrl.openapi({ description: "The MCP endpoint; for `transport: openapi`, the REST API's base URL" }),
  transport: z
    .enum(["streamable-http", "sse", "openapi"])
    .optional()
    .openapi({ description: "Default streamable-http; `openapi`: a REST API described by `openapi`" }),
  openapi: OpenApiSettingsShape.optional().openapi({
    description: "Required with (and only with) `transport: openapi`",
  }),
  headers: Headers.optional(),
  timeoutMs: z.number().int().min(100).max(300_000).optional().openapi({ description: "Default 30000" }),
  healthIntervalSeconds: z
    .number()
    .int()
    .min(5)
    .max(3600)
    .optional()
    .openapi({ description: "Seconds between health probes (±20% jitter). Default 30" }),
  failureThreshold: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .openapi({ description: "Consecutive failures that open the circuit breaker. Default 5" }),
  cooldownSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .optional()
    .openapi({ description: "Seconds the breaker stays open before one trial call. Default 30" }),
  enabled: z.boolean().optional().openapi({ description: "Default true" }),
  auth: UpstreamAuth.nullable().optional().openapi({ description: "Upstream OAuth; null removes it" }),
  ...ownershipFields,
};

export const BackendCreate = z.strictObject({ name: Slug, ...backendFields }).openapi("BackendCreate");
export const BackendUpdate = z.strictObject(backendFields).partial().openapi("BackendUpdate");

export const Backend = z
  .object({
    name: Slug,
    url: z.string(),
    transport: z.enum(["streamable-http", "sse", "openapi"]),
    openapi: OpenApiSettingsShape.optional(),
    tools: z
      .array(z.string())
      .optional()
      .openapi({ description: "`openapi` backends: the operationIds offered as tools" }),
    headers: z.record(z.string(), z.literal(REDACTED)).openapi({
      description: "Header names; values are never returned",
    }),
    credentials: z.enum(["none", "ok", "unreadable"]).openapi({
      description:
        "`unreadable`: the stored header values cannot be decrypted with the configured keys (e.g. the key was changed); calls to this backend fail until they are re-entered with PATCH",
    }),
    timeoutMs: z.number().int(),
    healthIntervalSeconds: z.number().int(),
    failureThreshold: z.number().int(),
    cooldownSeconds: z.number().int(),
    enabled: z.boolean(),
    auth: UpstreamAuthView.nullable(),
    ...ownershipView,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Backend");

const Timestamp = z
  .string()
  .nullable()
  .openapi({ description: "ISO 8601, or null", example: "2026-01-01T00:00:00.000Z" });

export const BackendHealth = z
  .object({
    breaker: z.enum(["closed", "open", "half-open"]).openapi({
      description:
        "open: calls fail fast; half-open: the cooldown is over and one trial call (or the next probe) decides",
    }),
    healthy: z.boolean().openapi({ description: "The breaker is closed and the last probe (if any) succeeded" }),
    consecutiveFailures: z.number().int(),
    lastCheckAt: Timestamp.openapi({ description: "When the last health probe finished" }),
    lastLatencyMs: z
      .number()
      .nullable()
      .openapi({ description: "Round trip of the last successful probe (ping, or server/discover for 2026 backends)" }),
    lastError: z.string().nullable().openapi({ description: "Why the last probe failed; null if it succeeded" }),
    nextCheckAt: Timestamp.openapi({ description: "When the next probe runs; null while disabled" }),
    retryAt: z.string().optional().openapi({ description: "While not closed: when calls will be tried again" }),
  })
  .openapi("BackendHealth");

export const CatalogRefresh = z
  .object({
    backend: Slug,
    tools: z.number().int(),
    prompts: z.number().int(),
    resources: z.number().int(),
    resourceTemplates: z.number().int(),
    fetchedAt: z.string(),
    protocolEra: z.enum(["2026-07-28", "2025"]).openapi({
      description:
        "The backend's protocol era, probed again by this refresh: 2026-07-28 (stateless, no sessions) or 2025 (initialize and sessions)",
    }),
  })
  .openapi("CatalogRefresh");

/** How a virtual server shows its tools (README, "Huge catalogs"). */
export const DiscoveryMode = z.enum(["list", "search", "code"]);

/**
 * Why `code` is refused: it needs a real sandbox, and the Dynamic Worker
 * Loader (`worker_loaders`) of the workerd this project runs blocks network
 * and bindings but enforces neither CPU nor memory limits
 * (`npm run probe:worker-loader`). The gateway never runs model-written code
 * in its own isolate instead.
 */
export const CODE_MODE_UNAVAILABLE =
  "code mode is not available: it needs a sandbox with CPU and memory limits, and the Dynamic Worker Loader (worker_loaders) of this runtime enforces neither (an endless loop hangs the gateway, an allocation loop crashes it); use search";

const DiscoveryInput = DiscoveryMode.refine((v): boolean => v !== "code", CODE_MODE_UNAVAILABLE).openapi({
  description:
    "`list` (default): tools/list shows every tool. `search`: tools/list shows search_tools, describe_tools and call_tool over the catalog. `code`: refused until a sandbox is available.",
});

/** A list of distinct slugs, at most `max`. */
export const NameList = (max: number) =>
  z
    .array(Slug)
    .max(max)
    .refine((a) => new Set(a).size === a.length, "must not repeat names");

const serverFields = {
  backends: NameList(LIMITS.backends)
    .optional()
    .openapi({ description: "Backends behind this server; omitted = every enabled backend" }),
  tools: z
    .array(z.string().min(1).max(128))
    .max(LIMITS.toolsPerServer)
    .optional()
    .openapi({ description: "Public tool names to expose; omitted = every tool" }),
  prefix: z.boolean().optional().openapi({ description: "Prefix names with `<backend>__` (default true)" }),
  auth: z.enum(["token", "none"]).optional().openapi({ description: "Default token" }),
  ...ownershipFields,
  discovery: DiscoveryInput.optional(),
  ...toolOverrideFields,
};

export const ServerCreate = z.strictObject({ name: Slug, ...serverFields }).openapi("ServerCreate");
export const ServerUpdate = z.strictObject(serverFields).partial().openapi("ServerUpdate");

export const Server = z
  .object({
    name: Slug,
    backends: z.array(z.string()).nullable(),
    tools: z.array(z.string()).nullable(),
    prefix: z.boolean(),
    auth: z.enum(["token", "none"]),
    ...ownershipView,
    discovery: DiscoveryMode,
    toolOverrides: z.array(ToolOverrideView),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Server");

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const NameParam = z.object({ name: Slug.openapi({ param: { name: "name", in: "path" } }) });
export const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});
