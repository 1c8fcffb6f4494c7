// Backend eras: probe verdicts, server/discover detection, the 2026 envelope and 2025 projection, and the BackendDO keeping the verdict.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { BackendDO } from "../../durable-objects/backend-do";
import type { BackendConfig } from "../../src/config/snapshot";
import type { Catalog, CatalogAnswer } from "../../src/protocol/catalog-types";
import {
  classifyProbe,
  isVersionError,
  legacyResult,
  modernClientCapabilities,
  withEnvelope,
} from "../../src/protocol/eras";
import { detectEra } from "../../src/upstream/era";
import { BackendFailure } from "../../src/upstream/failure";
import { uniqueName } from "./helpers";
import { route } from "./outbound";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function config(url: string, overrides: Partial<BackendConfig> = {}): BackendConfig {
  return {
    name: uniqueName("era"),
    url,
    transport: "streamable-http",
    headers: {},
    timeoutMs: 1000,
    healthIntervalSeconds: 30,
    failureThreshold: 2,
    cooldownSeconds: 30,
    enabled: true,
    ...overrides,
  };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** A backend at a fresh URL answering every POST with `answer(message, request)`; records what it got. */
function scripted(answer: (message: Record<string, unknown>, request: Request) => Response) {
  const url = `https://${uniqueName("b")}.eras.test/mcp`;
  const received: Array<{ method: string; headers: Headers; message: Record<string, unknown> }> = [];
  closers.push(
    route(url, async (request) => {
      const message = (await request.json()) as Record<string, unknown>;
      received.push({ method: String(message.method), headers: request.headers, message });
      return answer(message, request);
    }),
  );
  return { url, received };
}

const DISCOVER = {
  resultType: "complete",
  supportedVersions: ["2026-07-28"],
  capabilities: { tools: {} },
  ttlMs: 60_000,
  cacheScope: "public",
};

/** A minimal 2026 backend: discover, and a tools/list with one valid and one invalid x-mcp-header tool. */
function modernBackend() {
  return scripted((m) => {
    if (m.method === "server/discover") return json({ jsonrpc: "2.0", id: m.id, result: DISCOVER });
    if (m.method === "tools/list") {
      const tools = [
        {
          name: "regional",
          inputSchema: { type: "object", properties: { r: { type: "string", "x-mcp-header": "R" } } },
        },
        { name: "broken", inputSchema: { type: "object", properties: { n: { type: "number", "x-mcp-header": "N" } } } },
      ];
      return json({
        jsonrpc: "2.0",
        id: m.id,
        result: { resultType: "complete", tools, ttlMs: 2_000, cacheScope: "private" },
      });
    }
    return json({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } }, 404);
  });
}

describe("probe verdicts (classifyProbe)", () => {
  it("modern only for a DiscoverResult sharing 2026-07-28", () => {
    expect(classifyProbe({ result: DISCOVER })).toEqual({ era: "modern", discover: DISCOVER });
    expect(classifyProbe({ result: { ...DISCOVER, supportedVersions: ["2027-01-01"] } })).toEqual({ era: "legacy" });
    expect(classifyProbe({ result: { ...DISCOVER, capabilities: undefined } })).toEqual({ era: "legacy" });
    expect(classifyProbe({ result: {} })).toEqual({ era: "legacy" });
  });

  it("legacy for other errors, a -32022 without 2026-07-28, and bodies that are not JSON-RPC", () => {
    for (const code of [-32601, -32600, -32000, -32001, -32020, -32021, -32602]) {
      expect(classifyProbe({ error: { code, message: "no" } })).toEqual({ era: "legacy" });
    }
    const unsupported = (supported: unknown) => ({ error: { code: -32022, message: "v", data: { supported } } });
    expect(classifyProbe(unsupported(["2025-11-25"]))).toEqual({ era: "legacy" });
    expect(classifyProbe(unsupported(undefined))).toEqual({ era: "legacy" });
    expect(classifyProbe(unsupported(["2026-07-28"]))).toEqual({ era: "retry" });
    expect(classifyProbe(null)).toEqual({ era: "legacy" });
  });

  it("version errors: -32022, and -32020 only when about the version header", () => {
    expect(isVersionError({ code: -32022, message: "" })).toBe(true);
    expect(isVersionError({ code: -32020, message: "MCP-Protocol-Version header does not match" })).toBe(true);
    expect(isVersionError({ code: -32020, message: "x", data: { mismatch: { header: "MCP-Protocol-Version" } } })).toBe(
      true,
    );
    expect(isVersionError({ code: -32020, message: "x", data: { mismatch: { header: "Mcp-Param-Region" } } })).toBe(
      false,
    );
    expect(isVersionError({ code: -32000, message: "Unsupported protocol version" })).toBe(false);
  });
});

