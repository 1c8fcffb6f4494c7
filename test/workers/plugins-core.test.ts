import { describe, expect, it } from "vitest";
import { filterBands, toBands } from "../../src/plugins/bands";
import { appliesTo, compileConditions, compileMatcher, matches } from "../../src/plugins/conditions";
import { runHook } from "../../src/plugins/executor";
import { HOOK_SPECS } from "../../src/plugins/types";
import { chain, fakeContext, stored, TARGET, testKinds } from "./plugin-helpers";

const PRE = HOOK_SPECS.tool_pre_invoke;
const POST = HOOK_SPECS.tool_post_invoke;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("bands", () => {
  it("orders by priority, groups equal priorities, and sorts each band by name", () => {
    const plugins = [
      { name: "zeta", priority: 10, m: false },
      { name: "alpha", priority: 20, m: true },
      { name: "beta", priority: 10, m: true },
      { name: "Alpha", priority: 10, m: false },
      { name: "gamma", priority: 5, m: true },
      { name: "delta", priority: 10, m: true },
    ];
    const bands = toBands(plugins, (p) => p.m);
    expect(bands.map((b) => b.priority)).toEqual([5, 10, 20]);
    expect(bands[1]?.inspectors.map((p) => p.name)).toEqual(["Alpha", "zeta"]);
    expect(bands[1]?.modifiers.map((p) => p.name)).toEqual(["beta", "delta"]);
    expect(filterBands(bands, (p) => p.name !== "gamma").map((b) => b.priority)).toEqual([10, 20]);
  });
});

describe("conditions", () => {
  it("matches exact names and globs, never as regular expressions", () => {
    const m = compileMatcher(["alpha__echo", "beta__*", "x?z", "a.b"]);
    expect(matches(m, "alpha__echo")).toBe(true);
    expect(matches(m, "beta__anything")).toBe(true);
    expect(matches(m, "xyz")).toBe(true);
    expect(matches(m, "xyyz")).toBe(false);
    expect(matches(m, "a.b")).toBe(true);
    expect(matches(m, "aXb")).toBe(false);
    expect(matches(compileMatcher(["(a+)+$"]), "aaaa")).toBe(false);
  });

  it("ANDs the fields of one object and ORs objects", () => {
    const c = compileConditions([{ server_ids: ["alpha"], user_patterns: ["ci-*"] }, { tools: ["beta__add"] }]);
    expect(appliesTo(c, { ...TARGET, user: "ci-bot" })).toBe(true);
    expect(appliesTo(c, { ...TARGET, user: "laptop" })).toBe(false);
    expect(appliesTo(c, { ...TARGET, backend: "beta", name: "beta__add", original: "add", user: "laptop" })).toBe(true);
    expect(appliesTo(c, { ...TARGET, backend: "beta", name: "beta__echo", original: "echo" })).toBe(false);
  });

  it("server_ids match the backend or the virtual server; entity fields restrict the entity", () => {
    const c = compileConditions([{ server_ids: ["dev-tools"] }]);
    expect(appliesTo(c, { ...TARGET, server: "dev-tools" })).toBe(true);
    expect(appliesTo(c, TARGET)).toBe(false);
    const tools = compileConditions([{ tools: ["echo"] }]);
    expect(appliesTo(tools, TARGET)).toBe(true); // the backend's own name matches too
    expect(appliesTo(tools, { ...TARGET, entity: "prompt" })).toBe(false);
    expect(appliesTo(compileConditions(null), TARGET)).toBe(true);
    expect(appliesTo(compileConditions([]), TARGET)).toBe(true);
  });

  it("the compiled chain selects only applicable plugins (memoized)", () => {
    const kinds = testKinds({ noop: { run: () => undefined } });
    const c = chain(
      [
        stored({ name: "always", kind: "noop" }),
        stored({ name: "ci-only", kind: "noop", conditions: [{ user_patterns: ["ci-*"] }] }),
        stored({ name: "off", kind: "noop", mode: "disabled" }),
      ],
      kinds,
    );
    const names = (user: string) =>
      c.select("tool_pre_invoke", { ...TARGET, user }).flatMap((b) => b.inspectors.map((p) => p.name));
    expect(names("laptop")).toEqual(["always"]);
    expect(names("ci-bot")).toEqual(["always", "ci-only"]);
    expect(c.select("tool_pre_invoke", { ...TARGET, user: "ci-bot" })).toBe(
      c.select("tool_pre_invoke", { ...TARGET, user: "ci-bot" }),
    );
    expect(c.select("tool_post_invoke", TARGET)).toEqual([]);
  });
});

