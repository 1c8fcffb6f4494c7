// The hook executor in detail: stopping a band, reporting by name, URI hooks, failure texts and logs, timers, post answers.
import { afterEach, describe, expect, it, vi } from "vitest";
import { runHook } from "../../src/plugins/executor";
import { HOOK_SPECS, type PluginResult } from "../../src/plugins/types";
import { chain, fakeContext, stored, TARGET, testKinds } from "./plugin-helpers";

const PRE = HOOK_SPECS.tool_pre_invoke;
const POST = HOOK_SPECS.tool_post_invoke;
const URI = HOOK_SPECS.resource_pre_fetch;
const RESOURCE = { ...TARGET, entity: "resource" as const, name: "mcpgw://alpha/mem://a", original: "mem://a" };

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const violation = (code: string, details?: Record<string, unknown>): PluginResult => ({
  violation: { code, description: `bad ${code}`, ...(details && { details }) },
});

describe("a band's modifiers", () => {
  it("stop after an enforce-mode violation or failure; permissive ones and ignored failures let the next run", async () => {
    const ran: string[] = [];
    const kinds = testKinds({
      deny: { modifies: true, run: () => violation("NO") },
      boom: {
        modifies: true,
        run: () => {
          throw new Error("x");
        },
      },
      note: {
        modifies: true,
        run: (v) => {
          ran.push("note");
          return { modified: { ...(v as object), noted: true } };
        },
      },
    });
    const cases = [
      { first: stored({ name: "a", kind: "deny" }), runs: false },
      { first: stored({ name: "a", kind: "deny", mode: "permissive" }), runs: true },
      { first: stored({ name: "a", kind: "boom" }), runs: false },
      { first: stored({ name: "a", kind: "boom", config: { on_error: "ignore" } }), runs: true },
    ];
    for (const { first, runs } of cases) {
      ran.length = 0;
      const c = chain([first, stored({ name: "b", kind: "note" })], kinds);
      const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
      expect(ran).toEqual(runs ? ["note"] : []);
      expect(run.blocked === undefined).toBe(runs);
    }
  });

  it("a modifier that returns nothing leaves the payload as it was", async () => {
    const kinds = testKinds({ quiet: { modifies: true, run: () => undefined }, sync: { run: () => undefined } });
    const c = chain([stored({ name: "q", kind: "quiet" }), stored({ name: "s", kind: "sync" })], kinds);
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, { a: 1 }, fakeContext());
    expect(run).toEqual({ value: { a: 1 }, recorded: [] });
  });

  it("refuses null as a modified payload", async () => {
    const kinds = testKinds({ nul: { modifies: true, run: () => ({ modified: null }) } });
    const run = await runHook(
      chain([stored({ name: "n", kind: "nul" })], kinds).select("tool_pre_invoke", TARGET),
      PRE,
      {
        a: 1,
      },
      fakeContext(),
    );
    expect(run.blocked?.code).toBe("PLUGIN_ERROR");
  });
});