describe("era detection over HTTP (detectEra)", () => {
  it("a DiscoverResult is modern; the probe carries the 2026 envelope and headers", async () => {
    const backend = modernBackend();
    expect(await detectEra(config(backend.url))).toMatchObject({ era: "modern" });
    const [probe] = backend.received;
    expect(probe?.headers.get("mcp-protocol-version")).toBe("2026-07-28");
    expect(probe?.headers.get("mcp-method")).toBe("server/discover");
    expect(probe?.headers.get("mcp-session-id")).toBeNull();
    expect((probe?.message.params as { _meta?: Record<string, unknown> } | undefined)?._meta).toEqual({
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
      "io.modelcontextprotocol/clientInfo": { name: "mcp-edge-gateway", version: "0.1.0" },
    });
  });

  it("2025 answers are legacy: 400 plain text, 400/405 with a JSON-RPC error, an in-band -32601", async () => {
    const answers = [
      () => new Response("Mcp-Session-Id header is required", { status: 400 }),
      () => json({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Bad Request" } }, 400),
      () => new Response(null, { status: 405 }),
      (m: Record<string, unknown>) => json({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "nope" } }),
      () =>
        json(
          { jsonrpc: "2.0", id: 1, error: { code: -32022, message: "v", data: { supported: ["2025-11-25"] } } },
          400,
        ),
    ];
    for (const answer of answers) {
      expect(await detectEra(config(scripted(answer).url))).toEqual({ era: "legacy" });
    }
  });

  it("auth refusals, 5xx and a contradictory -32022 are failures, never a verdict; legacy SSE is not probed", async () => {
    for (const status of [401, 403, 503]) {
      const backend = scripted(() => new Response("no", { status }));
      await expect(detectEra(config(backend.url))).rejects.toBeInstanceOf(BackendFailure);
    }
    const contradictory = scripted(() =>
      json({ jsonrpc: "2.0", id: 1, error: { code: -32022, message: "v", data: { supported: ["2026-07-28"] } } }, 400),
    );
    await expect(detectEra(config(contradictory.url))).rejects.toMatchObject({ kind: "unsupported" });
    expect(contradictory.received).toHaveLength(2);
    expect(await detectEra(config("https://never.eras.test/sse", { transport: "sse" }))).toEqual({ era: "legacy" });
  });
});

describe("envelope and 2025 projection", () => {
  it("the envelope keeps the caller's _meta but replaces every reserved key", () => {
    const params = withEnvelope(
      {
        name: "t",
        _meta: {
          progressToken: 7,
          "io.modelcontextprotocol/clientCapabilities": { sampling: {} },
          "io.modelcontextprotocol/logLevel": "debug",
        },
      },
      { elicitation: {} },
    );
    expect(params).toEqual({
      name: "t",
      _meta: {
        progressToken: 7,
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
        "io.modelcontextprotocol/clientInfo": { name: "mcp-edge-gateway", version: "0.1.0" },
      },
    });
  });

  it("2025 capabilities become 2026 ones: tasks dropped, roots without listChanged", () => {
    expect(
      modernClientCapabilities({
        sampling: {},
        elicitation: { form: {} },
        roots: { listChanged: true },
        tasks: {},
        x: 1,
      }),
    ).toEqual({ sampling: {}, elicitation: { form: {} }, roots: {} });
  });

  it("a 2025 client gets results without 2026 fields, with object structured content", () => {
    const result = {
      content: [],
      structuredContent: [1, 2],
      resultType: "complete",
      ttlMs: 5,
      cacheScope: "public",
      _meta: { "io.modelcontextprotocol/serverInfo": { name: "b" }, trace: "t" },
    };
    expect(legacyResult(result)).toEqual({ content: [], structuredContent: { result: [1, 2] }, _meta: { trace: "t" } });
    expect(legacyResult({ structuredContent: { a: 1 }, resultType: "complete" })).toEqual({
      structuredContent: { a: 1 },
    });
    expect(legacyResult({ structuredContent: null })).toEqual({ structuredContent: { result: null } });
  });
});

describe("the BackendDO keeps the era with the catalog", () => {
  function catalogOf(answer: CatalogAnswer): Catalog {
    if (!answer.ok) throw new Error(answer.error);
    return answer.catalog;
  }

  function stubOf(name: string): DurableObjectStub<BackendDO> {
    return env.BACKEND.get(env.BACKEND.idFromName(name));
  }

  it("fetches a modern catalog statelessly, with its cache hints and x-mcp-header declarations", async () => {
    const backend = modernBackend();
    const cfg = config(backend.url);
    const catalog = catalogOf(await stubOf(cfg.name).catalog(cfg, "elicitation"));
    expect(catalog).toMatchObject({ era: "modern", ttlMs: 2_000, cacheScope: "private" });
    // The tool declaring x-mcp-header on a number is dropped (a client MUST).
    expect(catalog.tools.map((t) => t.name)).toEqual(["regional"]);
    expect(catalog.paramHeaders).toEqual({ regional: [{ path: ["r"], name: "R" }] });
    expect(backend.received.map((r) => r.method)).toEqual(["server/discover", "tools/list"]);
    const list = backend.received[1]?.message.params as { _meta: Record<string, unknown> };
    expect(list._meta["io.modelcontextprotocol/clientCapabilities"]).toEqual({ elicitation: {} });
    expect(backend.received.every((r) => r.headers.get("mcp-session-id") === null)).toBe(true);
  });

  it("health probes a modern backend with server/discover, never ping", async () => {
    const backend = modernBackend();
    const cfg = config(backend.url);
    const stub = stubOf(cfg.name);
    await stub.configure(cfg);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(backend.received.map((r) => r.method)).toEqual(["server/discover", "server/discover", "server/discover"]);
    expect(await stub.health()).toMatchObject({ healthy: true, lastError: null });
  });

  it("recheck re-detects an era that changed, and a failed answer still names the era", async () => {
    let modern = false;
    const backend = scripted((m) => {
      if (modern) {
        if (m.method === "server/discover") return json({ jsonrpc: "2.0", id: m.id, result: DISCOVER });
        return json({
          jsonrpc: "2.0",
          id: m.id,
          result: { resultType: "complete", tools: [], ttlMs: 0, cacheScope: "public" },
        });
      }
      if (m.id === undefined) return new Response(null, { status: 202 });
      if (m.method !== "initialize") return new Response("legacy only", { status: 400 });
      return json({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: "2025-11-25", capabilities: {} } });
    });
    const cfg = config(backend.url);
    const stub = stubOf(cfg.name);
    expect(catalogOf(await stub.catalog(cfg, "")).era).toBe("legacy");
    modern = true;
    expect(catalogOf(await stub.recheck(cfg, "")).era).toBe("modern");
    // Back to 2025 at once: a second version error within the gap does not probe the era again, so the
    // fetch in the stored (modern) era fails, and the failed answer still names that era.
    modern = false;
    const third = await stub.recheck(cfg, "");
    expect(third).toMatchObject({ ok: false, era: "modern" });
  });
});
