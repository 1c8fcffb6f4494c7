// Skills (SEP-2640) in the federated view (public URIs, digests untouched, per-server subsets, routing of skill files) and the unknown-extension policy, plus bad input on both eras' wires (-32602 / -32601, never a 5xx), inside workerd.
import { exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackendConfig } from "../../src/config/snapshot";
import { serverCapabilities } from "../../src/core/capabilities";
import { buildView, type Endpoint, routeUri } from "../../src/core/federation";
import { skillOwner } from "../../src/core/skill-view";
import type { Catalog, CatalogItem } from "../../src/protocol/catalog-types";
import { ADMIN, api, backendConfig, uniqueName } from "./helpers";
import { route } from "./outbound";

const SKILLS = "io.modelcontextprotocol/skills";
const DIGEST = `sha256:${"ab".repeat(32)}`;

const backend = (name: string): BackendConfig => backendConfig(name);

function skill(path: string, extra: Record<string, unknown> = {}): CatalogItem {
  const name = path.split("/").at(-1) as string;
  return {
    uri: `skill://${path}/SKILL.md`,
    frontmatter: { name, description: `the ${name} skill`, metadata: { "io.modelcontextprotocol/x": 1 } },
    resources: [
      { uri: `skill://${path}/SKILL.md`, digest: DIGEST, size: 120 },
      { uri: `skill://${path}/references/GUIDE.md`, digest: DIGEST, size: 7 },
    ],
    _meta: { "com.example/origin": "x" },
    ...extra,
  };
}

function catalog(skills: CatalogItem[], capabilities: Record<string, unknown>): Catalog {
  return { tools: [], prompts: [], resources: [], resourceTemplates: [], skills, capabilities, fetchedAt: 1 };
}

const withSkills = (settings: Record<string, unknown> = {}) => ({ resources: {}, extensions: { [SKILLS]: settings } });

function endpoint(names: string[], prefix: boolean): Endpoint {
  return { key: "k", server: null, prefix, backends: names.map(backend), tools: null, discovery: "list" };
}

describe("skills in the federated view", () => {
  const catalogs = new Map<string, Catalog>([
    ["alpha", catalog([skill("git-workflow"), skill("acme/billing/refunds")], withSkills({ directoryRead: true }))],
    ["beta", catalog([skill("git-workflow"), skill("reports", { resources: "dynamic" })], withSkills())],
    // Skills in a catalog whose backend does not declare the extension are not served.
    ["gamma", catalog([skill("stray")], { resources: {} })],
  ]);

  it("prefixes every URI of an entry on a prefixed endpoint and leaves frontmatter, digests and _meta untouched", () => {
    const view = buildView(endpoint(["alpha", "beta", "gamma"], true), catalogs);
    const uris = view.skills.entries.map((e) => e.item.uri);
    expect(uris).toEqual([
      "mcpgw://alpha/skill://git-workflow/SKILL.md",
      "mcpgw://alpha/skill://acme/billing/refunds/SKILL.md",
      "mcpgw://beta/skill://git-workflow/SKILL.md",
      "mcpgw://beta/skill://reports/SKILL.md",
    ]);
    const original = catalogs.get("alpha")?.skills?.[1] as CatalogItem;
    const refunds = view.skills.entries[1]?.item as CatalogItem;
    expect(refunds.frontmatter).toBe(original.frontmatter);
    expect(refunds._meta).toBe(original._meta);
    expect(refunds.resources).toEqual([
      { uri: "mcpgw://alpha/skill://acme/billing/refunds/SKILL.md", digest: DIGEST, size: 120 },
      { uri: "mcpgw://alpha/skill://acme/billing/refunds/references/GUIDE.md", digest: DIGEST, size: 7 },
    ]);
    expect(view.skills.entries[3]?.item.resources).toBe("dynamic");
    expect([...view.skills.backends.keys()]).toEqual(["alpha", "beta"]);
  });

  it("keeps the backends' URIs without prefixes (first backend by name wins a duplicate) and serves per-server subsets", () => {
    const view = buildView(endpoint(["beta", "alpha"], false), catalogs);
    expect(view.skills.entries.map((e) => `${e.backend} ${e.item.uri}`)).toEqual([
      "alpha skill://git-workflow/SKILL.md",
      "alpha skill://acme/billing/refunds/SKILL.md",
      "beta skill://reports/SKILL.md",
    ]);
    expect(view.skills.entries[0]?.item).toBe(catalogs.get("alpha")?.skills?.[0]);
    const subset = buildView(endpoint(["beta"], false), catalogs);
    expect(subset.skills.entries.map((e) => e.item.uri)).toEqual([
      "skill://git-workflow/SKILL.md",
      "skill://reports/SKILL.md",
    ]);
  });

  it("routes a listed skill's files and directories to its backend before any resource template", () => {
    const withTemplate = new Map(catalogs);
    withTemplate.set("alpha", {
      ...(catalogs.get("alpha") as Catalog),
      resourceTemplates: [{ uriTemplate: "skill://{path}", name: "skills" }],
    });
    const ep = endpoint(["alpha", "beta"], false);
    const view = buildView(ep, withTemplate);
    expect(routeUri(ep, "skill://reports/data/today.csv", view)).toEqual({
      backend: "beta",
      uri: "skill://reports/data/today.csv",
    });
    // The root itself (a directory read) and a single-segment URI the template would also match.
    expect(routeUri(ep, "skill://reports", view)?.backend).toBe("beta");
    expect(routeUri(ep, "skill://acme/billing/refunds/references/GUIDE.md", view)?.backend).toBe("alpha");
    expect(routeUri(ep, "skill://unlisted/SKILL.md", view)).toBeNull();
  });

  it("walks at most 32 levels up a URI looking for its skill (bounded work per crafted URI)", () => {
    const view = buildView(endpoint(["alpha"], false), catalogs);
    expect(skillOwner(view.skills, `skill://${"a/".repeat(50_000)}x`)).toBeNull();
    expect(skillOwner(view.skills, "skill://git-workflow/a/b/c/d")).toBe("alpha");
    expect(skillOwner(view.skills, `skill://git-workflow/${"d/".repeat(30)}f`)).toBe("alpha");
    expect(skillOwner(view.skills, `skill://git-workflow/${"d/".repeat(40)}f`)).toBeNull();
  });
});

