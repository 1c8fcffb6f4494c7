/**
 * Fuzz cases for the MCP endpoints (`/mcp`, `/servers/:name/mcp`): JSON-RPC
 * envelopes of every method the gateway serves (valid, near-valid and
 * arbitrary params), notifications, responses to gateway-issued ids,
 * batches of every size around the limit, arbitrary JSON and non-JSON
 * bodies, bodies around the size limit, odd ids, and every transport
 * header (`MCP-Protocol-Version`, `Accept`, `Content-Type`,
 * `Mcp-Session-Id` live, tampered, forged, ended or someone else's,
 * `Origin`, `Host`) and credential.
 *
 * A case whose transport parts are all correct is marked `transportValid`:
 * the gateway must then read its body and answer with the request's id.
 */
import fc from "fast-check";
import { messageArb, requestArb } from "./jsonrpc-arb.ts";
import {
  type AuthChoice,
  type Body,
  type FuzzCase,
  MCP_BODY_LIMIT,
  MCP_VERSIONS,
  type SessionChoice,
} from "./model.ts";

/** What the MCP generator needs to know about the planted world. */
export interface McpSpec {
  /** Endpoints that exist: `/mcp` and virtual servers. */
  endpoints: string[];
  /** The endpoint with `auth: "none"`. */
  openEndpoint: string;
  /** Names clients see (prefixed and, on the unprefixed server, original). */
  tools: string[];
  /** Tools (names as clients see them) that answer with their `text` argument. */
  echoTools: string[];
  prompts: string[];
  resources: string[];
  /** Backend names (gateway-issued request ids name them). */
  backends: string[];
}

function weighted<T>(items: Array<[number, T]>): fc.Arbitrary<T> {
  return fc.oneof(...items.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

interface NotedBody {
  body: Body;
  why: string;
}

function bodyArb(spec: McpSpec): fc.Arbitrary<NotedBody> {
  const json =
    (why: string) =>
    (value: unknown): NotedBody => ({ body: { kind: "json", value }, why });
  const raw =
    (why: string) =>
    (t: string): NotedBody => ({ body: { kind: "text", text: t }, why });
  return fc.oneof(
    { weight: 14, arbitrary: messageArb(spec).map(json("message")) },
    { weight: 3, arbitrary: fc.array(messageArb(spec), { minLength: 1, maxLength: 6 }).map(json("batch")) },
    { weight: 1, arbitrary: fc.array(requestArb(spec), { minLength: 30, maxLength: 40 }).map(json("large batch")) },
    { weight: 1, arbitrary: fc.constant([]).map(json("empty batch")) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(raw("text")) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('{"jsonrpc":"2.0","id":1', "\uFEFF{}", "", "[1,2", `${"[".repeat(5000)}${"]".repeat(5000)}`)
        .map(raw("broken JSON")),
    },
    { weight: 1, arbitrary: fc.constant<NotedBody>({ body: { kind: "none" }, why: "no body" }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(MCP_BODY_LIMIT - 1, MCP_BODY_LIMIT, MCP_BODY_LIMIT + 1), fc.boolean())
        .map(([bytes, valid]): NotedBody => ({ body: { kind: "sized", bytes, valid }, why: `${bytes} bytes` })),
    },
  );
}

const SESSIONS: fc.Arbitrary<SessionChoice> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom(...MCP_VERSIONS).map((version): SessionChoice => ({ kind: "valid", version })),
  },
  { weight: 2, arbitrary: fc.constant<SessionChoice>({ kind: "none" }) },
  { weight: 1, arbitrary: fc.constant<SessionChoice>({ kind: "tampered", version: MCP_VERSIONS[0] }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<SessionChoice>({ kind: "other-endpoint" }, { kind: "other-subject" }, { kind: "ended" }),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.string({ maxLength: 60 }), fc.constantFrom("v1.", "v1.AAAA.BBBB", "x".repeat(10_000), "\u00ff"))
      .map((value): SessionChoice => ({ kind: "forged", value })),
  },
);

const AUTHS: Array<[number, AuthChoice]> = [
  [8, "admin"],
  [8, "mcp-token"],
  [1, "admin-token"],
  [1, "mcp-other"],
  [1, "wrong"],
  [1, "near-admin"],
  [1, "lowercase"],
  [1, "basic"],
  [1, "empty"],
  [2, "none"],
];
const GOOD_ACCEPT = "application/json, text/event-stream";
const ACCEPTS: Array<[number, string | null]> = [
  [14, GOOD_ACCEPT],
  [1, "*/*"],
  [1, "application/json"],
  [1, "text/event-stream"],
  [1, "text/html"],
  [1, ""],
  [1, null],
];
const CONTENT_TYPES: Array<[number, string | null]> = [
  [14, "application/json"],
  [2, "application/json; charset=utf-8"],
  [1, "text/plain"],
  [1, "application/json-seq"],
  [1, ""],
  [1, null],
];
const VERSIONS: Array<[number, string | null]> = [
  [6, null],
  ...MCP_VERSIONS.map((v): [number, string] => [3, v]),
  [1, "2024-11-05"],
  [1, ""],
  [1, "garbage"],
  [1, "x".repeat(300)],
];
const ORIGINS: Array<[number, string | null]> = [
  [14, null],
  [1, "http://localhost"],
  [1, "http://127.0.0.1:1"],
  [1, "https://evil.example"],
  [1, "null"],
  [1, "not a url"],
  [1, "http://[::1"],
];
const HOSTS: Array<[number, string | null]> = [
  [16, null],
  [1, "evil.example"],
  [1, "localhost"],
];
const METHODS: Array<[number, string]> = [
  [24, "POST"],
  [2, "GET"],
  [2, "DELETE"],
  [1, "PUT"],
  [1, "PATCH"],
  [1, "OPTIONS"],
  [1, "HEAD"],
];