describe("executor", () => {
  it("runs bands in priority order; modifiers in a band apply by name, each seeing the previous output", async () => {
    const log: string[] = [];
    const append = (tag: string) => (value: unknown) => {
      log.push(tag);
      const v = value as { trail: string };
      return { modified: { trail: `${v.trail}${tag}` } };
    };
    const kinds = testKinds({
      a: { modifies: true, run: append("a") },
      b: { modifies: true, run: append("b") },
      c: { modifies: true, run: append("c") },
    });
    const c = chain(
      [
        stored({ name: "m-b", kind: "b", priority: 10 }),
        stored({ name: "m-a", kind: "a", priority: 10 }),
        stored({ name: "m-c", kind: "c", priority: 5 }),
      ],
      kinds,
    );
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, { trail: "" }, fakeContext());
    expect(run.value).toEqual({ trail: "cab" });
    expect(run.blocked).toBeUndefined();
  });

  it("runs a band's inspectors concurrently on the band's input", async () => {
    let active = 0;
    let peak = 0;
    const seen: unknown[] = [];
    const slow = async (value: unknown) => {
      active++;
      peak = Math.max(peak, active);
      seen.push(value);
      await sleep(30);
      active--;
      return undefined;
    };
    const kinds = testKinds({
      slow: { run: slow },
      upper: { modifies: true, run: () => ({ modified: { v: "changed" } }) },
    });
    const c = chain(
      [
        stored({ name: "i1", kind: "slow" }),
        stored({ name: "i2", kind: "slow" }),
        stored({ name: "i3", kind: "slow" }),
        stored({ name: "mod", kind: "upper" }),
      ],
      kinds,
    );
    const input = { v: "original" };
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, input, fakeContext());
    expect(peak).toBe(3);
    expect(seen.every((v) => v === input)).toBe(true); // shared, never copied per plugin
    expect(run.value).toEqual({ v: "changed" });
    expect(input).toEqual({ v: "original" }); // copy on write
  });

  it("enforce stops at the first violating plugin by name; permissive records and continues", async () => {
    const violate = (code: string) => () => ({ violation: { code, description: `bad ${code}` } });
    const kinds = testKinds({ x: { run: violate("X") }, y: { run: violate("Y") } });
    const both = chain(
      [stored({ name: "zz", kind: "x" }), stored({ name: "aa", kind: "y" }), stored({ name: "mm", kind: "x" })],
      kinds,
    );
    const run = await runHook(both.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(run.blocked).toMatchObject({ plugin: "aa", kind: "violation", code: "Y", description: "bad Y" });

    const permissive = chain([stored({ name: "p", kind: "x", mode: "permissive" })], kinds);
    const ok = await runHook(permissive.select("tool_pre_invoke", TARGET), PRE, { a: 1 }, fakeContext());
    expect(ok.blocked).toBeUndefined();
    expect(ok.value).toEqual({ a: 1 });
    expect(ok.recorded).toEqual([{ plugin: "p", hook: "tool_pre_invoke", kind: "violation", code: "X" }]);
  });

  it("isolates a throwing plugin: on_error fail stops, ignore continues, no error text escapes", async () => {
    const kinds = testKinds({
      boom: {
        run: () => {
          throw new Error("secret stack detail");
        },
      },
      asyncBoom: { run: async () => Promise.reject(new Error("async secret")) },
      mark: { modifies: true, run: () => ({ modified: { marked: true } }) },
    });
    const fail = chain(
      [stored({ name: "b", kind: "boom" }), stored({ name: "m", kind: "mark", priority: 200 })],
      kinds,
    );
    const failed = await runHook(fail.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(failed.blocked).toEqual({
      plugin: "b",
      kind: "error",
      code: "PLUGIN_ERROR",
      description: "Plugin 'b' failed",
    });
    expect(JSON.stringify(failed)).not.toContain("secret");

    const ignore = chain(
      [
        stored({ name: "b", kind: "boom", config: { on_error: "ignore" } }),
        stored({ name: "b2", kind: "asyncBoom", config: { on_error: "ignore" } }),
        stored({ name: "m", kind: "mark", priority: 200 }),
      ],
      kinds,
    );
    const ignored = await runHook(ignore.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(ignored.blocked).toBeUndefined();
    expect(ignored.value).toEqual({ marked: true });
    expect(ignored.recorded.map((r) => [r.plugin, r.code])).toEqual([
      ["b", "PLUGIN_ERROR"],
      ["b2", "PLUGIN_ERROR"],
    ]);

    // Permissive mode never stops, even with on_error fail.
    const permissive = chain([stored({ name: "b", kind: "boom", mode: "permissive" })], kinds);
    expect(
      (await runHook(permissive.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext())).blocked,
    ).toBeUndefined();
  });

  it("a plugin past its timeout_ms has failed", async () => {
    const kinds = testKinds({
      hang: { run: () => new Promise<undefined>(() => undefined) },
    });
    const c = chain([stored({ name: "slow", kind: "hang", config: { timeout_ms: 20 } })], kinds);
    const started = Date.now();
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(run.blocked).toMatchObject({ plugin: "slow", kind: "error", code: "PLUGIN_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(1000);

    const ignore = chain(
      [stored({ name: "slow", kind: "hang", config: { timeout_ms: 20, on_error: "ignore" } })],
      kinds,
    );
    const ok = await runHook(ignore.select("tool_pre_invoke", TARGET), PRE, { a: 1 }, fakeContext());
    expect(ok.blocked).toBeUndefined();
    expect(ok.recorded[0]?.code).toBe("PLUGIN_TIMEOUT");
  });

  it("a modification of the wrong type is a plugin failure", async () => {
    const kinds = testKinds({ bad: { modifies: true, run: () => ({ modified: "not an object" }) } });
    const c = chain([stored({ name: "bad", kind: "bad" })], kinds);
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(run.blocked?.code).toBe("PLUGIN_ERROR");
  });

  it("a stored hook the kind does not implement is never run", () => {
    const c = chain(
      [
        stored({
          name: "tf",
          kind: "tool_filter",
          hooks: ["tool_pre_invoke", "prompt_pre_fetch"],
          config: { deny: ["*"] },
        }),
      ],
      testKinds({}),
    );
    expect(c.select("prompt_pre_fetch", { ...TARGET, entity: "prompt" })).toEqual([]);
    expect(c.select("tool_pre_invoke", TARGET)).toHaveLength(1);
  });

  it("unknown kinds and unreadable configs fail closed instead of vanishing", async () => {
    const kinds = testKinds({});
    const c = chain(
      [
        stored({ name: "ghost", kind: "no_such_kind" }),
        stored({ name: "pii", kind: "pii_filter", config: { strategy: "explode" } }),
      ],
      kinds,
    );
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(run.blocked).toMatchObject({ plugin: "ghost", kind: "error" });
  });

  it("a pre-hook answer stops the pre chain; the post chain resumes after that band", async () => {
    const kinds = testKinds({
      answer: { run: () => ({ respond: { content: [{ type: "text", text: "cached" }] } }) },
      tag: {
        modifies: true,
        run: (v) => ({ modified: { ...(v as object), tagged: ((v as { tagged?: number }).tagged ?? 0) + 1 } }),
      },
    });
    const c = chain(
      [
        stored({ name: "cache", kind: "answer", priority: 50, hooks: ["tool_pre_invoke"] }),
        stored({ name: "early", kind: "tag", priority: 10, hooks: ["tool_post_invoke"] }),
        stored({ name: "late", kind: "tag", priority: 90, hooks: ["tool_post_invoke", "tool_pre_invoke"] }),
      ],
      kinds,
    );
    const pre = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(pre.respond?.priority).toBe(50);
    expect(pre.value).toEqual({}); // `late` (priority 90) never ran on the pre side
    const post = await runHook(
      c.select("tool_post_invoke", TARGET),
      POST,
      pre.respond?.result,
      fakeContext(),
      pre.respond?.priority,
    );
    expect(post.value).toMatchObject({ tagged: 1 }); // only `late`
  });
});