describe("capabilities and the unknown-extension policy", () => {
  const own = {
    tools: {},
    resources: {},
    experimental: { "acme/echo": {} },
    extensions: { [SKILLS]: { directoryRead: true, future: 1 }, "com.example/echo": { version: 1 } },
    "com.example/custom": { on: true },
  };
  const catalogs = new Map([
    ["solo", catalog([skill("one")], own)],
    ["plain", catalog([], { tools: {} })],
  ]);

  it("advertises only the skills extension on a federated endpoint", () => {
    for (const ep of [
      endpoint(["solo", "plain"], true),
      endpoint(["solo", "plain"], false),
      endpoint(["solo"], true),
    ]) {
      const caps = serverCapabilities(buildView(ep, catalogs));
      expect(caps.extensions).toEqual({ [SKILLS]: { directoryRead: true } });
      expect(caps).not.toHaveProperty("experimental");
      expect(caps).not.toHaveProperty("com.example/custom");
    }
    expect(serverCapabilities(buildView(endpoint(["plain"], true), catalogs))).not.toHaveProperty("extensions");
  });

  it("passes the single backend's own capabilities through on an unprefixed single-backend endpoint", () => {
    const view = buildView(endpoint(["solo"], false), catalogs);
    expect(view.passthrough).toBe("solo");
    const caps = serverCapabilities(view);
    expect(caps.experimental).toEqual(own.experimental);
    expect(caps.extensions).toEqual(own.extensions);
    expect(caps["com.example/custom"]).toEqual({ on: true });
    expect(caps.tools).toEqual({ listChanged: true });
  });
});

// ----- on the wire: a scripted 2025 backend serving skills and one unknown method -----

const ENTRY = skill("git-workflow");
let name: string;
let plainName: string;
const closers: Array<() => void> = [];
/** Notifications each fake backend received, by backend URL. */
const notified = new Map<string, string[]>();

