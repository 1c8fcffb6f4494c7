// Plugin conditions in detail: the schema, glob compilation, entity fields for prompts and resources, virtual servers.
import { describe, expect, it } from "vitest";
import { appliesTo, ConditionSchema, compileConditions, compileMatcher, matches } from "../../src/plugins/conditions";
import { TARGET } from "./plugin-helpers";

describe("condition schema", () => {
  it("needs at least one field", () => {
    expect(ConditionSchema.safeParse({}).success).toBe(false);
    expect(ConditionSchema.safeParse({ tools: ["x"] }).success).toBe(true);
  });
});

describe("pattern lists", () => {
  it("keeps plain names in a set and builds a pattern only for globs", () => {
    const plain = compileMatcher(["alpha", "beta"]);
    expect([...plain.exact]).toEqual(["alpha", "beta"]);
    expect(plain.glob).toBeNull();
    const mixed = compileMatcher(["alpha", "b*", "c?"]);
    expect([...mixed.exact]).toEqual(["alpha"]);
    expect(mixed.glob).not.toBeNull();
    // `*` is any run (newlines too), `?` exactly one character, and the glob must match the whole value.
    for (const [value, hit] of [
      ["b", true],
      ["b\nz", true],
      ["ab", false],
      ["cx", true],
      ["c", false],
      ["cxy", false],
    ] as const) {
      expect(matches(mixed, value), value).toBe(hit);
    }
  });

  it("treats wildcards next to each other as wildcards each", () => {
    expect(matches(compileMatcher(["a**"]), "abc")).toBe(true);
    expect(matches(compileMatcher(["??"]), "ab")).toBe(true);
    expect(matches(compileMatcher(["*?"]), "x")).toBe(true);
  });

  it("matches characters special in regular expressions literally inside globs", () => {
    const m = compileMatcher(["a.b+*", "x(y)?"]);
    expect(matches(m, "a.b+anything")).toBe(true);
    expect(matches(m, "aXb+anything")).toBe(false);
    expect(matches(m, "aab+")).toBe(false);
    expect(matches(m, "x(y)1")).toBe(true);
    expect(matches(m, "xy1")).toBe(false);
  });
});

describe("conditions on entities and servers", () => {
  it("prompts and resources fields restrict to that entity, by public or original name", () => {
    const prompts = compileConditions([{ prompts: ["alpha__greet"] }]);
    const prompt = { ...TARGET, entity: "prompt" as const, name: "alpha__greet", original: "greet" };
    expect(appliesTo(prompts, prompt)).toBe(true);
    expect(appliesTo(prompts, { ...prompt, name: "alpha__other", original: "other" })).toBe(false);
    expect(appliesTo(prompts, { ...TARGET, name: "alpha__greet" })).toBe(false);

    const resources = compileConditions([{ resources: ["mem://alpha/*"] }]);
    const resource = {
      ...TARGET,
      entity: "resource" as const,
      name: "mcpgw://alpha/mem://alpha/readme",
      original: "mem://alpha/readme",
    };
    expect(appliesTo(resources, resource)).toBe(true);
    expect(appliesTo(resources, { ...resource, entity: "prompt" as const })).toBe(false);
    expect(appliesTo(resources, { ...resource, original: "file:///etc/passwd", name: "x" })).toBe(false);
  });

  it("server_ids match the virtual server only when there is one", () => {
    const c = compileConditions([{ server_ids: ["dev-tools"] }]);
    expect(appliesTo(c, { ...TARGET, server: "other" })).toBe(false);
    expect(appliesTo(c, { ...TARGET, server: "dev-tools" })).toBe(true);
    expect(appliesTo(c, { ...TARGET, backend: "dev-tools" })).toBe(true);
    // No virtual server (the /mcp aggregate) is not a server named like "null".
    expect(appliesTo(compileConditions([{ server_ids: ["nul?"] }]), TARGET)).toBe(false);
  });

  it("teams and roles match when any of the caller's teams or roles does, and never a caller without them", () => {
    const teams = compileConditions([{ teams: ["eng"] }]);
    expect(appliesTo(teams, { ...TARGET, teams: ["ops", "eng"] })).toBe(true);
    expect(appliesTo(teams, { ...TARGET, teams: ["ops"] })).toBe(false);
    expect(appliesTo(teams, TARGET)).toBe(false);
    expect(appliesTo(compileConditions([{ teams: ["*"] }]), TARGET)).toBe(false);
    const roles = compileConditions([{ roles: ["team_admin"] }]);
    expect(appliesTo(roles, { ...TARGET, roles: ["viewer", "team_admin"] })).toBe(true);
    expect(appliesTo(roles, { ...TARGET, roles: ["viewer"] })).toBe(false);
    expect(appliesTo(roles, TARGET)).toBe(false);
    expect(appliesTo(compileConditions([{ roles: ["*"] }]), TARGET)).toBe(false);
  });
});
