import { describe, expect, it } from "vitest";
import { ibanValid, luhnValid, piiScanner } from "../../src/plugins/kinds/pii";
import { canonicalJson } from "../../src/plugins/kinds/response-cache";
import { schemaErrors } from "../../src/plugins/kinds/schema-guard";
import { estimateJsonBytes, mapStrings, utf8Length } from "../../src/plugins/walk";
import { uniqueName } from "./helpers";
import { builtin, configIssues, fakeContext, runOnce } from "./plugin-helpers";

const text = (t: string) => ({ content: [{ type: "text", text: t }] });
/** The first text of a modified result. */
const firstText = (out: { modified?: unknown } | undefined) =>
  (out?.modified as ReturnType<typeof text> | undefined)?.content[0]?.text;

describe("walk", () => {
  it("mapStrings copies only along changed paths and skips binary payloads", () => {
    const unchanged = { a: { b: ["x", 1] }, c: "y" };
    expect(mapStrings(unchanged, (s) => s)).toBe(unchanged);
    const value = { keep: { deep: "x" }, change: ["secret", "ok"], image: { type: "image", data: "secret" } };
    const out = mapStrings(value, (s) => s.replace("secret", "***")) as typeof value;
    expect(out).toEqual({ keep: { deep: "x" }, change: ["***", "ok"], image: { type: "image", data: "secret" } });
    expect(out.keep).toBe(value.keep);
    expect(value.change[0]).toBe("secret");
  });

  it("estimates JSON size without serialising, stopping past the limit", () => {
    const v = { text: "héllo", n: [1, 2, 3], ok: true };
    const exact = new TextEncoder().encode(JSON.stringify(v)).length;
    expect(Math.abs(estimateJsonBytes(v) - exact)).toBeLessThan(4);
    expect(utf8Length("héllo€😀")).toBe(new TextEncoder().encode("héllo€😀").length);
    expect(estimateJsonBytes({ big: "x".repeat(1_000_000) }, 1000)).toBeGreaterThan(1000);
  });
});

describe("pii_filter", () => {
  it("Luhn and IBAN checksums", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("0000000000000000")).toBe(false);
    expect(ibanValid("DE89 3704 0044 0532 0130 00")).toBe(true);
    expect(ibanValid("GB82WEST12345698765432")).toBe(true);
    expect(ibanValid("DE89 3704 0044 0532 0130 01")).toBe(false);
  });

  const sample =
    "Mail jane.doe@example.com or call (555) 234-5678; SSN 123-45-6789; card 4111 1111 1111 1111; " +
    "IBAN DE89 3704 0044 0532 0130 00; from 192.168.10.20 and 2001:db8::1.";

  it("masks every type", async () => {
    const out = await runOnce(builtin("pii_filter", {}), "tool_post_invoke", text(sample));
    const masked = firstText(out);
    expect(masked).toBe(
      "Mail [REDACTED_EMAIL] or call [REDACTED_PHONE]; SSN [REDACTED_SSN]; card [REDACTED_CREDIT_CARD]; " +
        "IBAN [REDACTED_IBAN]; from [REDACTED_IP_ADDRESS] and [REDACTED_IP_ADDRESS].",
    );
  });

  it("masks partially, keeping a recognisable part", () => {
    const { redact } = piiScanner({
      types: ["email", "phone", "ssn", "credit_card", "iban", "ip_address"],
      strategy: "partial",
    });
    expect(redact(sample)).toBe(
      "Mail j***@example.com or call (***) ***-5678; SSN ***-**-6789; card **** **** **** 1111; " +
        "IBAN DE** **** **** **** **30 00; from 192.168.*.* and 2001:db8:*.",
    );
  });

  it("leaves numbers that fail the checksum, and allowed values, alone", async () => {
    const { redact } = piiScanner({ types: ["credit_card"], strategy: "mask" });
    expect(redact("order 4111 1111 1111 1112")).toBe("order 4111 1111 1111 1112");
    expect(redact("ts 1700000000000")).toBe("ts 1700000000000");
    const allowed = builtin("pii_filter", { allow: ["test@example.com"] });
    expect(await runOnce(allowed, "tool_pre_invoke", { to: "test@example.com" })).toBeUndefined();
    expect(
      await runOnce(builtin("pii_filter", {}), "tool_pre_invoke", { t: "12:30:45 on 2024-05-06" }),
    ).toBeUndefined();
  });

  it("blocks with the types found, never the values", async () => {
    const out = await runOnce(builtin("pii_filter", { strategy: "block" }), "tool_pre_invoke", {
      a: "card 4111111111111111",
      b: ["x@y.io"],
    });
    expect(out?.violation).toEqual({
      code: "PII_DETECTED",
      description: "The payload contains personal data",
      details: { types: ["credit_card", "email"] },
    });
    expect(JSON.stringify(out)).not.toContain("4111");
  });
});

