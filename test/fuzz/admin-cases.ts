/**
 * Fuzz cases for the admin REST API, generated from the gateway's own
 * OpenAPI document (`GET /api/openapi.json`) and plugin kind schemas
 * (`GET /api/plugins/kinds`): every documented route and method, with
 * valid, near-valid (one field broken), arbitrary and non-JSON bodies, wrong
 * content types, odd path segments and encodings, query strings, other
 * methods and credentials; plus routes outside the document.
 */
import fc from "fast-check";
import { AUTHS, CONTENT_TYPES, junkBody, ODD_SEGMENTS, WEIRD_METHODS, weighted } from "./admin-vocab.ts";
import { ADMIN_BODY_LIMIT, type AuthChoice, type Body, CREATED_TOKEN, type FuzzCase } from "./model.ts";
import {
  type Hint,
  type JsonSchema,
  MALFORMED_URIS,
  nearValid,
  PRIVATE_URIS,
  refResolver,
  validValue,
} from "./schema-arb.ts";

/** The parts of an OpenAPI 3.1 document the generator reads. */
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

interface Operation {
  parameters?: Array<{ name: string; in: "path" | "query"; schema: JsonSchema; required?: boolean }>;
  requestBody?: { content: { "application/json": { schema: JsonSchema } } };
}

/** A plugin kind as `/api/plugins/kinds` describes it. */
export interface KindInfo {
  kind: string;
  hooks: string[];
  configSchema: JsonSchema;
}

/** What the admin generator needs to know about the deployment. */
export interface AdminSpec {
  doc: OpenApiDoc;
  kinds: KindInfo[];
  /** Names the fuzzer creates, reads, changes and deletes (kept apart from the MCP world's). */
  pools: { backends: string[]; servers: string[]; plugins: string[] };
  /** Backend URLs this deployment accepts (the address checks are not in the schema). */
  backendUrls: string[];
  webhookUrls: string[];
  /**
   * ALLOW_PRIVATE_BACKENDS=true: private-address URLs are valid there, so they
   * are not near-valid cases (they would register backends nobody listens at).
   */
  privateBackendsAllowed?: boolean;
}

function resourceOf(template: string): keyof AdminSpec["pools"] | "tokens" | "teams" | "spans" {
  const first = template.split("/")[1] ?? "";
  return first === "backends" || first === "servers" || first === "plugins" || first === "tokens" || first === "teams"
    ? first
    : "spans";
}

/**
 * Names of the teams the fuzzer creates: few, so a valid creation often meets an existing name. A team
 * is the one resource whose creations always succeed with a generated body (backends, servers and plugins
 * also need referenced names, URLs and configs to line up), so these keep duplicate-name 409s in every run;
 * with random names a 1500-case run sometimes saw none and failed its coverage check.
 */
const TEAM_NAMES = ["fuzz-team-a", "fuzz-team-b", "fuzz-team-c"];

function hintFor(spec: AdminSpec, resource: string): Hint {
  const names = (pool: string[]) =>
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, fc.stringMatching(/^[a-z0-9-]{1,32}$/));
  return (path) => {
    const key = path.join(".");
    if (key === "name" && resource in spec.pools) return names(spec.pools[resource as keyof AdminSpec["pools"]]);
    if (key === "name" && resource === "teams") return fc.constantFrom(...TEAM_NAMES);
    if (key === "url") return fc.constantFrom(...spec.backendUrls);
    // The fuzzer's backends speak Streamable HTTP: a legacy-SSE one would fail its refresh (a documented 502).
    if (key === "transport") return fc.constant("streamable-http");
    // `openapi` goes with transport "openapi" only (a cross-field rule the schema does not state; a document
    // must also be served): generated settings would turn every such creation into a 400. test/e2e/openapi.test.ts.
    if (key === "openapi") return fc.constant(undefined);
    // A backend's upstream OAuth `auth` makes the save ask the generated issuer for its metadata (a 400 or
    // a wait for every such creation); its bad input is tested in test/workers/upstream-oauth*.test.ts.
    if (key === "auth" && resource === "backends") return fc.constant(undefined);
    if (key === "config.url") return fc.constantFrom(...spec.webhookUrls);
    // The fuzzer plants no teams, so a generated team name is always a 400: platform-owned (null) keeps
    // creations, and with them duplicate-name 409s, within reach (unknown teams are tested in identity-teams).
    if (key === "team" && (resource === "backends" || resource === "servers")) return fc.constant(null);
    if (key === "backends.0") return names(spec.pools.backends);
    if (key === "servers.0") return names(spec.pools.servers);
    // The published config schemas are camelCase (the snake_case spelling is a deprecated alias).
    if (key === "timeoutMs" || key === "config.timeoutMs") return fc.integer({ min: 1, max: 2000 });
    return undefined;
  };
}

