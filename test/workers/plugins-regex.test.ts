// Config-supplied patterns run in linear time: regex_replace rules (RE2 via re2js), deny_list terms, condition and tool_filter globs.
import { describe, expect, it } from "vitest";
import { appliesTo, compileConditions, compileMatcher, matches } from "../../src/plugins/conditions";
import { compileUserRegex } from "../../src/plugins/regex-safety";
import { api, errorOf, uniqueName } from "./helpers";
import { builtin, configIssues, fakeContext, runOnce, TARGET } from "./plugin-helpers";

const text = (t: string) => ({ content: [{ type: "text", text: t }] });
const firstText = (out: { modified?: unknown } | undefined) =>
  (out?.modified as ReturnType<typeof text> | undefined)?.content[0]?.text;

/** regex_replace with one rule, applied to `input` on a post hook; the resulting text (input if unchanged). */
async function replace(pattern: string, replacement: string, input: string, flags = ""): Promise<string> {
  const p = builtin("regex_replace", { rules: [{ pattern, replacement, flags }], max_input_chars: 1_000_000 });
  const out = await runOnce(p, "tool_post_invoke", text(input));
  return out === undefined ? input : (firstText(out) ?? "");
}

describe("regex_replace runs on a linear-time engine", () => {
  it("accepts (x|x)*y and finishes on 28 and 100000 x characters with the string unchanged", async () => {
    const p = builtin("regex_replace", { rules: [{ pattern: "(x|x)*y", replacement: "Z" }] });
    for (const n of [28, 100_000]) {
      expect(await runOnce(p, "tool_pre_invoke", { q: "x".repeat(n) })).toBeUndefined();
    }
    expect(firstText(await runOnce(p, "tool_post_invoke", text(`${"x".repeat(1000)}y!`)))).toBe("Z!");
  });

  it("accepts the nested quantifiers the old shape check refused, and they stay fast", async () => {
    for (const pattern of ["(a+)+$", "(a*)*b", "(\\w+\\s?)+$", "(x+x+)+y", "(a|b+){2,}"]) {
      expect(configIssues("regex_replace", { rules: [{ pattern, replacement: "" }] }), pattern).toEqual([]);
    }
    expect(await replace("(a+)+$", "Z", `${"a".repeat(100_000)}!`)).toBe(`${"a".repeat(100_000)}!`);
    expect(await replace("(\\w+\\s?)+$", "Z", `${"ab ".repeat(30_000)}!`)).toBe(`${"ab ".repeat(30_000)}!`);
  });

  it("refuses what RE2 cannot run, saying why", () => {
    const reason = (pattern: string) => {
      const verdict = compileUserRegex(pattern, "");
      return verdict.ok ? "" : verdict.reason;
    };
    expect(reason("(a)\\1")).toMatch(/backreference/);
    expect(reason("(?<n>a)\\k<n>")).toMatch(/backreference/);
    expect(reason("a(?=b)")).toMatch(/lookahead/);
    expect(reason("a(?!b)")).toMatch(/lookahead/);
    expect(reason("(?<=a)b")).toMatch(/lookbehind/);
    expect(reason("(?<!a)b")).toMatch(/lookbehind/);
    expect(reason("(unclosed")).toMatch(/missing closing \)/);
    expect(reason("a{1001}")).toMatch(/repeat/);
    expect(reason("[\\1]")).not.toBe("");
    // Escaped or in a class, the same characters are literals and fine.
    for (const ok of ["\\(?=x\\)", "[(?=]", "\\\\1", "[\\\\k<]"]) expect(reason(ok), ok).toBe("");
    expect(configIssues("regex_replace", { rules: [{ pattern: "a(?=b)", replacement: "" }] })).toEqual([
      "rules.0.pattern",
    ]);
  });

  it("keeps JavaScript's replacement syntax", async () => {
    expect(await replace("(\\d{3})-(\\d{4})", "$1-XXXX", "call 555-1234 or 555-9876")).toBe(
      "call 555-XXXX or 555-XXXX",
    );
    expect(await replace("(?<user>\\w+)@(?<host>\\w+)", "$<host>/$<user> [$&] $$", "a@b c@d")).toBe(
      "b/a [a@b] $ d/c [c@d] $",
    );
    expect(await replace("(a)|(b)", "[$1|$2]", "ab")).toBe("[a|][|b]");
    expect(await replace("x*", "-", "abc")).toBe("-a-b-c-");
    expect(await replace("\\u00e9", "e", "café")).toBe("cafe");
    expect(await replace("\\bcat\\b", "dog", "cat concat cat.")).toBe("dog concat dog.");
  });

  it("maps the flags i, m, s and u (and g is always on)", async () => {
    expect(await replace("secret", "***", "my secret Secret", "i")).toBe("my *** ***");
    expect(await replace("secret", "***", "my secret Secret")).toBe("my *** Secret");
    expect(await replace("^a", "X", "a\na\nb", "m")).toBe("X\nX\nb");
    expect(await replace("^a", "X", "a\na\nb")).toBe("X\na\nb");
    expect(await replace("a.b", "X", "a\nb", "s")).toBe("X");
    expect(await replace("a.b", "X", "a\nb")).toBe("a\nb");
    expect(await replace(".", "_", "a😀b", "u")).toBe("___");
    expect(await replace("\\p{Lu}", "_", "aBc", "u")).toBe("a_c");
  });

  it("is a 400 naming the rule through the API, with the reason", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: uniqueName("rx"),
        kind: "regex_replace",
        config: { rules: [{ pattern: "a(?=b)", replacement: "" }] },
      },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details).toEqual([
      { path: "config.rules.0.pattern", message: expect.stringMatching(/lookahead/) },
    ]);
  });
});