describe("reporting", () => {
  it("reports the first problem by plugin name, whichever finished first or was an inspector", async () => {
    const kinds = testKinds({
      late: {
        run: async () => {
          await new Promise((r) => setTimeout(r, 30));
          return violation("LATE");
        },
      },
      early: { run: async () => violation("EARLY") },
      mod: { modifies: true, run: () => violation("MOD") },
      insp: { run: () => violation("INSP") },
    });
    const asyncBand = chain(
      [stored({ name: "a-late", kind: "late" }), stored({ name: "b-early", kind: "early" })],
      kinds,
    );
    const first = await runHook(asyncBand.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(first.blocked?.plugin).toBe("a-late");
    const mixed = chain([stored({ name: "zz", kind: "insp" }), stored({ name: "aa", kind: "mod" })], kinds);
    const second = await runHook(mixed.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(second.blocked?.plugin).toBe("aa");
  });

  it("an enforce-mode violation stops the request even when failures are ignored", async () => {
    const kinds = testKinds({ deny: { run: () => violation("NO") } });
    const c = chain([stored({ name: "d", kind: "deny", config: { on_error: "ignore" } })], kinds);
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(run.blocked).toMatchObject({ plugin: "d", kind: "violation", code: "NO" });
  });

  it("passes a violation's details on, and adds none when there are none", async () => {
    const kinds = testKinds({ with: { run: () => violation("W", { n: 1 }) }, without: { run: () => violation("O") } });
    const withDetails = await runHook(
      chain([stored({ name: "w", kind: "with" })], kinds).select("tool_pre_invoke", TARGET),
      PRE,
      {},
      fakeContext(),
    );
    expect(withDetails.blocked).toEqual({
      plugin: "w",
      kind: "violation",
      code: "W",
      description: "bad W",
      details: { n: 1 },
    });
    const without = await runHook(
      chain([stored({ name: "o", kind: "without" })], kinds).select("tool_pre_invoke", TARGET),
      PRE,
      {},
      fakeContext(),
    );
    expect(without.blocked && "details" in without.blocked).toBe(false);
  });

  it("describes a timeout with the plugin's limit", async () => {
    const kinds = testKinds({ hang: { run: () => new Promise<undefined>(() => undefined) } });
    const c = chain([stored({ name: "slow", kind: "hang", config: { timeout_ms: 20 } })], kinds);
    const run = await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(run.blocked?.description).toBe("Plugin 'slow' did not finish within 20 ms");
  });

  it("logs a failure on the server with the error's name and at most 200 characters of its message", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const kinds = testKinds({
      long: {
        run: () => {
          throw new TypeError("x".repeat(300));
        },
      },
      odd: {
        run: () => {
          throw "not an error";
        },
      },
      hang: { run: () => new Promise<undefined>(() => undefined) },
      wrong: { modifies: true, run: () => ({ modified: [] }) },
    });
    const c = chain(
      [
        stored({ name: "l", kind: "long", config: { on_error: "ignore" } }),
        stored({ name: "o", kind: "odd", config: { on_error: "ignore" } }),
        stored({ name: "h", kind: "hang", config: { on_error: "ignore", timeout_ms: 10 } }),
        stored({ name: "w", kind: "wrong", config: { on_error: "ignore" } }),
      ],
      kinds,
    );
    await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(log.mock.calls).toEqual(
      expect.arrayContaining([
        ["plugin failed", "l", `TypeError: ${"x".repeat(200)}`],
        ["plugin failed", "o", "unknown"],
        ["plugin failed", "h", "timeout"],
        ["plugin failed", "w", "Error: invalid arguments returned"],
      ]),
    );
  });

  it("leaves no timer behind once an async plugin answered", async () => {
    vi.useFakeTimers();
    const kinds = testKinds({ fast: { run: async () => undefined } });
    const c = chain([stored({ name: "f", kind: "fast", config: { timeout_ms: 60_000 } })], kinds);
    await runHook(c.select("tool_pre_invoke", TARGET), PRE, {}, fakeContext());
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("hooks", () => {
  it("a resource pre hook may only replace the URI with a non-empty string", async () => {
    for (const [modified, ok] of [
      ["mem://b", true],
      ["", false],
      [["mem://b"], false],
      [{ uri: "mem://b" }, false],
    ] as const) {
      const kinds = testKinds({ rewrite: { modifies: true, run: () => ({ modified }) } });
      const c = chain([stored({ name: "r", kind: "rewrite", hooks: ["resource_pre_fetch"] })], kinds);
      const run = await runHook(c.select("resource_pre_fetch", RESOURCE), URI, "mem://a", fakeContext());
      expect(run.blocked === undefined).toBe(ok);
      expect(run.value).toBe(ok ? modified : "mem://a");
    }
  });

  it("resumes the post chain strictly after the answering band, and never answers from a post hook", async () => {
    const ran: string[] = [];
    const kinds = testKinds({
      same: { run: () => void ran.push("same") },
      answer: { run: () => ({ respond: { content: [] } }) },
      after: { run: () => void ran.push("after") },
    });
    const c = chain(
      [
        stored({ name: "same", kind: "same", priority: 50, hooks: ["tool_post_invoke"] }),
        stored({ name: "answer", kind: "answer", priority: 60, hooks: ["tool_post_invoke"] }),
        stored({ name: "after", kind: "after", priority: 70, hooks: ["tool_post_invoke"] }),
      ],
      kinds,
    );
    const post = await runHook(c.select("tool_post_invoke", TARGET), POST, {}, fakeContext(), 50);
    expect(ran).toEqual(["after"]);
    expect(post.respond).toBeUndefined();
  });
});