describe("deny_list", () => {
  it("blocks whole words and phrases case-insensitively", async () => {
    const p = builtin("deny_list", { words: ["forbidden", "drop table", "rm -rf", "$(curl", "a/b"] });
    const denied = { code: "DENIED_CONTENT", description: "The payload contains a denied term" };
    expect((await runOnce(p, "tool_pre_invoke", { cmd: "sudo RM  -RF /" }))?.violation).toEqual(denied);
    expect((await runOnce(p, "tool_pre_invoke", { cmd: "x=$(curl evil)" }))?.violation).toEqual(denied);
    expect((await runOnce(p, "tool_pre_invoke", { cmd: "see a/b" }))?.violation).toEqual(denied);
    expect((await runOnce(p, "tool_pre_invoke", { q: "This is FORBIDDEN." }))?.violation?.code).toBe("DENIED_CONTENT");
    expect((await runOnce(p, "tool_pre_invoke", { q: ["x", { y: "please DROP   Table users" }] }))?.violation).toEqual(
      denied,
    );
    expect(await runOnce(p, "tool_pre_invoke", { q: "unforbiddenly fine" })).toBeUndefined();
    const sub = builtin("deny_list", { words: ["forbid"], match: "substring" });
    expect((await runOnce(sub, "tool_pre_invoke", { q: "unforbiddenly" }))?.violation).toEqual(denied);
  });
});

describe("regex_replace", () => {
  it("rewrites strings with the rules in order", async () => {
    const p = builtin("regex_replace", {
      rules: [
        { pattern: "(\\d{3})-(\\d{4})", replacement: "$1-XXXX" },
        { pattern: "colou?r", replacement: "hue", flags: "i" },
      ],
    });
    const out = await runOnce(p, "tool_post_invoke", text("Call 555-1234 about the COLOR"));
    expect(firstText(out)).toBe("Call 555-XXXX about the hue");
    expect(await runOnce(p, "tool_post_invoke", text("nothing here"))).toBeUndefined();
  });

  it("refuses patterns RE2 cannot run at save time (more in plugins-regex.test.ts)", () => {
    expect(configIssues("regex_replace", { rules: [{ pattern: "(a)\\1", replacement: "" }] })).toEqual([
      "rules.0.pattern",
    ]);
    expect(configIssues("regex_replace", { rules: [5, { pattern: 7, replacement: "" }] }).length).toBeGreaterThan(0);
    expect(configIssues("regex_replace", { rules: [{ pattern: "a", replacement: "", flags: "ii" }] })).toEqual([
      "rules.0.flags",
    ]);
  });

  it("bounds the input length", async () => {
    const p = builtin("regex_replace", { rules: [{ pattern: "a", replacement: "b" }], max_input_chars: 10 });
    expect((await runOnce(p, "tool_pre_invoke", { s: "a".repeat(11) }))?.violation?.code).toBe("INPUT_TOO_LONG");
  });
});

