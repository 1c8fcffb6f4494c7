// End to end, two isolates: the Skills extension (skills/list, skills/get, verified resources/read) through /mcp and an unprefixed server with the SDK v2 SkillsClient in both eras, team visibility, and the unknown-extension policy (pass-through on a single-backend unprefixed server, refusal elsewhere).
import { Client, ProtocolError, SdkHttpError, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { type Skill, SkillsClient } from "@modelcontextprotocol/client/ext/skills";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type SkillsBackend, startSkillsBackend } from "../fixtures/skills-backend";
import { adminCall, mcpPost } from "../helpers/admin-client";
import { type Gateway, startGateway } from "../helpers/gateway";

type Era = "2026" | "2025";

let gateway: Gateway;
let red: SkillsBackend;
let blue: SkillsBackend;
let adminToken: string;
let blueToken: string;
const clients: Client[] = [];

const SKILLS_ID = "io.modelcontextprotocol/skills";
const EchoResult = z.object({ echoed: z.string(), by: z.string() }).loose();

async function connect(era: Era, path = "/mcp", token = adminToken): Promise<Client> {
  const client = new Client(
    { name: `e2e-skills-${era}`, version: "1" },
    era === "2026" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

/** The backend's own entry with every URI as a prefixed endpoint shows it. */
function prefixed(backend: SkillsBackend, skill: Skill): Skill {
  const pub = (uri: string) => `mcpgw://${backend.name}/${uri}`;
  const resources = skill.resources === "dynamic" ? "dynamic" : skill.resources.map((r) => ({ ...r, uri: pub(r.uri) }));
  return { ...skill, uri: pub(skill.uri), resources };
}

function byUri(skills: readonly Skill[]): Skill[] {
  return [...skills].sort((a, b) => a.uri.localeCompare(b.uri));
}

async function rpcError(work: Promise<unknown>): Promise<ProtocolError> {
  const err = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProtocolError);
  return err as ProtocolError;
}

beforeAll(async () => {
  [gateway, red, blue] = await Promise.all([
    startGateway({ isolates: 2 }),
    startSkillsBackend("skred", "modern"),
    startSkillsBackend("skblue", "legacy"),
  ]);
  const admin = (method: string, path: string, body?: unknown) =>
    adminCall(gateway.url, gateway.adminToken, method, path, body);
  for (const team of ["team-red", "team-blue"])
    expect((await admin("POST", "/api/teams", { name: team })).status).toBe(201);
  expect((await admin("POST", "/api/backends", { name: red.name, url: red.url, team: "team-red" })).status).toBe(201);
  expect((await admin("POST", "/api/backends", { name: blue.name, url: blue.url, team: "team-blue" })).status).toBe(
    201,
  );
  for (const [name, backends] of [
    ["sk-solo", [red.name]],
    ["sk-pair", [red.name, blue.name]],
  ] as const) {
    const saved = await admin("POST", "/api/servers", { name, backends, prefix: false });
    expect(saved.status, JSON.stringify(saved.json)).toBe(201);
  }
  const token = async (body: Record<string, unknown>) =>
    ((await admin("POST", "/api/tokens", { scopes: ["mcp"], ...body })).json as { token: string }).token;
  adminToken = await token({ name: "skills-all", role: "platform_admin" });
  blueToken = await token({ name: "skills-blue", team: "team-blue", role: "developer" });
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await Promise.all([gateway?.stop(), red?.close(), blue?.close()]);
});

describe.each(["2026", "2025"] as const)("skills through the gateway, %s client", (era) => {
  it("/mcp lists every backend's skills under prefixed URIs with frontmatter and digests untouched", async () => {
    const client = await connect(era);
    // The SDK's catalog serves directory reads; the gateway says so because a backend does.
    expect(client.getServerCapabilities()?.extensions?.[SKILLS_ID]).toEqual({ directoryRead: true });
    const skills = new SkillsClient(client);
    expect(skills.supported).toBe(true);
    const listed = await skills.list();
    expect(listed.invalid).toEqual([]);
    const expected = [...red.entries.map((s) => prefixed(red, s)), ...blue.entries.map((s) => prefixed(blue, s))];
    // Deep equality: frontmatter verbatim, every digest and size byte for byte as each backend published them.
    expect(byUri(listed.skills)).toEqual(byUri(expected));
    if (era === "2026") expect(listed).toMatchObject({ ttlMs: expect.any(Number), cacheScope: "private" });
  });

  it("/mcp: skills/get and verified reads of a modern and a 2025 backend's skill files", async () => {
    const skills = new SkillsClient(await connect(era));
    for (const backend of [red, blue]) {
      const own = backend.entries.find((s) => s.frontmatter.name === `${backend.name}-workflow`) as Skill;
      const { skill } = await skills.get(`mcpgw://${backend.name}/${own.uri}`);
      expect(skill).toEqual(prefixed(backend, own));
      // SkillsClient.read checks size, SHA-256 digest and (for SKILL.md) the frontmatter against the entry.
      const manifest = await skills.read(skill);
      expect(manifest.verified).toBe(true);
      expect(manifest.text).toBe(backend.files[`${backend.name}-workflow/SKILL.md`]);
      const guide = await skills.read(skill, "references/GUIDE.md");
      expect(guide.verified).toBe(true);
      expect(new TextDecoder().decode(guide.bytes)).toBe(backend.files[`${backend.name}-workflow/references/GUIDE.md`]);
      const root = skill.uri.slice(0, -"/SKILL.md".length);
      const children = await skills.readDirectory(`${root}/references`);
      expect(children.resources.map((r) => r.uri)).toEqual([`${root}/references/GUIDE.md`]);
    }
    const unknown = await rpcError(skills.get(`mcpgw://${red.name}/skill://nope/SKILL.md`));
    expect(unknown.code).toBe(-32602);
  });

  it("an unprefixed server keeps the backends' own URIs and routes each skill's files to its backend", async () => {
    const skills = new SkillsClient(await connect(era, "/servers/sk-pair/mcp"));
    const listed = await skills.list();
    expect(byUri(listed.skills)).toEqual(byUri([...red.entries, ...blue.entries]));
    for (const backend of [red, blue]) {
      const own = backend.entries.find((s) => s.frontmatter.name === `${backend.name}-workflow`) as Skill;
      const { skill } = await skills.get(own.uri);
      expect(skill).toEqual(own);
      const guide = await skills.read(skill, "references/GUIDE.md");
      expect(new TextDecoder().decode(guide.bytes)).toBe(backend.files[`${backend.name}-workflow/references/GUIDE.md`]);
    }
  });

  it("a team-limited caller sees and gets only its team's backend's skills", async () => {
    const client = await connect(era, "/mcp", blueToken);
    const skills = new SkillsClient(client);
    const listed = await skills.list();
    expect(byUri(listed.skills)).toEqual(byUri(blue.entries.map((s) => prefixed(blue, s))));
    const hidden = red.entries[0] as Skill;
    const refused = await rpcError(skills.get(`mcpgw://${red.name}/${hidden.uri}`));
    expect(refused.code).toBe(-32602);
  });

  it("unknown extensions pass through on a single-backend unprefixed server", async () => {
    const client = await connect(era, "/servers/sk-solo/mcp");
    const caps = client.getServerCapabilities();
    expect(caps?.experimental).toEqual({ "acme/echo": {} });
    expect(caps?.extensions?.["com.example/echo"]).toEqual({ version: 1 });
    const answer = await client.request({ method: "acme/echo", params: { text: `hi ${era}` } }, EchoResult);
    expect(answer).toMatchObject({ echoed: `hi ${era}`, by: red.name });
  });

  it("unknown extensions are refused with a reason on a federated endpoint, and not advertised", async () => {
    for (const path of ["/mcp", "/servers/sk-pair/mcp"]) {
      const client = await connect(era, path);
      const caps = client.getServerCapabilities();
      expect(caps?.experimental).toBeUndefined();
      expect(caps?.extensions).toEqual({ [SKILLS_ID]: { directoryRead: true } });
      const work = client.request({ method: "acme/echo", params: { text: "hi" } }, EchoResult);
      if (era === "2026") {
        // 2026-07-28 answers -32601 with HTTP 404 (transports), which the SDK reports as an HTTP error;
        // the body's reason is checked on the wire below.
        const err = await work.then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SdkHttpError);
        expect((err as SdkHttpError).status).toBe(404);
      } else {
        const refused = await rpcError(work);
        expect(refused.code).toBe(-32601);
        expect(refused.data).toMatchObject({ reason: "not_federated" });
      }
    }
  });
});

describe("the unknown-method policy on the 2026 wire", () => {
  it("is HTTP 404 with -32601 and the reason on /mcp, and the backend's answer on a pass-through server", async () => {
    const request = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "acme/echo",
      params: {
        text: "raw",
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
        },
      },
    });
    const headers = { "mcp-method": "acme/echo" };
    const options = { token: adminToken, protocolVersion: "2026-07-28", headers };
    const refused = await mcpPost(`${gateway.url}/mcp`, request(1), options);
    expect(refused.status).toBe(404);
    expect(refused.json).toMatchObject({ id: 1, error: { code: -32601, data: { reason: "not_federated" } } });
    const passed = await mcpPost(`${gateway.url}/servers/sk-solo/mcp`, request(2), options);
    expect(passed.status).toBe(200);
    expect(passed.json).toMatchObject({ id: 2, result: { echoed: "raw", by: red.name, resultType: "complete" } });
    // Methods the 2026 revision removed are never passed through, even to a single backend.
    const removed = await mcpPost(
      `${gateway.url}/servers/sk-solo/mcp`,
      { ...request(3), method: "ping" },
      { ...options, headers: { "mcp-method": "ping" } },
    );
    expect(removed.status).toBe(404);
  });
});
