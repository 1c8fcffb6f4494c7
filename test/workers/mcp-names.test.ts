// Public names of federated tools, prompts, resources and request ids, federation views and SSE parsing.
import { describe, expect, it } from "vitest";
import type { BackendConfig } from "../../src/config/snapshot";
import { buildView, type Endpoint, nameConflicts, routeName, routeUri } from "../../src/core/federation";
import {
  gatewayRequestId,
  publicName,
  publicUri,
  splitGatewayRequestId,
  splitPublicName,
  splitPublicUri,
  templateMatcher,
} from "../../src/core/names";
import type { Catalog } from "../../src/protocol/catalog-types";
import { parseSse } from "../../src/protocol/sse";
import { backendConfig } from "./helpers";

const backend = (name: string): BackendConfig => backendConfig(name);

function catalog(partial: Partial<Catalog>): Catalog {
  return {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
    capabilities: { tools: {} },
    fetchedAt: 1,
    ...partial,
  };
}

describe("public names", () => {
  it("prefixes and splits tool names", () => {
    expect(publicName("github", "search", true)).toBe("github__search");
    expect(splitPublicName("github__search")).toEqual({ backend: "github", name: "search" });
    expect(splitPublicName("github__my__tool")).toEqual({ backend: "github", name: "my__tool" });
    expect(splitPublicName("plain")).toBeNull();
    expect(splitPublicName("__x")).toBeNull();
  });

  it("refuses names that are too long or use other characters", () => {
    expect(publicName("b", "x".repeat(62), true)).toBeNull();
    expect(publicName("b", "x".repeat(61), true)).toBe(`b__${"x".repeat(61)}`);
    expect(publicName("b", "has space", false)).toBeNull();
  });

  it("round-trips resource URIs", () => {
    const uri = publicUri("files", "file:///etc/a b.txt", true);
    expect(uri).toBe("mcpgw://files/file:///etc/a b.txt");
    expect(splitPublicUri(uri)).toEqual({ backend: "files", uri: "file:///etc/a b.txt" });
    expect(splitPublicUri("file:///x")).toBeNull();
    // Only the gateway's own scheme, with a backend and a non-empty URI after it.
    expect(splitPublicUri("https://files/readme")).toBeNull();
    expect(splitPublicUri("mcpgw:///readme")).toBeNull();
    expect(splitPublicUri("mcpgw://files/")).toBeNull();
    expect(splitPublicUri("mcpgw://files")).toBeNull();
    expect(splitPublicUri("mcpgw://f/x")).toEqual({ backend: "f", uri: "x" });
    expect(publicUri("files", "test://x", false)).toBe("test://x");
  });

  it("keeps an MCP App's ui:// scheme in the public URI (ui://mcpgw.<backend>/...) and round-trips it", () => {
    const uri = publicUri("apps", "ui://dash/view.html", true);
    expect(uri).toBe("ui://mcpgw.apps/dash/view.html");
    expect(splitPublicUri(uri)).toEqual({ backend: "apps", uri: "ui://dash/view.html" });
    // Nothing after the scheme, or ui:// anywhere but at the start: the ordinary form.
    expect(publicUri("apps", "ui://", true)).toBe("mcpgw://apps/ui://");
    expect(publicUri("apps", "file:///ui://", true)).toBe("mcpgw://apps/file:///ui://");
    expect(publicUri("apps", "ui://dash", false)).toBe("ui://dash");
    // A ui:// URI that is not in the gateway's form names no backend.
    expect(splitPublicUri("ui://dash/view.html")).toBeNull();
    expect(splitPublicUri("x-ui://mcpgw.apps/view")).toBeNull();
  });

  it("round-trips server-to-client request ids and rejects others", () => {
    for (const id of [0, 42, "abc", "with:colons"]) {
      expect(splitGatewayRequestId(gatewayRequestId("b-1", id))).toEqual({ backend: "b-1", id });
    }
    expect(splitGatewayRequestId(7)).toBeNull();
    expect(splitGatewayRequestId("mcpgw:b:{bad")).toBeNull();
    expect(splitGatewayRequestId("mcpgw:b:{}")).toBeNull();
    // A backend name is required before the colon.
    expect(splitGatewayRequestId("mcpgw::1")).toBeNull();
    expect(splitGatewayRequestId("mcpgw:42")).toBeNull();
    expect(splitGatewayRequestId("other:b:1")).toBeNull();
  });

  it("matches URI templates segment-wise", () => {
    const m = templateMatcher("test://template/{id}/data");
    expect(m?.test("test://template/42/data")).toBe(true);
    expect(m?.test("test://template/4/2/data")).toBe(false);
    expect(templateMatcher("a.b://{x}")?.test("aXb://y")).toBe(false);
    // Characters special in regular expressions match themselves.
    expect(templateMatcher("a.b+c://{x}?q=(1)")?.test("a.b+c://y?q=(1)")).toBe(true);
  });

  it("matches a long crafted URI against a many-variable template in linear time (no backtracking freeze)", () => {
    // With a backtracking engine this is O(n^3) steps for n = 200 000: the test would never finish.
    const m = templateMatcher("x://{a}-{b}-{c}-{d}");
    expect(m?.test(`x://${"a-".repeat(100_000)}/`)).toBe(false);
    expect(m?.test("x://1-2-3-4")).toBe(true);
  });

  it("gives no matcher (so no route) for a template too large for RE2, which a backend reply may carry", () => {
    // 1.5 million literal characters: over RE2JS's program size, within a backend reply's 4 MiB bound.
    expect(templateMatcher(`x://${"a".repeat(1_500_000)}/{id}`)).toBeNull();
  });
});