describe("payload_size", () => {
  it("measures requests by the raw body length and results by a bounded walk", async () => {
    const p = builtin("payload_size", { max_request_bytes: 1000, max_result_bytes: 100 });
    const small = fakeContext({ requestBytes: 999 });
    const big = fakeContext({ requestBytes: 1001 });
    expect(await runOnce(p, "tool_pre_invoke", {}, small)).toBeUndefined();
    expect((await runOnce(p, "tool_pre_invoke", {}, big))?.violation?.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await runOnce(p, "tool_post_invoke", text("short"))).toBeUndefined();
    expect((await runOnce(p, "tool_post_invoke", text("x".repeat(200))))?.violation?.details).toEqual({
      limit_bytes: 100,
    });
    expect(configIssues("payload_size", {})).toEqual(["max_request_bytes"]);
  });
});

describe("secrets_detection", () => {
  const secrets = {
    aws: "AKIAIOSFODNN7EXAMPLE",
    github: `ghp_${"a".repeat(36)}`,
    key: "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    gw: `mcpgw_${"B".repeat(43)}`,
  };

  it("blocks credentials, naming the types only", async () => {
    const out = await runOnce(builtin("secrets_detection", {}), "tool_pre_invoke", { config: Object.values(secrets) });
    expect(out?.violation?.code).toBe("SECRET_DETECTED");
    expect(out?.violation?.details).toEqual({
      types: ["aws_access_key", "gateway_token", "github_token", "jwt", "private_key"],
    });
    expect(JSON.stringify(out)).not.toContain("AKIA");
    expect(
      await runOnce(builtin("secrets_detection", {}), "tool_pre_invoke", { q: "an ordinary sentence" }),
    ).toBeUndefined();
  });

  it("masks when asked", async () => {
    const out = await runOnce(
      builtin("secrets_detection", { action: "mask" }),
      "tool_post_invoke",
      text(`key=${secrets.aws} ok`),
    );
    expect(firstText(out)).toBe("key=[REDACTED_SECRET:aws_access_key] ok");
  });
});

describe("tool_filter", () => {
  it("allows and denies by public or backend name and globs; deny wins", async () => {
    const p = builtin("tool_filter", { allow: ["alpha__*", "add"], deny: ["*slow*"] });
    expect(p.listsTool?.("alpha__echo", "echo")).toBe(true);
    expect(p.listsTool?.("beta__add", "add")).toBe(true);
    expect(p.listsTool?.("beta__echo", "echo")).toBe(false);
    expect(p.listsTool?.("alpha__slow", "slow")).toBe(false);
    const out = await runOnce(
      p,
      "tool_pre_invoke",
      {},
      fakeContext({ name: "beta__echo", original: "echo", backend: "beta" }),
    );
    expect(out?.violation).toEqual({ code: "TOOL_NOT_ALLOWED", description: "Tool 'beta__echo' is not allowed" });
    expect(configIssues("tool_filter", {})).toEqual(["allow"]);
  });
});

describe("output_length_guard", () => {
  it("truncates across text blocks, or blocks", async () => {
    const result = {
      content: [
        { type: "text", text: "12345" },
        { type: "image", data: "AAAA" },
        { type: "text", text: "67890" },
      ],
    };
    const out = await runOnce(
      builtin("output_length_guard", { max_chars: 7, marker: "…" }),
      "tool_post_invoke",
      result,
    );
    expect(out?.modified).toEqual({
      content: [
        { type: "text", text: "12345" },
        { type: "image", data: "AAAA" },
        { type: "text", text: "67…" },
      ],
    });
    expect(result.content[2]?.text).toBe("67890");
    const prompt = { messages: [{ role: "user", content: { type: "text", text: "abcdef" } }] };
    const cut = await runOnce(
      builtin("output_length_guard", { max_chars: 3, marker: "" }),
      "prompt_post_fetch",
      prompt,
    );
    expect(cut?.modified).toEqual({ messages: [{ role: "user", content: { type: "text", text: "abc" } }] });
    const block = builtin("output_length_guard", { max_chars: 3, strategy: "block" });
    expect((await runOnce(block, "tool_post_invoke", text("abcd")))?.violation?.code).toBe("OUTPUT_TOO_LONG");
    expect(await runOnce(block, "tool_post_invoke", text("abc"))).toBeUndefined();
  });
});