function fakeSkillsBackend(url: string, skills: boolean): () => void {
  notified.set(url, []);
  return route(url, async (request) => {
    if (request.method !== "POST") return new Response(null, { status: 405 });
    const message = (await request.json()) as { id?: unknown; method?: string; params?: Record<string, unknown> };
    const { id, method, params } = message;
    if (id === undefined && method) notified.get(url)?.push(method);
    const reply = (result: unknown) =>
      Response.json({ jsonrpc: "2.0", id, result }, { headers: { "mcp-session-id": "s" } });
    const fail = (code: number, text: string) => Response.json({ jsonrpc: "2.0", id, error: { code, message: text } });
    if (id === undefined) return new Response(null, { status: 202 });
    switch (method) {
      case "initialize":
        return reply({
          protocolVersion: "2025-11-25",
          capabilities: { tools: {}, resources: {}, ...(skills && { extensions: { [SKILLS]: {} } }) },
          serverInfo: { name: "fake-skills", version: "1" },
        });
      case "tools/list":
        return reply({ tools: [{ name: `t_${skills}`, inputSchema: { type: "object" } }] });
      case "resources/list":
        return reply({ resources: [] });
      case "resources/templates/list":
        return reply({ resourceTemplates: [] });
      case "skills/list":
        return reply({ skills: [ENTRY] });
      case "skills/get":
        return params?.uri === ENTRY.uri
          ? reply({ skill: ENTRY })
          : fail(-32602, `No skill is served at ${params?.uri}`);
      case "acme/echo":
        return reply({ echoed: params?.text });
      default:
        return fail(-32601, "Method not found");
    }
  });
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers: {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      authorization: `Bearer ${ADMIN}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

async function session(path: string): Promise<Record<string, string>> {
  const init = await post(path, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  });
  expect(init.status).toBe(200);
  return { "mcp-session-id": init.headers.get("mcp-session-id") as string };
}

function noteInit(note: unknown, headers: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      authorization: `Bearer ${ADMIN}`,
      ...headers,
    },
    body: JSON.stringify(note),
  };
}

function modern(id: number, method: string, params: Record<string, unknown> = {}) {
  const _meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
  };
  return {
    body: { jsonrpc: "2.0", id, method, params: { ...params, _meta } },
    headers: { "mcp-protocol-version": "2026-07-28", "mcp-method": method },
  };
}

beforeAll(async () => {
  name = uniqueName("sk");
  plainName = uniqueName("skp");
  closers.push(fakeSkillsBackend(`https://93.184.215.14/${name}/mcp`, true));
  closers.push(fakeSkillsBackend(`https://93.184.215.14/${plainName}/mcp`, false));
  for (const n of [name, plainName]) {
    const res = await api("POST", "/api/backends", { body: { name: n, url: `https://93.184.215.14/${n}/mcp` } });
    expect(res.status).toBe(201);
  }
  for (const [server, backends] of [
    [`${name}-solo`, [name]],
    [`${name}-none`, [plainName]],
  ] as const) {
    expect((await api("POST", "/api/servers", { body: { name: server, backends, prefix: false } })).status).toBe(201);
  }
});

afterAll(() => {
  for (const close of closers.splice(0)) close();
});