describe("federated view", () => {
  const endpoint = (prefix: boolean, tools: string[] | null = null): Endpoint => ({
    key: "*",
    server: null,
    prefix,
    backends: [backend("beta"), backend("alpha")],
    tools: tools ? new Set(tools) : null,
    discovery: "list",
  });
  const catalogs = new Map([
    [
      "alpha",
      catalog({
        tools: [{ name: "echo", inputSchema: {} }, { name: "bad name" }],
        resources: [{ uri: "mem://a", name: "a" }],
        resourceTemplates: [{ uriTemplate: "mem://items/{id}", name: "item" }],
        capabilities: { tools: {}, resources: { subscribe: true } },
      }),
    ],
    [
      "beta",
      catalog({
        tools: [{ name: "echo" }, { name: "add" }],
        prompts: [{ name: "greet" }],
        capabilities: { tools: {}, prompts: {} },
      }),
    ],
  ]);

  it("merges with prefixes, in backend order, skipping inexpressible names", () => {
    const view = buildView(endpoint(true), catalogs);
    expect(view.tools.map((t) => t.item.name)).toEqual(["alpha__echo", "beta__echo", "beta__add"]);
    expect(view.tools[0]?.item).toEqual({ name: "alpha__echo", inputSchema: {} });
    expect(view.prompts.map((p) => p.item.name)).toEqual(["beta__greet"]);
    expect(view.resources[0]?.item.uri).toBe("mcpgw://alpha/mem://a");
    expect(view.capabilities).toMatchObject({ tools: {}, prompts: {}, resources: { subscribe: true } });
  });

  it("filters tools on a virtual server", () => {
    const view = buildView(endpoint(true, ["beta__add"]), catalogs);
    expect(view.tools.map((t) => t.item.name)).toEqual(["beta__add"]);
    expect(routeName(endpoint(true, ["beta__add"]), "beta__echo", null)).toBeNull();
  });

  it("routes prefixed and unprefixed names", () => {
    expect(routeName(endpoint(true), "beta__add", null)).toEqual({ backend: "beta", name: "add" });
    expect(routeName(endpoint(true), "gamma__add", null)).toBeNull();
    const view = buildView(endpoint(false), catalogs);
    expect(routeName(endpoint(false), "add", view.toolsByName)).toEqual({ backend: "beta", name: "add" });
    // Without prefixes the first backend by name owns a duplicate.
    expect(routeName(endpoint(false), "echo", view.toolsByName)).toEqual({ backend: "alpha", name: "echo" });
  });

  it("finds name conflicts only where names are unprefixed and exposed", () => {
    expect(nameConflicts(endpoint(true), catalogs)).toEqual([]);
    expect(nameConflicts(endpoint(false), catalogs)).toEqual([
      { kind: "tool", name: "echo", backends: ["alpha", "beta"] },
    ]);
    // A tool filter that exposes only non-colliding names has nothing to report.
    expect(nameConflicts(endpoint(false, ["add"]), catalogs)).toEqual([]);
    const prompts = new Map([...catalogs, ["alpha", catalog({ prompts: [{ name: "greet" }] })]]);
    expect(nameConflicts(endpoint(false, ["add"]), prompts)).toEqual([
      { kind: "prompt", name: "greet", backends: ["alpha", "beta"] },
    ]);
  });

  it("routes URIs exactly, by template, or to the only backend", () => {
    const view = buildView(endpoint(false), catalogs);
    expect(routeUri(endpoint(false), "mem://a", view)).toEqual({ backend: "alpha", uri: "mem://a" });
    expect(routeUri(endpoint(false), "mem://items/7", view)).toEqual({ backend: "alpha", uri: "mem://items/7" });
    expect(routeUri(endpoint(false), "mem://other", view)).toBeNull();
    expect(routeUri(endpoint(true), "mcpgw://alpha/mem://a", null)).toEqual({ backend: "alpha", uri: "mem://a" });
  });
});

describe("SSE parsing", () => {
  function stream(chunks: string[]): ReadableStream<Uint8Array> {
    const enc = new TextEncoder();
    return new ReadableStream({
      start(controller) {
        for (const c of chunks) controller.enqueue(enc.encode(c));
        controller.close();
      },
    });
  }

  it("joins data lines, keeps ids, skips comments, handles split chunks and CRLF", async () => {
    const events = [];
    for await (const e of parseSse(
      stream([": hi\n", 'id: 1\nevent: message\ndata: {"a":', "1}\n\n", "data: x\r\ndata: y\r\n\r\n"]),
    )) {
      events.push(e);
    }
    expect(events).toEqual([
      { event: "message", data: '{"a":1}', id: "1" },
      { event: "message", data: "x\ny", id: "1" },
    ]);
  });

  it("refuses an event over the size bound", async () => {
    const run = async () => {
      for await (const _ of parseSse(stream([`data: ${"x".repeat(100)}\n\n`]), { maxEventChars: 10 })) {
        // consume
      }
    };
    await expect(run()).rejects.toThrow("SSE event larger than 10 characters");
  });
});

describe("capability profiles", () => {
  it("enumerates every profile capabilityProfile can produce", async () => {
    const { ALL_PROFILES, capabilityProfile } = await import("../../src/protocol/profiles");
    expect(ALL_PROFILES).toHaveLength(16);
    expect(ALL_PROFILES).toContain(capabilityProfile({}));
    expect(ALL_PROFILES).toContain(capabilityProfile({ sampling: {}, elicitation: {}, roots: {} }));
    expect(ALL_PROFILES).toContain(capabilityProfile({ roots: {}, sampling: {} }));
  });
});