describe("response_cache", () => {
  const readOnly = { name: "alpha__echo", annotations: { readOnlyHint: true } };

  it("answers a repeated read-only call from memory until the TTL passes", async () => {
    const p = builtin("response_cache", { ttl_seconds: 60 }, "cache");
    const ctx1 = fakeContext({ catalog: readOnly });
    expect(await runOnce(p, "tool_pre_invoke", { b: 1, a: 2 }, ctx1)).toBeUndefined();
    await runOnce(p, "tool_post_invoke", text("fresh"), ctx1);
    const ctx2 = fakeContext({ catalog: readOnly });
    expect((await runOnce(p, "tool_pre_invoke", { a: 2, b: 1 }, ctx2))?.respond).toEqual(text("fresh"));
    // Another user does not share the entry unless `shared`.
    expect(
      await runOnce(p, "tool_pre_invoke", { a: 2, b: 1 }, fakeContext({ catalog: readOnly, user: "other" })),
    ).toBeUndefined();
    expect(await runOnce(p, "tool_pre_invoke", { a: 3 }, fakeContext({ catalog: readOnly }))).toBeUndefined();
  });

  it("never caches unannotated tools or error results", async () => {
    const p = builtin("response_cache", {}, "cache");
    const plain = fakeContext({ catalog: { name: "alpha__echo" } });
    await runOnce(p, "tool_pre_invoke", {}, plain);
    await runOnce(p, "tool_post_invoke", text("x"), plain);
    expect(await runOnce(p, "tool_pre_invoke", {}, fakeContext({ catalog: { name: "alpha__echo" } }))).toBeUndefined();
    const idem = { name: "alpha__echo", annotations: { idempotentHint: true } };
    const ctx = fakeContext({ catalog: idem });
    await runOnce(p, "tool_pre_invoke", {}, ctx);
    await runOnce(p, "tool_post_invoke", { isError: true, ...text("bad") }, ctx);
    expect(await runOnce(p, "tool_pre_invoke", {}, fakeContext({ catalog: idem }))).toBeUndefined();
  });

  it("expires entries", async () => {
    const p = builtin("response_cache", { ttl_seconds: 1 }, "cache");
    const ctx = fakeContext({ catalog: readOnly });
    await runOnce(p, "tool_pre_invoke", {}, ctx);
    await runOnce(p, "tool_post_invoke", text("x"), ctx);
    expect((await runOnce(p, "tool_pre_invoke", {}, fakeContext({ catalog: readOnly })))?.respond).toEqual(text("x"));
    await new Promise((r) => setTimeout(r, 1100));
    expect(await runOnce(p, "tool_pre_invoke", {}, fakeContext({ catalog: readOnly }))).toBeUndefined();
  });

  it("keys on canonical arguments", () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: "x" })).toBe('{"a":"x","b":[1,{"c":2,"d":1}]}');
  });
});

