import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readVersion } from "../../src/config/db";
import { api, errorOf, uniqueName } from "./helpers";

const paths = (body: unknown) => errorOf(body).details?.map((d) => d.path);

describe("/api/plugins/kinds", () => {
  it("lists every built-in kind with its hooks and a JSON Schema of its config", async () => {
    const res = await api("GET", "/api/plugins/kinds");
    expect(res.status).toBe(200);
    const kinds = res.body as Array<{ kind: string; hooks: string[]; configSchema: Record<string, unknown> }>;
    expect(kinds.map((k) => k.kind).sort()).toEqual([
      "deny_list",
      "output_length_guard",
      "payload_size",
      "pii_filter",
      "rate_limit",
      "regex_replace",
      "response_cache",
      "schema_guard",
      "secrets_detection",
      "tool_filter",
      "webhook",
    ]);
    const pii = kinds.find((k) => k.kind === "pii_filter");
    expect(pii?.configSchema).toMatchObject({
      type: "object",
      additionalProperties: false,
      properties: { strategy: { enum: ["mask", "partial", "block"] }, onError: { enum: ["fail", "ignore"] } },
    });
    expect(kinds.find((k) => k.kind === "rate_limit")?.configSchema).toMatchObject({
      required: ["limit", "windowSeconds"],
    });
    expect(kinds.find((k) => k.kind === "tool_filter")?.hooks).toEqual(["tool_pre_invoke"]);
  });

  it("needs admin credentials", async () => {
    expect((await api("GET", "/api/plugins/kinds", { token: null })).status).toBe(401);
  });
});

