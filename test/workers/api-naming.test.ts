// Field naming on the admin API: camelCase everywhere, snake_case plugin fields still accepted (deprecated), stored spelling unchanged.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { camelToSnake, publicMessage, snakeToCamel, toInternal } from "../../src/api/naming";
import { api, errorOf, uniqueName } from "./helpers";

const paths = (body: unknown) => errorOf(body).details?.map((d) => d.path);

describe("naming helpers", () => {
  it("converts between the spellings and renames only known keys", () => {
    expect(snakeToCamel("max_entry_bytes")).toBe("maxEntryBytes");
    expect(camelToSnake("maxEntryBytes")).toBe("max_entry_bytes");
    const known = new Set(["window_seconds", "limit"]);
    const renamed = toInternal({ windowSeconds: 5, limit: 1, X_Api_Key: "v" }, known, "config");
    expect(renamed.value).toEqual({ window_seconds: 5, limit: 1, X_Api_Key: "v" });
    expect(renamed.deprecated).toEqual([]);
    expect(toInternal({ window_seconds: 5 }, known, "config").deprecated).toEqual(["config.window_seconds"]);
    expect(publicMessage("set window_seconds or other_thing", known)).toBe("set windowSeconds or other_thing");
  });

  it("keeps a __proto__ key an ordinary key (never the prototype)", () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "limit": 1}') as Record<string, unknown>;
    const renamed = toInternal(input, new Set(["limit"]), "config");
    expect(Object.getPrototypeOf(renamed.value)).toBe(Object.prototype);
    expect(Object.keys(renamed.value)).toEqual(["__proto__", "limit"]);
  });
});

describe("plugin fields in camelCase", () => {
  it("accepts camelCase config and conditions, stores the internal spelling, answers in camelCase", async () => {
    const name = uniqueName("nm");
    const res = await api("POST", "/api/plugins", {
      body: {
        name,
        kind: "rate_limit",
        config: { limit: 3, windowSeconds: 60, timeoutMs: 500, onError: "ignore" },
        conditions: [{ serverIds: ["alpha"], userPatterns: ["ci-*"] }],
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("deprecation")).toBeNull();
    expect(res.body).toMatchObject({
      config: { limit: 3, windowSeconds: 60, timeoutMs: 500, onError: "ignore", per: ["token"], algorithm: "fixed" },
      conditions: [{ serverIds: ["alpha"], userPatterns: ["ci-*"] }],
    });
    const row = await env.DB.prepare("SELECT config, conditions FROM plugins WHERE name = ?")
      .bind(name)
      .first<{ config: string; conditions: string }>();
    expect(JSON.parse(row?.config ?? "{}")).toMatchObject({ window_seconds: 60, timeout_ms: 500, on_error: "ignore" });
    expect(JSON.parse(row?.conditions ?? "[]")).toEqual([{ server_ids: ["alpha"], user_patterns: ["ci-*"] }]);
  });

  it("accepts the deprecated snake_case spellings and says so in the Deprecation headers", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: uniqueName("nm"),
        kind: "rate_limit",
        config: { limit: 3, window_seconds: 60 },
        conditions: [{ server_ids: ["alpha"] }],
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("deprecation")).toBe("true");
    expect(res.headers.get("mcpgw-deprecated-fields")).toBe(
      "config.window_seconds=windowSeconds, conditions.0.server_ids=serverIds",
    );
    expect(res.body).toMatchObject({ config: { windowSeconds: 60 }, conditions: [{ serverIds: ["alpha"] }] });
  });

  it("400 naming a field given in both spellings", async () => {
    const config = await api("POST", "/api/plugins", {
      body: { name: uniqueName("nm"), kind: "rate_limit", config: { limit: 3, windowSeconds: 60, window_seconds: 60 } },
    });
    expect(config.status).toBe(400);
    expect(paths(config.body)).toEqual(["config.windowSeconds"]);
    const condition = await api("POST", "/api/plugins", {
      body: { name: uniqueName("nm"), kind: "pii_filter", conditions: [{ serverIds: ["a"], server_ids: ["b"] }] },
    });
    expect(condition.status).toBe(400);
    expect(paths(condition.body)).toEqual(["conditions.0.serverIds"]);
  });

  it("names invalid config fields in camelCase whichever spelling was sent", async () => {
    for (const config of [{ maxEntries: 0 }, { max_entries: 0 }]) {
      const res = await api("POST", "/api/plugins", {
        body: { name: uniqueName("nm"), kind: "response_cache", config },
      });
      expect(res.status).toBe(400);
      expect(paths(res.body)).toEqual(["config.maxEntries"]);
    }
    const payload = await api("POST", "/api/plugins", { body: { name: uniqueName("nm"), kind: "payload_size" } });
    expect(errorOf(payload.body).details).toEqual([
      { path: "config.maxRequestBytes", message: "set maxRequestBytes, maxResultBytes or both" },
    ]);
  });

  it("never accepts or shows the gateway-set webhook field", async () => {
    const res = await api("POST", "/api/plugins", {
      body: {
        name: uniqueName("nm"),
        kind: "webhook",
        config: { url: "https://93.184.215.14/p", headersSealed: "v2.forged.x.y" },
      },
    });
    expect(res.status).toBe(201);
    expect(res.text).not.toContain("forged");
    const kinds = (await api("GET", "/api/plugins/kinds")).body as Array<{
      kind: string;
      configSchema: { properties: Record<string, unknown> };
    }>;
    const webhook = kinds.find((k) => k.kind === "webhook");
    expect(Object.keys(webhook?.configSchema.properties ?? {}).sort()).toEqual([
      "headers",
      "onError",
      "timeoutMs",
      "url",
    ]);
  });

  it("documents the condition fields in camelCase, the snake_case ones as deprecated", async () => {
    type Props = Record<string, { deprecated?: boolean }>;
    const doc = (await api("GET", "/api/openapi.json")).body as {
      components: { schemas: { PluginCreate: { properties: { conditions: { items: { properties: Props } } } } } };
    };
    const condition = doc.components.schemas.PluginCreate.properties.conditions.items.properties;
    expect(condition.serverIds?.deprecated).toBeUndefined();
    expect(condition.server_ids?.deprecated).toBe(true);
    expect(condition.user_patterns?.deprecated).toBe(true);
  });
});