/** A plugin body schema with `kind` fixed and `config` typed by that kind's schema. */
function pluginSchema(base: JsonSchema, kind: KindInfo): JsonSchema {
  return {
    ...base,
    properties: {
      ...base.properties,
      kind: { const: kind.kind },
      hooks: { type: "array", items: { enum: kind.hooks }, minItems: 1, maxItems: kind.hooks.length },
      config: kind.configSchema,
    },
  };
}

/** A body and what it is ("valid", "near-valid <field>: <rule>", "junk"). */
interface NotedBody {
  body: Body;
  why: string;
}

const noted =
  (why: string) =>
  (body: Body): NotedBody => ({ body, why });

/** Valid bodies of a route, and every kind of body (valid, near-valid, junk, none, around the size limit). */
function bodiesFor(
  spec: AdminSpec,
  op: Operation,
  template: string,
): { valid: fc.Arbitrary<NotedBody>; any: fc.Arbitrary<NotedBody> } {
  const schema = op.requestBody?.content["application/json"].schema;
  const none = fc.constant<Body>({ kind: "none" }).map(noted("no body"));
  if (!schema) return { valid: none, any: fc.oneof({ weight: 6, arbitrary: none }, junkBody.map(noted("junk"))) };
  const resolveRef = refResolver(spec.doc.components.schemas);
  const resource = resourceOf(template);
  const hint = hintFor(spec, resource);
  const root = schema.$ref ? resolveRef(schema.$ref) : schema;
  const schemas = resource === "plugins" ? spec.kinds.map((k) => pluginSchema(root, k)) : [root];
  const valid = fc
    .oneof(...schemas.map((s) => validValue(s, resolveRef, hint)))
    .map((value): NotedBody => ({ body: { kind: "json", value }, why: "valid" }));
  const uris = spec.privateBackendsAllowed ? MALFORMED_URIS : [...MALFORMED_URIS, ...PRIVATE_URIS];
  const near = fc
    .oneof(...schemas.map((s) => nearValid(s, resolveRef, hint, uris)))
    .map(({ value, why }): NotedBody => ({ body: { kind: "json", value }, why: `near-valid ${why}` }));
  const sized = fc
    .constantFrom(ADMIN_BODY_LIMIT + 1, ADMIN_BODY_LIMIT - 64)
    .map((bytes): NotedBody => ({ body: { kind: "sized", bytes, valid: true }, why: `${bytes} bytes` }));
  const any = fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 10, arbitrary: near },
    { weight: 2, arbitrary: junkBody.map(noted("junk")) },
    { weight: 1, arbitrary: none },
    { weight: 1, arbitrary: sized },
  );
  return { valid, any };
}

/** A path segment naming something the fuzzer manages (it may or may not exist right now). */
function validSegment(spec: AdminSpec, param: string, template: string): fc.Arbitrary<string> {
  if (param === "id") return fc.constant(CREATED_TOKEN);
  if (param === "traceId") return fc.stringMatching(/^[0-9a-f]{32}$/);
  const resource = resourceOf(template);
  return fc.constantFrom(
    ...(resource in spec.pools ? spec.pools[resource as keyof AdminSpec["pools"]] : spec.pools.backends),
  );
}

function segmentFor(spec: AdminSpec, param: string, template: string): fc.Arbitrary<string> {
  const resource = resourceOf(template);
  const odd = fc.constantFrom(...ODD_SEGMENTS);
  if (param === "id")
    return fc.oneof(
      { weight: 3, arbitrary: fc.constant(CREATED_TOKEN) },
      fc.string({ maxLength: 70 }).map(encodeURIComponent),
      odd,
    );
  if (param === "traceId")
    return fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ maxLength: 40 }).map(encodeURIComponent), odd);
  const pool = resource in spec.pools ? spec.pools[resource as keyof AdminSpec["pools"]] : spec.pools.backends;
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...pool) },
    { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,32}$/) },
    { weight: 2, arbitrary: odd },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
  );
}

function queryFor(op: Operation): fc.Arbitrary<string> {
  const params = (op.parameters ?? []).filter((p) => p.in === "query");
  const junk = fc.constantFrom(
    "",
    "",
    "",
    "?",
    "?x=1",
    "?limit=-1&limit=2",
    "?%zz=1",
    "?a=%",
    `?cursor=${"9".repeat(500)}`,
  );
  if (params.length === 0) return junk;
  const resolveRef = refResolver({});
  const one = fc.oneof(
    ...params.map((p) =>
      fc
        .oneof(
          validValue(p.schema, resolveRef),
          nearValid(p.schema, resolveRef).map((n) => n.value),
        )
        .map(
          (v) =>
            `${encodeURIComponent(p.name)}=${encodeURIComponent(typeof v === "string" ? v : (JSON.stringify(v) ?? ""))}`,
        ),
    ),
  );
  return fc.oneof(
    junk,
    fc.array(one, { minLength: 1, maxLength: 4 }).map((parts) => `?${parts.join("&")}`),
  );
}

interface Route {
  method: string;
  template: string;
  op: Operation;
}

