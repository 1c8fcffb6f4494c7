// Configuration as code carries ownership: teams with members, each object's team/owner/visibility and token roles; unknown teams and contradicting roles are 400s; only platform admins export or import.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { readVersion } from "../../src/config/db";
import { api, errorOf, uniqueName } from "./helpers";

type Entry = Record<string, unknown> & { name: string };
interface Doc {
  schemaVersion: number;
  backends: Entry[];
  servers: Entry[];
  plugins: Entry[];
  tokens: Entry[];
  teams?: Array<{ name: string; description?: string; members?: Array<{ subject: string; role: string }> }>;
}
interface Changes {
  created: string[];
  updated: Array<{ name: string; fields: string[] }>;
  deleted: string[];
  unchanged: number;
}
type Answer = { applied: boolean; changes: Record<string, Changes> };

const exportDoc = async () => (await api("GET", "/api/config/export")).body as Doc;
const importDoc = (doc: unknown, query = "", token?: string) =>
  api("POST", `/api/config/import${query}`, { body: doc, ...(token && { token }) });
const paths = (body: unknown) => errorOf(body).details?.map((d) => d.path);

const TEAM = uniqueName("own-t");
const BACKEND = uniqueName("own-b");
const SERVER = uniqueName("own-s");
const TOKEN = uniqueName("own-tok");
let teamAdmin = "";
let teamAdminId = "";

beforeAll(async () => {
  expect((await api("POST", "/api/teams", { body: { name: TEAM, description: "owners" } })).status).toBe(201);
  const created = await api("POST", "/api/tokens", {
    body: { name: TOKEN, scopes: ["mcp", "admin"], team: TEAM, role: "team_admin" },
  });
  expect(created.status).toBe(201);
  teamAdmin = (created.body as { token: string }).token;
  teamAdminId = (created.body as { id: string }).id;
  expect(
    (await api("PUT", `/api/teams/${TEAM}/members/oauth:corp:alice`, { body: { role: "developer" } })).status,
  ).toBe(200);
  const backend = await api("POST", "/api/backends", {
    body: { name: BACKEND, url: "https://93.184.215.14/own", visibility: "private" },
    token: teamAdmin,
  });
  expect(backend.status).toBe(201);
  const server = await api("POST", "/api/servers", { body: { name: SERVER, backends: [BACKEND] }, token: teamAdmin });
  expect(server.status).toBe(201);
});

describe("ownership in the configuration document", () => {
  it("exports teams with members, each object's team, owner and visibility, and token roles", async () => {
    const doc = await exportDoc();
    expect(doc.teams?.find((t) => t.name === TEAM)).toEqual({
      name: TEAM,
      description: "owners",
      members: [{ subject: "oauth:corp:alice", role: "developer" }],
    });
    expect(doc.backends.find((b) => b.name === BACKEND)).toMatchObject({
      team: TEAM,
      owner: teamAdminId,
      visibility: "private",
    });
    expect(doc.servers.find((s) => s.name === SERVER)).toMatchObject({ team: TEAM, visibility: "team" });
    expect(doc.tokens.find((t) => t.name === TOKEN)).toMatchObject({ team: TEAM, role: "team_admin" });
  });

  it("applies ownership changes from the document and shows them as field changes", async () => {
    const doc = await exportDoc();
    const backend = doc.backends.find((b) => b.name === BACKEND) as Entry;
    backend.visibility = "team";
    const team = doc.teams?.find((t) => t.name === TEAM);
    if (!team) throw new Error("team missing from the export");
    team.members = [{ subject: "oauth:corp:alice", role: "viewer" }];
    const res = await importDoc(doc);
    expect(res.status).toBe(200);
    const answer = res.body as Answer;
    expect(answer.applied).toBe(true);
    expect(answer.changes.backends?.updated).toEqual([{ name: BACKEND, fields: ["visibility"] }]);
    expect(answer.changes.teams?.updated).toEqual([{ name: TEAM, fields: ["members"] }]);
    expect((await api("GET", `/api/backends/${BACKEND}`)).body).toMatchObject({ team: TEAM, visibility: "team" });
    expect((await api("GET", `/api/teams/${TEAM}/members`)).body).toEqual([
      expect.objectContaining({ subject: "oauth:corp:alice", role: "viewer" }),
    ]);
  });

  it("refuses objects of unknown teams and token roles that contradict their team, writing nothing", async () => {
    const doc = await exportDoc();
    const before = await readVersion(env.DB);
    (doc.backends.find((b) => b.name === BACKEND) as Entry).team = "no-such-team";
    (doc.tokens.find((t) => t.name === TOKEN) as Entry).role = "platform_admin";
    const res = await importDoc(doc);
    expect(res.status).toBe(400);
    const b = doc.backends.findIndex((x) => x.name === BACKEND);
    const t = doc.tokens.findIndex((x) => x.name === TOKEN);
    expect(paths(res.body)).toEqual(expect.arrayContaining([`backends.${b}.team`, `tokens.${t}.role`]));
    expect(await readVersion(env.DB)).toBe(before);
  });

  it("replace mode deletes unlisted teams only when the document has a teams section", async () => {
    const doc = await exportDoc();
    const spare = uniqueName("own-spare");
    expect((await api("POST", "/api/teams", { body: { name: spare } })).status).toBe(201);
    const { teams: _omitted, ...version1 } = { ...doc, schemaVersion: 1 };
    const untouched = (await importDoc(version1, "?mode=replace&dryRun=true")).body as Answer;
    expect(untouched.changes.teams?.deleted).toEqual([]);
    const listed = (await importDoc(doc, "?mode=replace&dryRun=true")).body as Answer;
    expect(listed.changes.teams?.deleted).toContain(spare);
    expect(listed.changes.teams?.deleted).not.toContain(TEAM);
  });

  it("records an applied import in the audit log with its plan (names, no values); a dry run is not recorded", async () => {
    const doc = await exportDoc();
    const backend = doc.backends.find((b) => b.name === BACKEND) as Entry;
    backend.timeoutMs = 7000;
    backend.headers = { Authorization: "Bearer imported-s3cret" };
    const records = async () =>
      ((await api("GET", "/api/audit?objectType=config&limit=500")).body as { items: Array<Record<string, unknown>> })
        .items;
    const before = (await records()).length;
    expect((await importDoc(doc, "?dryRun=true")).status).toBe(200);
    expect((await records()).length).toBe(before);
    expect((await importDoc(doc)).status).toBe(200);
    const after = await records();
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ subject: "admin", method: "POST", route: "/api/config/import" });
    const changes = (after[0]?.diff as { changes: Record<string, Changes> } | undefined)?.changes ?? {};
    expect(changes.backends?.updated).toEqual([{ name: BACKEND, fields: ["timeoutMs", "headers"] }]);
    expect(JSON.stringify(after)).not.toContain("imported-s3cret");
  });

  it("is for platform admins only: a team admin gets 403 on export and import", async () => {
    expect((await api("GET", "/api/config/export", { token: teamAdmin })).status).toBe(403);
    const res = await importDoc(await exportDoc(), "?dryRun=true", teamAdmin);
    expect(res.status).toBe(403);
  });
});
