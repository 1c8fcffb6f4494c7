/**
 * Plants the world both fuzz runners run against, through the admin API:
 * backend `fm-a` with a secret header value, virtual servers `fm-token`
 * (prefixed, token auth), `fm-open` (unprefixed, `auth: "none"`) and
 * `fm-other`, three API tokens (admin scope; mcp scope; mcp limited to
 * `fm-other`), and a plugin chain of the in-process kinds (deny list, PII
 * and secret masking, payload size, output length, schema guard, a regex
 * rewrite) on every endpoint, so fuzzed arguments and results run through it.
 * A disabled backend `fm-oauth` carries upstream OAuth with a planted client
 * secret, and where the runner can reach the token objects (`plantToken`) the
 * mcp token's user holds planted upstream access and refresh tokens for it.
 * Every credential, the header value, the client secret and the upstream
 * tokens are planted secrets the oracle looks for in every answer. The admin fuzzer works on its own
 * names (`fa-*`), so it never deletes what the MCP fuzzer stands on.
 */
import type { AdminSpec, KindInfo, OpenApiDoc } from "./admin-cases.ts";
import type { McpSpec } from "./mcp-cases.ts";
import type { Send, World } from "./model.ts";

/** What the planted backend offers, as a client of `/mcp` sees it (public names), and its own names. */
export interface BackendOffer {
  url: string;
  tools: string[];
  prompts: string[];
  resources: string[];
}

export interface PlantOptions {
  adminToken: string;
  /** The MCP world's backend (planted as `fm-a`). */
  backend: BackendOffer;
  /** URLs the admin fuzzer may register backends at (working MCP servers, so a refresh is a 200). */
  adminBackendUrls: string[];
  webhookUrls: string[];
  /** The gateway runs with ALLOW_PRIVATE_BACKENDS=true (see AdminSpec). */
  privateBackendsAllowed?: boolean;
  /** The planted backend's idle timeout: fuzzed calls that wait for a client (elicitation) end by then. */
  timeoutMs?: number;
  /** Stores upstream tokens for `user` and backend `fm-oauth` (runners that can reach the token objects). */
  plantToken?: (user: string, tokens: { accessToken: string; refreshToken: string }) => Promise<void>;
}

export interface Planted {
  world: World;
  adminSpec: AdminSpec;
  mcpSpec: McpSpec;
  endpoints: string[];
  /** The header value planted on `fm-a` (also in `world.secrets`). */
  headerSecret: string;
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Plants the world through `send` (see the module comment). */
export async function plantWorld(send: Send, options: PlantOptions): Promise<Planted> {
  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const headers: Array<[string, string]> = [["authorization", `Bearer ${options.adminToken}`]];
    if (body !== undefined) headers.push(["content-type", "application/json"]);
    const res = await send({ method, path, headers, body: body === undefined ? null : JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`plant: ${method} ${path} answered ${res.status} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body || "null");
  };
  const headerSecret = `fzsecret-${randomHex(16)}`;
  const { backend } = options;
  await admin("POST", "/api/backends", {
    name: "fm-a",
    url: backend.url,
    headers: { "X-Planted": headerSecret },
    timeoutMs: options.timeoutMs ?? 2000,
  });
  const clientSecret = `fzclient-${randomHex(16)}`;
  // Disabled: stored and listed (secret masked), never called.
  await admin("POST", "/api/backends", {
    name: "fm-oauth",
    url: backend.url,
    enabled: false,
    auth: { type: "oauth", clientId: "fz-client", clientSecret, scopes: ["read"] },
  });
  await admin("POST", "/api/servers", { name: "fm-token", backends: ["fm-a"] });
  await admin("POST", "/api/servers", { name: "fm-open", backends: ["fm-a"], prefix: false, auth: "none" });
  await admin("POST", "/api/servers", { name: "fm-other", backends: [] });
  const plugins = [
    { name: "fz-deny", kind: "deny_list", config: { words: ["forbidden-word"] } },
    { name: "fz-pii", kind: "pii_filter", config: { strategy: "mask" } },
    { name: "fz-secrets", kind: "secrets_detection", config: { action: "mask" } },
    { name: "fz-size", kind: "payload_size", config: { max_request_bytes: 65536, max_result_bytes: 65536 } },
    { name: "fz-length", kind: "output_length_guard", config: { max_chars: 200, strategy: "truncate" } },
    { name: "fz-schema", kind: "schema_guard", config: {} },
    { name: "fz-regex", kind: "regex_replace", config: { rules: [{ pattern: "secret-\\d+", replacement: "[x]" }] } },
  ];
  for (const p of plugins) await admin("POST", "/api/plugins", p);
  const created = async (name: string, scopes: string[], servers?: string[]) =>
    (await admin("POST", "/api/tokens", { name, scopes, ...(servers && { servers }) })) as {
      token: string;
      id: string;
    };
  const mcp = await created("fz-mcp", ["mcp"]);
  const tokens = {
    admin: (await created("fz-admin", ["admin"])).token,
    mcp: mcp.token,
    mcpOther: (await created("fz-other", ["mcp"], ["fm-other"])).token,
  };
  const upstream = { accessToken: `fzupstream-${randomHex(16)}`, refreshToken: `fzrefresh-${randomHex(16)}` };
  if (options.plantToken) await options.plantToken(mcp.id, upstream);
  const world: World = {
    adminToken: options.adminToken,
    tokens,
    secrets: [
      options.adminToken,
      tokens.admin,
      tokens.mcp,
      tokens.mcpOther,
      headerSecret,
      clientSecret,
      ...(options.plantToken ? [upstream.accessToken, upstream.refreshToken] : []),
    ],
    createdTokens: [],
  };
  const doc = (await admin("GET", "/api/openapi.json")) as OpenApiDoc;
  const kinds = (await admin("GET", "/api/plugins/kinds")) as KindInfo[];
  const endpoints = ["/mcp", "/servers/fm-token/mcp", "/servers/fm-open/mcp"];
  const prefixed = (names: string[]) => names.map((n) => `fm-a__${n}`);
  return {
    world,
    endpoints,
    headerSecret,
    adminSpec: {
      doc,
      kinds,
      pools: {
        backends: ["fa-b1", "fa-b2", "fa-b3"],
        servers: ["fa-s1", "fa-s2"],
        plugins: ["fa-p1", "fa-p2", "fa-p3"],
      },
      backendUrls: options.adminBackendUrls,
      webhookUrls: options.webhookUrls,
      privateBackendsAllowed: options.privateBackendsAllowed ?? false,
    },
    mcpSpec: {
      endpoints,
      openEndpoint: "/servers/fm-open/mcp",
      tools: [...prefixed(backend.tools), ...backend.tools],
      echoTools: ["fm-a__echo", "echo"],
      prompts: [...prefixed(backend.prompts), ...backend.prompts],
      resources: [...backend.resources.map((u) => `mcpgw://fm-a/${u}`), ...backend.resources],
      backends: ["fm-a"],
    },
  };
}