describe("deny_list terms", () => {
  it("still matches phrases across any whitespace, including Unicode spaces", async () => {
    const p = builtin("deny_list", { words: ["drop table"] });
    for (const q of ["DROP\u00a0TABLE users", "drop \t\n table", "drop\u2003table", "drop\u3000table"]) {
      expect((await runOnce(p, "tool_pre_invoke", { q }))?.violation?.code, JSON.stringify(q)).toBe("DENIED_CONTENT");
    }
    expect(await runOnce(p, "tool_pre_invoke", { q: "droptable" })).toBeUndefined();
  });

  it("keeps word boundaries for letters, digits and _ in any script", async () => {
    const p = builtin("deny_list", { words: ["nuke", "café"] });
    for (const q of ["nuke", "(nuke)", "go nuke it", "CAFÉ au lait", "un café"]) {
      expect((await runOnce(p, "tool_pre_invoke", { q }))?.violation, q).toBeTruthy();
    }
    for (const q of ["nukes", "_nuke", "nuke2", "énuke", "cafés"]) {
      expect(await runOnce(p, "tool_pre_invoke", { q }), q).toBeUndefined();
    }
  });

  it("finishes on terms with long shared prefixes against a long adversarial string", async () => {
    const stem = "a".repeat(199);
    const words = Array.from({ length: 1000 }, (_, i) => `${stem}${String.fromCharCode(0x4e00 + i)}`);
    for (const match of ["word", "substring"] as const) {
      const p = builtin("deny_list", { words, match });
      expect(await runOnce(p, "tool_pre_invoke", { q: "a".repeat(100_000) })).toBeUndefined();
      expect((await runOnce(p, "tool_pre_invoke", { q: ` ${words[999]} ` }))?.violation).toBeTruthy();
    }
  });
});

describe("globs in conditions and tool_filter", () => {
  const adversarial = "a".repeat(2_000);

  it("a glob like *a*a*a*a*a*b finishes on a long name", () => {
    const m = compileMatcher(["*a*a*a*a*a*b"]);
    expect(matches(m, adversarial)).toBe(false);
    expect(matches(m, `${adversarial}b`)).toBe(true);
    const c = compileConditions([{ tools: ["*a*a*a*a*a*b"] }, { resources: ["*a*a*a*a*a*a*a*b"] }]);
    expect(appliesTo(c, { ...TARGET, name: adversarial, original: adversarial })).toBe(false);
    expect(appliesTo(c, { ...TARGET, entity: "resource", name: adversarial, original: `${adversarial}b` })).toBe(true);
  });

  it("? is one character, also outside the Basic Multilingual Plane", () => {
    expect(matches(compileMatcher(["x?z"]), "x😀z")).toBe(true);
    expect(matches(compileMatcher(["x?z"]), "x😀😀z")).toBe(false);
    expect(matches(compileMatcher(["a*"]), "a\nb")).toBe(true);
    expect(matches(compileMatcher(["[a-z]*", "a.b", "(a+)+$", "a\\b"]), "[a-z]xyz")).toBe(true);
    expect(matches(compileMatcher(["a.b"]), "aXb")).toBe(false);
    expect(matches(compileMatcher(["a\\b"]), "a\\b")).toBe(true);
  });

  it("tool_filter with an adversarial glob finishes", async () => {
    const p = builtin("tool_filter", { deny: ["*a*a*a*a*a*a*a*b"] });
    const long = fakeContext({ name: adversarial, original: adversarial });
    expect(await runOnce(p, "tool_pre_invoke", {}, long)).toBeUndefined();
    const denied = fakeContext({ name: `${adversarial}b`, original: "x" });
    expect((await runOnce(p, "tool_pre_invoke", {}, denied))?.violation?.code).toBe("TOOL_NOT_ALLOWED");
  });
});