describe("skills and unknown methods on the wire", () => {
  it("lists and gets a 2025 backend's skill under its public URI, the entry otherwise as sent", async () => {
    const headers = await session("/mcp");
    const listed = await post("/mcp", { jsonrpc: "2.0", id: 1, method: "skills/list" }, headers);
    const skills = (listed.body.result as { skills: CatalogItem[] }).skills;
    const mine = skills.find((s) => String(s.uri).startsWith(`mcpgw://${name}/`));
    expect(mine).toEqual({
      ...ENTRY,
      uri: `mcpgw://${name}/${ENTRY.uri}`,
      resources: (ENTRY.resources as Array<{ uri: string }>).map((r) => ({ ...r, uri: `mcpgw://${name}/${r.uri}` })),
    });
    const got = await post(
      "/mcp",
      { jsonrpc: "2.0", id: 2, method: "skills/get", params: { uri: mine?.uri } },
      headers,
    );
    expect((got.body.result as { skill: unknown }).skill).toEqual(mine);
  });

  it("answers bad skills input with -32602 and the request's id, never a 5xx", async () => {
    const headers = await session("/mcp");
    const cases: Array<[Record<string, unknown> | undefined, string]> = [
      [undefined, "skills/get"],
      [{ uri: 42 }, "skills/get"],
      [{ uri: "" }, "skills/get"],
      [{ uri: `mcpgw://${name}/skill://nope/SKILL.md` }, "skills/get"],
      [{ uri: `mcpgw://no-such-backend/${ENTRY.uri}` }, "skills/get"],
      [{ uri: `mcpgw://${plainName}/${ENTRY.uri}` }, "skills/get"],
      [{ uri: "x".repeat(5000) }, "skills/get"],
      [{ cursor: "not-a-cursor" }, "skills/list"],
      [{ cursor: 7 }, "skills/list"],
      [{ uri: `mcpgw://${name}/skill://git-workflow` }, "resources/directory/read"],
    ];
    for (const [i, [params, method]] of cases.entries()) {
      const res = await post("/mcp", { jsonrpc: "2.0", id: `b${i}`, method, ...(params && { params }) }, headers);
      expect(res.status, method).toBeLessThan(500);
      const error = res.body.error as { code: number; message: string };
      expect(res.body.id).toBe(`b${i}`);
      // A directory read of a backend that did not declare directoryRead is -32601 with the reason; the rest -32602.
      expect(error.code, JSON.stringify(params)).toBe(method === "resources/directory/read" ? -32601 : -32602);
      expect(error.message.length).toBeLessThan(400);
    }
    const modernGet = modern(9, "skills/get", { uri: `mcpgw://${name}/skill://nope/SKILL.md` });
    const res = await post("/mcp", modernGet.body, modernGet.headers);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 9, error: { code: -32602 } });
  });

  it("refuses the skills methods with a reason where no backend has the extension (HTTP 404 in 2026)", async () => {
    const path = `/servers/${name}-none/mcp`;
    const legacy = await post(path, { jsonrpc: "2.0", id: 1, method: "skills/list" }, await session(path));
    expect(legacy.body).toMatchObject({ id: 1, error: { code: -32601, data: { reason: "no_skills_backend" } } });
    const list = modern(2, "skills/list");
    const res = await post(path, list.body, list.headers);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ id: 2, error: { code: -32601, data: { reason: "no_skills_backend" } } });
  });

  it("passes an unknown method to the single backend of an unprefixed server, refuses it with a reason on /mcp", async () => {
    const solo = `/servers/${name}-solo/mcp`;
    const echo = { jsonrpc: "2.0", id: 1, method: "acme/echo", params: { text: "hi" } };
    expect((await post(solo, echo, await session(solo))).body).toEqual({
      jsonrpc: "2.0",
      id: 1,
      result: { echoed: "hi" },
    });
    const refused = await post("/mcp", echo, await session("/mcp"));
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ id: 1, error: { code: -32601, data: { reason: "not_federated" } } });
    const modernEcho = modern(3, "acme/echo", { text: "hey" });
    const passed = await post(solo, modernEcho.body, modernEcho.headers);
    expect(passed.body).toMatchObject({ id: 3, result: { echoed: "hey", resultType: "complete" } });
    // An unknown client notification reaches the pass-through backend, and no backend behind /mcp.
    const note = { jsonrpc: "2.0", method: "notifications/acme/poke" };
    // /mcp first: by the time the later pass-through one has arrived, a forwarded earlier one would have too.
    const mcpSession = await session("/mcp");
    expect((await exports.default.fetch("http://localhost/mcp", noteInit(note, mcpSession))).status).toBe(202);
    const soloSession = await session(solo);
    expect((await exports.default.fetch(`http://localhost${solo}`, noteInit(note, soloSession))).status).toBe(202);
    const received = notified.get(`https://93.184.215.14/${name}/mcp`) as string[];
    for (let i = 0; i < 100 && !received.includes("notifications/acme/poke"); i++) await scheduler.wait(20);
    expect(received.filter((m) => m === "notifications/acme/poke")).toHaveLength(1);
    expect(notified.get(`https://93.184.215.14/${plainName}/mcp`)).not.toContain("notifications/acme/poke");
    const modernRefused = await post("/mcp", modernEcho.body, modernEcho.headers);
    expect(modernRefused.status).toBe(404);
    expect(modernRefused.body).toMatchObject({ id: 3, error: { code: -32601, data: { reason: "not_federated" } } });
  });
});