/**
 * Which transport part is wrong. One at a time gets each check probed
 * behind correct others (and the body to the dispatcher most of the time);
 * "many" breaks every part at once.
 */
const FAULTS: Array<[number, string]> = [
  [14, "body"],
  [1, "endpoint"],
  [1, "method"],
  [1, "auth"],
  [2, "session"],
  [1, "accept"],
  [1, "contentType"],
  [1, "version"],
  [1, "origin"],
  [1, "host"],
  [2, "many"],
];

const ODD_ENDPOINTS = [
  "/mcp/",
  "/MCP",
  "/servers//mcp",
  "/servers/%2e%2e/mcp",
  `/servers/${"x".repeat(300)}/mcp`,
  "/servers/fm-nope/mcp",
  "/mcp?x=1",
];

/** Every MCP case. */
export function mcpCases(spec: McpSpec): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      fault: weighted(FAULTS),
      endpoint: fc.constantFrom(...spec.endpoints),
      badEndpoint: fc.oneof(fc.constantFrom(...spec.endpoints), fc.constantFrom(...ODD_ENDPOINTS)),
      badMethod: weighted(METHODS),
      auth: fc.constantFrom<AuthChoice>("admin", "mcp-token"),
      badAuth: weighted(AUTHS),
      session: fc.constantFrom(...MCP_VERSIONS).map((version): SessionChoice => ({ kind: "valid", version })),
      badSession: SESSIONS,
      badAccept: weighted(ACCEPTS),
      badContentType: weighted(CONTENT_TYPES),
      version: fc.constantFrom(null, ...MCP_VERSIONS),
      badVersion: weighted(VERSIONS),
      badOrigin: weighted(ORIGINS),
      badHost: weighted(HOSTS),
      body: bodyArb(spec),
    })
    .map((r): FuzzCase => {
      const bad = (part: string) => r.fault === part || r.fault === "many";
      const endpoint = bad("endpoint") ? r.badEndpoint : r.endpoint;
      const method = bad("method") ? r.badMethod : "POST";
      const auth = bad("auth") ? r.badAuth : r.auth;
      const accept = bad("accept") ? r.badAccept : GOOD_ACCEPT;
      const contentType = bad("contentType") ? r.badContentType : "application/json";
      const version = bad("version") ? r.badVersion : r.version;
      const origin = bad("origin") ? r.badOrigin : null;
      const host = bad("host") ? r.badHost : null;
      const headers: Array<[string, string]> = [];
      const put = (name: string, value: string | null) => value !== null && headers.push([name, value]);
      put("accept", accept);
      put("content-type", contentType);
      put("mcp-protocol-version", version);
      put("origin", origin);
      put("host", host);
      // initialize opens a session: sent without one (with one it is an error, also worth sending sometimes).
      const value = r.body.body.kind === "json" ? r.body.body.value : undefined;
      const isInit =
        typeof value === "object" && value !== null && (value as { method?: unknown }).method === "initialize";
      const chosen = bad("session") ? r.badSession : r.session;
      const session: SessionChoice = isInit && chosen.kind === "valid" ? { kind: "none" } : chosen;
      const credentialOk =
        endpoint === spec.openEndpoint || auth === "admin" || auth === "mcp-token" || auth === "lowercase";
      const transportValid =
        spec.endpoints.includes(endpoint) &&
        credentialOk &&
        method === "POST" &&
        (accept === GOOD_ACCEPT || accept === "*/*") &&
        (contentType === "application/json" || contentType === "application/json; charset=utf-8") &&
        (version === null || (MCP_VERSIONS as readonly string[]).includes(version)) &&
        (origin === null || origin === "http://localhost" || origin === "http://127.0.0.1:1") &&
        host === null &&
        !(r.body.body.kind === "sized" && r.body.body.bytes > MCP_BODY_LIMIT);
      const bodyless = method === "GET" || method === "DELETE" || method === "HEAD";
      return {
        surface: "mcp",
        method,
        path: endpoint,
        headers,
        auth,
        session,
        body: bodyless ? { kind: "none" } : r.body.body,
        note: `${method} ${endpoint.slice(0, 40)} ${r.body.why}${r.fault === "body" ? "" : ` (${r.fault} wrong)`}`,
        transportValid,
      };
    });
}