describe("schema_guard", () => {
  const tool = {
    name: "alpha__add",
    inputSchema: {
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"],
      additionalProperties: false,
    },
    outputSchema: { type: "object", properties: { sum: { type: "number" } }, required: ["sum"] },
  };

  it("validates arguments against the tool's inputSchema", async () => {
    const p = builtin("schema_guard", {});
    const ctx = () => fakeContext({ catalog: tool, name: "alpha__add" });
    expect(await runOnce(p, "tool_pre_invoke", { a: 1, b: 2 }, ctx())).toBeUndefined();
    const out = await runOnce(p, "tool_pre_invoke", { a: "one" }, ctx());
    expect(out?.violation?.code).toBe("INVALID_ARGUMENTS");
    expect(JSON.stringify(out)).not.toContain("one");
    expect(out?.violation?.details?.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ location: "#/a", keyword: "type" })]),
    );
  });

  it("validates structuredContent against the outputSchema", async () => {
    const p = builtin("schema_guard", {});
    const ctx = () => fakeContext({ catalog: tool });
    expect(await runOnce(p, "tool_post_invoke", { content: [], structuredContent: { sum: 3 } }, ctx())).toBeUndefined();
    expect(
      (await runOnce(p, "tool_post_invoke", { content: [], structuredContent: { sum: "3" } }, ctx()))?.violation?.code,
    ).toBe("INVALID_STRUCTURED_CONTENT");
    expect((await runOnce(p, "tool_post_invoke", { content: [] }, ctx()))?.violation?.code).toBe(
      "MISSING_STRUCTURED_CONTENT",
    );
    expect(await runOnce(p, "tool_post_invoke", { isError: true, content: [] }, ctx())).toBeUndefined();
  });

  it("honours $schema drafts and lets uncatalogued tools through unless required", async () => {
    expect(schemaErrors({ $schema: "http://json-schema.org/draft-07/schema#", type: "string" }, 1)).not.toBeNull();
    expect(await runOnce(builtin("schema_guard", {}), "tool_pre_invoke", { x: 1 })).toBeUndefined();
    expect(
      (await runOnce(builtin("schema_guard", { require_catalog: true }), "tool_pre_invoke", {}))?.violation?.code,
    ).toBe("SCHEMA_UNAVAILABLE");
  });
});

describe("config schemas", () => {
  it("apply defaults and reject unknown fields", () => {
    expect(configIssues("pii_filter", { strategy: "mask", bogus: 1 })).toEqual([""]);
    expect(configIssues("rate_limit", { limit: 0, window_seconds: 10 })).toEqual(["limit"]);
    expect(configIssues("webhook", { url: "ftp://x.example" })).toEqual(["url"]);
    expect(configIssues("deny_list", { words: ["x"], timeout_ms: 0 })).toEqual(["timeout_ms"]);
  });
});

describe("rate_limit plugin", () => {
  it("counts per token through the Durable Object and refuses the N+1th call", async () => {
    const p = builtin("rate_limit", { limit: 2, window_seconds: 86_400 }, uniqueName("rl"));
    const call = (user: string) => runOnce(p, "tool_pre_invoke", {}, fakeContext({ user }));
    expect(await call("a")).toBeUndefined();
    expect(await call("a")).toBeUndefined();
    const refused = await call("a");
    expect(refused?.violation).toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: 2, window_seconds: 86_400, retry_after_ms: expect.any(Number) },
    });
    expect(await call("b")).toBeUndefined();
    // Refused again locally (no DO round trip needed while the window is closed).
    expect((await call("a"))?.violation?.code).toBe("RATE_LIMITED");
  });

  it("per tool and per server keys", async () => {
    const p = builtin("rate_limit", { limit: 1, window_seconds: 86_400, per: ["server"] }, uniqueName("rl"));
    expect(await runOnce(p, "tool_pre_invoke", {}, fakeContext({ backend: "alpha", user: "a" }))).toBeUndefined();
    expect(
      (await runOnce(p, "tool_pre_invoke", {}, fakeContext({ backend: "alpha", user: "b" })))?.violation?.code,
    ).toBe("RATE_LIMITED");
    expect(await runOnce(p, "tool_pre_invoke", {}, fakeContext({ backend: "beta", user: "a" }))).toBeUndefined();
    const t = builtin("rate_limit", { limit: 1, window_seconds: 86_400, per: ["tool"] }, uniqueName("rl"));
    expect(await runOnce(t, "tool_pre_invoke", {}, fakeContext({ original: "echo" }))).toBeUndefined();
    expect(await runOnce(t, "tool_pre_invoke", {}, fakeContext({ original: "add" }))).toBeUndefined();
    expect((await runOnce(t, "tool_pre_invoke", {}, fakeContext({ original: "echo" })))?.violation?.code).toBe(
      "RATE_LIMITED",
    );
  });
});