describe("/api/plugins", () => {
  it("creates with defaults, reads, lists, updates and deletes; every write bumps the config version", async () => {
    const name = uniqueName("pl");
    const before = await readVersion(env.DB);
    const created = await api("POST", "/api/plugins", { body: { name, kind: "pii_filter" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      kind: "pii_filter",
      mode: "enforce",
      priority: 100,
      hooks: ["tool_pre_invoke", "tool_post_invoke", "prompt_pre_fetch", "prompt_post_fetch", "resource_post_fetch"],
      conditions: null,
      config: { strategy: "mask", timeoutMs: 1000, onError: "fail" },
    });
    expect(await readVersion(env.DB)).toBeGreaterThan(before);

    expect((await api("GET", `/api/plugins/${name}`)).body).toEqual(created.body);
    const list = (await api("GET", "/api/plugins")).body as Array<{ name: string }>;
    expect(list.some((p) => p.name === name)).toBe(true);

    const v1 = await readVersion(env.DB);
    const patched = await api("PATCH", `/api/plugins/${name}`, {
      body: { mode: "permissive", priority: 5, conditions: [{ tools: ["alpha__*"] }], config: { strategy: "partial" } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      mode: "permissive",
      priority: 5,
      conditions: [{ tools: ["alpha__*"] }],
      config: { strategy: "partial" },
    });
    expect(await readVersion(env.DB)).toBeGreaterThan(v1);

    expect((await api("DELETE", `/api/plugins/${name}`)).status).toBe(204);
    expect((await api("GET", `/api/plugins/${name}`)).status).toBe(404);
  });

  it("400 for an unknown kind", async () => {
    const res = await api("POST", "/api/plugins", { body: { name: uniqueName("pl"), kind: "nope" } });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(["kind"]);
  });

  it("400 naming hooks the kind does not support", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: uniqueName("pl"),
        kind: "tool_filter",
        hooks: ["tool_pre_invoke", "prompt_pre_fetch"],
        config: { deny: ["x"] },
      },
    });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(["hooks.1"]);
    const cache = await api("POST", "/api/plugins", {
      body: { name: uniqueName("pl"), kind: "response_cache", hooks: ["tool_pre_invoke"] },
    });
    expect(paths(cache.body)).toEqual(["hooks"]);
  });

  it("400 naming each invalid config field", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: uniqueName("pl"),
        kind: "pii_filter",
        config: { strategy: "shred", types: ["email", "dna"], bogus: 1 },
      },
    });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(expect.arrayContaining(["config.strategy", "config.types.1", "config.bogus"]));
    const rate = await api("POST", "/api/plugins", {
      body: { name: uniqueName("pl"), kind: "rate_limit", config: {} },
    });
    expect(paths(rate.body)).toEqual(expect.arrayContaining(["config.limit", "config.windowSeconds"]));
  });

  it("400 for a regex_replace pattern the linear-time engine cannot run", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: uniqueName("pl"),
        kind: "regex_replace",
        config: {
          rules: [
            { pattern: "ok", replacement: "" },
            { pattern: "(a)\\1", replacement: "" },
          ],
        },
      },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details).toEqual([
      { path: "config.rules.1.pattern", message: expect.stringContaining("backreferences") },
    ]);
  });

  it("400 for bad top-level fields and conditions", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: "Bad Name",
        kind: "deny_list",
        mode: "loud",
        priority: -1,
        hooks: ["tool_pre_invoke", "tool_pre_invoke"],
        conditions: [{ tool: ["x"] }],
        extra: true,
      },
    });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(
      expect.arrayContaining(["name", "mode", "priority", "hooks", "conditions.0.tool", "extra"]),
    );
    expect(paths((await api("POST", "/api/plugins", { body: { name: "kinds", kind: "deny_list" } })).body)).toEqual([
      "name",
    ]);
  });

  it("409 on a duplicate name, 404 for unknown plugins", async () => {
    const name = uniqueName("pl");
    const body = { name, kind: "deny_list", config: { words: ["x"] } };
    expect((await api("POST", "/api/plugins", { body })).status).toBe(201);
    expect((await api("POST", "/api/plugins", { body })).status).toBe(409);
    expect((await api("GET", "/api/plugins/nope")).status).toBe(404);
    expect((await api("PATCH", "/api/plugins/nope", { body: { priority: 1 } })).status).toBe(404);
    expect((await api("DELETE", "/api/plugins/nope")).status).toBe(404);
  });

  it("PATCH validates the merged plugin (a new kind must fit the config)", async () => {
    const name = uniqueName("pl");
    await api("POST", "/api/plugins", { body: { name, kind: "deny_list", config: { words: ["x"] } } });
    const res = await api("PATCH", `/api/plugins/${name}`, { body: { kind: "rate_limit" } });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(expect.arrayContaining(["config.words", "config.limit"]));
    const ok = await api("PATCH", `/api/plugins/${name}`, {
      body: { kind: "rate_limit", config: { limit: 5, window_seconds: 60 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ kind: "rate_limit", hooks: ["tool_pre_invoke"] });
  });

  it("webhook: private URLs refused, headers sealed and never shown, ******** keeps a stored value", async () => {
    const privateUrl = await api("POST", "/api/plugins", {
      body: { name: uniqueName("pl"), kind: "webhook", config: { url: "http://127.0.0.1:9/policy" } },
    });
    expect(privateUrl.status).toBe(400);
    expect(paths(privateUrl.body)).toEqual(["config.url"]);

    const name = uniqueName("pl");
    const created = await api("POST", "/api/plugins", {
      body: {
        name,
        kind: "webhook",
        config: { url: "https://93.184.215.14/policy", headers: { Authorization: "Bearer policy-secret" } },
      },
    });
    expect(created.status).toBe(201);
    expect((created.body as { config: unknown }).config).toEqual({
      url: "https://93.184.215.14/policy",
      headers: { Authorization: "********" },
      timeoutMs: 5000,
      onError: "fail",
    });
    expect(created.text).not.toContain("policy-secret");
    const row = await env.DB.prepare("SELECT config FROM plugins WHERE name = ?")
      .bind(name)
      .first<{ config: string }>();
    expect(row?.config).not.toContain("policy-secret");

    const kept = await api("PATCH", `/api/plugins/${name}`, {
      body: { config: { url: "https://93.184.215.14/v2", headers: { Authorization: "********", "X-Extra": "1" } } },
    });
    expect(kept.status).toBe(200);
    expect((kept.body as { config: { headers: unknown } }).config.headers).toEqual({
      Authorization: "********",
      "X-Extra": "********",
    });
    const unknown = await api("PATCH", `/api/plugins/${name}`, {
      body: { config: { url: "https://93.184.215.14/v2", headers: { "X-New": "********" } } },
    });
    expect(paths(unknown.body)).toEqual(["config.headers.X-New"]);
  });

  it("is described in the OpenAPI document", async () => {
    const doc = (await api("GET", "/api/openapi.json")).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/plugins", "/plugins/{name}", "/plugins/kinds"]));
  });
});