function routes(doc: OpenApiDoc): Route[] {
  const out: Route[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) out.push({ method: method.toUpperCase(), template, op });
  }
  return out;
}

/**
 * Which part of a request is wrong. One part at a time reaches deep into
 * validation (a broken body behind a valid credential and content type);
 * "many" breaks every part at once.
 */
const FAULTS: Array<[number, string]> = [
  [8, "body"],
  [1, "none"],
  [1, "auth"],
  [1, "contentType"],
  [1, "method"],
  [1, "segment"],
  [1, "query"],
  [2, "many"],
];

function documentedCase(spec: AdminSpec, route: Route): fc.Arbitrary<FuzzCase> {
  const names = route.template.match(/\{(\w+)\}/g) ?? [];
  const segment = (valid: boolean) =>
    fc.tuple(
      ...names.map((n) =>
        valid ? validSegment(spec, n.slice(1, -1), route.template) : segmentFor(spec, n.slice(1, -1), route.template),
      ),
    );
  const bodies = bodiesFor(spec, route.op, route.template);
  return fc
    .record({
      fault: weighted(FAULTS),
      method: fc.constant(route.method),
      badMethod: fc.oneof(fc.constantFrom("GET", "POST", "PATCH", "DELETE"), fc.constantFrom(...WEIRD_METHODS)),
      segments: segment(true),
      badSegments: segment(false),
      badQuery: queryFor(route.op),
      body: bodies.valid,
      badBody: bodies.any,
      badContentType: weighted(CONTENT_TYPES),
      auth: fc.constantFrom<AuthChoice>("admin", "admin", "admin", "admin-token"),
      badAuth: weighted(AUTHS),
      extra: fc.option(
        fc.constantFrom<[string, string]>(
          ["accept", "text/html"],
          ["traceparent", "00-zz-zz-01"],
          ["x-forwarded-for", "10.0.0.1"],
          ["content-encoding", "gzip"],
        ),
      ),
    })
    .map((r): FuzzCase => {
      const bad = (part: string) => r.fault === part || r.fault === "many";
      const values = bad("segment") ? r.badSegments : r.segments;
      const { body, why } = bad("body") ? r.badBody : r.body;
      const contentType = bad("contentType") ? r.badContentType : "application/json";
      let i = 0;
      const path = `/api${route.template.replace(/\{\w+\}/g, () => values[i++] ?? "")}${bad("query") ? r.badQuery : ""}`;
      const headers: Array<[string, string]> = [];
      if (contentType !== null && (body.kind !== "none" || bad("contentType")))
        headers.push(["content-type", contentType]);
      if (r.extra) headers.push(r.extra);
      return {
        surface: "admin",
        method: bad("method") ? r.badMethod : r.method,
        path,
        headers,
        auth: bad("auth") ? r.badAuth : r.auth,
        body,
        note: `${route.method} ${route.template} ${why}${r.fault === "body" || r.fault === "none" ? "" : ` (${r.fault} wrong)`}`,
      };
    });
}

/** Routes the document does not list: the admin-authenticated `/metrics`, `/health`, the document itself, and strays. */
const strayCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    method: fc.constantFrom("GET", "POST", "DELETE", "PATCH", ...WEIRD_METHODS),
    path: fc.oneof(
      fc.constantFrom(
        "/metrics",
        "/health",
        "/api/openapi.json",
        "/api",
        "/api/",
        "//api/backends",
        "/API/backends",
        "/api/backends/",
        "/api/backends/x/health/extra",
        "/api/plugins/kinds/x",
        "/api/spans/",
        "/api/tokens/a/b",
        "/.well-known/oauth-protected-resource",
      ),
      fc.webPath().map((p) => `/api${p}`),
    ),
    auth: weighted(AUTHS),
    body: fc.oneof({ weight: 3, arbitrary: fc.constant<Body>({ kind: "none" }) }, junkBody),
  })
  .map(
    ({ method, path, auth, body }): FuzzCase => ({
      surface: "admin",
      method,
      path,
      headers: body.kind === "none" ? [] : [["content-type", "application/json"]],
      auth,
      body,
      note: `stray ${path.split("?")[0]}`,
    }),
  );

/** Every admin case: documented routes (weighted by how many there are) and strays. */
export function adminCases(spec: AdminSpec): fc.Arbitrary<FuzzCase> {
  // Routes with a body have the most to validate: they get more cases.
  const documented = routes(spec.doc).map((r) => ({
    weight: r.op.requestBody ? 6 : 2,
    arbitrary: documentedCase(spec, r),
  }));
  return fc.oneof(...documented, { weight: 4, arbitrary: strayCase });
}

/** Whether a case writes (a rejected one must leave the config version and rows unchanged). */
export function isWrite(c: FuzzCase): boolean {
  return ["POST", "PUT", "PATCH", "DELETE"].includes(c.method) && !c.path.includes("/refresh");
}
