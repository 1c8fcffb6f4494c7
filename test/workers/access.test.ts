// Authorization over owned objects (auth/access.ts, edge/caller-access.ts): who may see, use, edit and create, per role and visibility.
import { describe, expect, it } from "vitest";
import { accessKey, canCreateIn, canEdit, canSee, canUse, defaultTeam, hasRole } from "../../src/auth/access";
import { ADMIN_PRINCIPAL, type Principal, type TeamRole } from "../../src/auth/principal";
import type { BackendConfig, Owned, ServerConfig } from "../../src/config/snapshot";
import type { Endpoint } from "../../src/core/federation";
import { callerEndpoint } from "../../src/edge/caller-access";

function caller(teams: Record<string, TeamRole>, subject = "tok_1"): Principal {
  return {
    kind: "token",
    subject,
    name: subject,
    tokenId: subject,
    scopes: ["mcp", "admin"],
    servers: null,
    platformAdmin: false,
    teams: new Map(Object.entries(teams)),
  };
}

const viewer = caller({ eng: "viewer" }, "tok_v");
const developer = caller({ eng: "developer" });
const teamAdmin = caller({ eng: "team_admin" });
const outsider = caller({ ops: "team_admin" });
const platformOnly = { ...caller({}, "root"), platformAdmin: true };

const teamObject: Owned = { team: "eng", owner: "tok_9", visibility: "team" };
const privateObject: Owned = { team: "eng", owner: "tok_1", visibility: "private" };
const publicObject: Owned = { team: "eng", owner: "tok_9", visibility: "public" };
const platformObject: Owned = { team: null, owner: null };

describe("hasRole", () => {
  it("ranks roles within a team and never matches a missing team", () => {
    expect(hasRole(teamAdmin, "eng", "team_admin")).toBe(true);
    expect(hasRole(teamAdmin, "eng", "viewer")).toBe(true);
    expect(hasRole(developer, "eng", "developer")).toBe(true);
    expect(hasRole(developer, "eng", "team_admin")).toBe(false);
    expect(hasRole(viewer, "eng", "developer")).toBe(false);
    expect(hasRole(teamAdmin, "ops", "viewer")).toBe(false);
    expect(hasRole(teamAdmin, null, "viewer")).toBe(false);
    expect(hasRole(teamAdmin, undefined, "viewer")).toBe(false);
    expect(hasRole(caller({ "": "team_admin" }), "", "viewer")).toBe(false);
  });
});

describe("canSee and canUse", () => {
  it.each([
    // who, object, may see, may use
    ["viewer", viewer, teamObject, true, false],
    ["developer", developer, teamObject, true, true],
    ["team admin", teamAdmin, teamObject, true, true],
    ["outsider", outsider, teamObject, false, false],
    ["owner", caller({}, "tok_1"), privateObject, true, true],
    ["team admin, not owner", caller({ eng: "team_admin" }, "tok_2"), privateObject, false, false],
    ["outsider", outsider, publicObject, true, true],
    ["outsider (no visibility set: public)", outsider, { team: "eng" }, true, true],
    ["platform admin", platformOnly, privateObject, true, true],
    ["the operator", ADMIN_PRINCIPAL, privateObject, true, true],
  ] as const)("%s", (_, p, o, see, use) => {
    expect(canSee(p, o)).toBe(see);
    expect(canUse(p, o)).toBe(use);
  });
});

describe("canEdit and canCreateIn", () => {
  it("lets team admins edit and create in their team only, and platform admins everywhere", () => {
    expect(canEdit(teamAdmin, teamObject)).toBe(true);
    expect(canEdit(developer, teamObject)).toBe(false);
    expect(canEdit(outsider, teamObject)).toBe(false);
    expect(canEdit(teamAdmin, platformObject)).toBe(false);
    expect(canEdit(platformOnly, platformObject)).toBe(true);
    expect(canCreateIn(teamAdmin, "eng")).toBe(true);
    expect(canCreateIn(developer, "eng")).toBe(false);
    expect(canCreateIn(teamAdmin, "ops")).toBe(false);
    expect(canCreateIn(teamAdmin, null)).toBe(false);
    expect(canCreateIn(platformOnly, null)).toBe(true);
    expect(canCreateIn(platformOnly, "ops")).toBe(true);
  });
});

describe("defaultTeam", () => {
  it("is the one team a team admin administers, else none", () => {
    expect(defaultTeam(platformOnly)).toBeNull();
    expect(defaultTeam({ ...caller({ eng: "team_admin" }), platformAdmin: true })).toBeNull();
    expect(defaultTeam(caller({ eng: "team_admin", ops: "developer" }))).toBe("eng");
    expect(defaultTeam(caller({ eng: "team_admin", ops: "team_admin" }))).toBeNull();
    expect(defaultTeam(developer)).toBeNull();
  });
});

describe("accessKey", () => {
  it("is the same for the same access, whatever the order, and differs when access differs", () => {
    expect(accessKey(platformOnly)).toBe("*");
    const a = caller({ eng: "developer", ops: "viewer" });
    const b = caller({ ops: "viewer", eng: "developer" });
    expect(accessKey(a)).toBe(accessKey(b));
    expect(accessKey(a)).toBe("tok_1|eng=developer,ops=viewer");
    expect(accessKey(caller({ eng: "viewer", ops: "viewer" }))).not.toBe(accessKey(a));
    expect(accessKey(caller({ eng: "developer", ops: "viewer" }, "tok_2"))).not.toBe(accessKey(a));
  });
});

describe("callerEndpoint", () => {
  const backend = (name: string, o: Owned) => ({ name, ...o }) as BackendConfig;
  const endpoint = (server: Owned | null, backends: BackendConfig[]): Endpoint => ({
    key: server ? "s" : "*",
    server: server ? ({ name: "s", backends: null, ...server } as ServerConfig) : null,
    prefix: true,
    backends,
    tools: null,
    discovery: undefined as unknown as Endpoint["discovery"],
  });
  const mixed = [backend("pub", publicObject), backend("team", teamObject), backend("mine", privateObject)];

  it("gives platform admins and callers who may use every backend the endpoint itself", () => {
    const e = endpoint(null, mixed);
    expect(callerEndpoint(e, platformOnly)).toBe(e);
    const all = endpoint(null, [backend("pub", publicObject), backend("team", teamObject)]);
    expect(callerEndpoint(all, developer)).toBe(all);
  });

  it("keeps only the backends the caller may use, and names the others", () => {
    const view = callerEndpoint(endpoint(null, mixed), viewer);
    expect(view).toMatchObject({ access: "!team,mine" });
    expect(typeof view === "object" && view.backends.map((b) => b.name)).toEqual(["pub"]);
    const own = callerEndpoint(endpoint(null, mixed), caller({}, "tok_1"));
    expect(typeof own === "object" && own.backends.map((b) => b.name)).toEqual(["pub", "mine"]);
    expect(own).toMatchObject({ access: "!team" });
  });

  it("hides a server the caller may not see, and makes it read-only for one who may only see it", () => {
    expect(callerEndpoint(endpoint(teamObject, mixed), outsider)).toBe("hidden");
    expect(callerEndpoint(endpoint(teamObject, mixed), viewer)).toBe("read-only");
    expect(callerEndpoint(endpoint(teamObject, [backend("pub", publicObject)]), developer)).toMatchObject({
      key: "s",
    });
  });
});
