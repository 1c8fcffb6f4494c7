// OpenAPI documents → tools inside workerd: derivation, $ref resolution, filters, and every named problem of a bad document.
import { describe, expect, it } from "vitest";
import type { BackendConfig } from "../../src/config/snapshot";
import { deriveOperations, OpenApiProblem, parseDocumentText } from "../../src/upstream/openapi/document";
import { postToOpenApi, toolOf } from "../../src/upstream/openapi/server";
import { loadOperations } from "../../src/upstream/openapi/source";
import { petDocument } from "../fixtures/pet-document";

function problemOf(work: () => unknown): string {
  try {
    work();
  } catch (err) {
    if (err instanceof OpenApiProblem) return err.message;
    throw err;
  }
  throw new Error("no problem found");
}

const minimal = (paths: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths,
  ...extra,
});

describe("deriving tools from an OpenAPI document", () => {
  it("turns each operation into a tool with its parameters and body in one input schema", () => {
    const ops = deriveOperations(petDocument());
    expect(ops.map((o) => o.tool)).toEqual([
      "listPets",
      "createPet",
      "getPet",
      "deletePet",
      "boom",
      "greeting",
      "huge",
      "slow",
    ]);
    const list = ops.find((o) => o.tool === "listPets");
    expect(list?.params).toEqual([
      { name: "limit", in: "query", required: false },
      { name: "tag", in: "query", required: false },
      { name: "ids", in: "query", required: false },
      { name: "X-Trace-Tag", in: "header", required: false },
    ]);
    // The parameter's $ref was resolved into its schema.
    expect(list?.inputSchema).toMatchObject({
      type: "object",
      properties: { limit: { type: "integer", minimum: 1, maximum: 100 }, tag: { type: "string" } },
      additionalProperties: false,
    });
    const create = ops.find((o) => o.tool === "createPet");
    expect(create?.body).toEqual({ required: true });
    expect(create?.inputSchema).toMatchObject({
      required: ["body"],
      properties: {
        body: { type: "object", required: ["name"], properties: { tag: { type: "string", maxLength: 20 } } },
      },
    });
    // Path-level parameters apply to every operation of the path, and are required.
    const get = ops.find((o) => o.tool === "getPet");
    expect(get?.params).toEqual([{ name: "petId", in: "path", required: true }]);
    expect(get && toolOf(get)).toMatchObject({
      name: "getPet",
      description: "One pet by id",
      annotations: { readOnlyHint: true },
    });
    expect(ops.find((o) => o.tool === "deletePet")?.method).toBe("delete");
  });

  it("reads YAML text as well as JSON, and include/exclude pick the operations", () => {
    const yaml = `openapi: 3.0.0\ninfo: {title: y, version: "1"}\npaths:\n  /a:\n    get:\n      operationId: a\n  /b:\n    get:\n      operationId: b\n`;
    const doc = parseDocumentText(yaml);
    expect(deriveOperations(doc).map((o) => o.tool)).toEqual(["a", "b"]);
    expect(deriveOperations(doc, { include: ["b"] }).map((o) => o.tool)).toEqual(["b"]);
    expect(deriveOperations(doc, { exclude: ["b"] }).map((o) => o.tool)).toEqual(["a"]);
    expect(problemOf(() => deriveOperations(doc, { include: ["nope"] }))).toContain("'nope'");
  });

  it("a recursive schema is cut at the cycle instead of looping", () => {
    const doc = minimal(
      {
        "/t": {
          post: {
            operationId: "t",
            requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Node" } } } },
          },
        },
      },
      {
        components: {
          schemas: { Node: { type: "object", properties: { child: { $ref: "#/components/schemas/Node" } } } },
        },
      },
    );
    const [op] = deriveOperations(doc);
    expect(op?.inputSchema).toMatchObject({ properties: { body: { type: "object", properties: { child: {} } } } });
  });

  it("names the problem of each bad document", () => {
    expect(problemOf(() => parseDocumentText("{ not: [json"))).toMatch(/neither JSON nor YAML/);
    expect(problemOf(() => parseDocumentText("x".repeat(600 * 1024)))).toMatch(/larger than 512 KiB/);
    expect(problemOf(() => deriveOperations("just text"))).toMatch(/not a JSON\/YAML object/);
    expect(problemOf(() => deriveOperations({ swagger: "2.0", paths: {} }))).toMatch(/Swagger 2.0/);
    expect(problemOf(() => deriveOperations({ openapi: "4.0.0", paths: {} }))).toMatch(/4.0.0 is not supported/);
    expect(problemOf(() => deriveOperations(minimal({})))).toMatch(/no operations/);
    expect(problemOf(() => deriveOperations({ openapi: "3.0.0" }))).toMatch(/no 'paths'/);
    const dup = minimal({ "/a": { get: { operationId: "x" } }, "/b": { get: { operationId: "x" } } });
    expect(problemOf(() => deriveOperations(dup))).toMatch(/'x' is used twice/);
    expect(problemOf(() => deriveOperations(minimal({ "/a": { get: { operationId: "has space" } } })))).toMatch(
      /not a valid tool name/,
    );
    expect(problemOf(() => deriveOperations(minimal({ "/a": { get: {} } })))).toMatch(/GET \/a has no operationId/);
    const missing = minimal({
      "/a": { get: { operationId: "a", parameters: [{ $ref: "#/components/parameters/Nope" }] } },
    });
    expect(problemOf(() => deriveOperations(missing))).toMatch(
      /\$ref '#\/components\/parameters\/Nope' cannot be resolved/,
    );
    const badPointer = minimal({
      "/a": { get: { operationId: "a", parameters: [{ $ref: "#/a%ZZ" }] } },
    });
    expect(problemOf(() => deriveOperations(badPointer))).toMatch(/is not a valid JSON pointer/);
    const badPattern = minimal({
      "/a": {
        get: {
          operationId: "a",
          parameters: [{ name: "q", in: "query", schema: { type: "string", pattern: "a\\-b" } }],
        },
      },
    });
    expect(problemOf(() => deriveOperations(badPattern))).toMatch(/tool 'a': pattern 'a\\-b' is not a valid/);
    const remote = minimal({ "/a": { get: { operationId: "a", parameters: [{ $ref: "https://x.test/p.json" }] } } });
    expect(problemOf(() => deriveOperations(remote))).toMatch(/is not local/);
    const undeclared = minimal({ "/a/{id}": { get: { operationId: "a" } } });
    expect(problemOf(() => deriveOperations(undeclared))).toMatch(/path parameter 'id' is not declared/);
    const many = minimal(
      Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`/p${i}`, { get: { operationId: `op${i}` } }])),
    );
    expect(problemOf(() => deriveOperations(many))).toMatch(/201 operations; at most 200/);
    const form = minimal({
      "/a": { post: { operationId: "a", requestBody: { required: true, content: { "multipart/form-data": {} } } } },
    });
    expect(problemOf(() => deriveOperations(form))).toMatch(/only JSON request bodies/);
  });

  it("bounds $ref expansion: a document whose refs fan out exponentially is refused", () => {
    const schemas: Record<string, unknown> = { L0: { type: "string" } };
    for (let i = 1; i <= 30; i++) {
      schemas[`L${i}`] = {
        type: "object",
        properties: { a: { $ref: `#/components/schemas/L${i - 1}` }, b: { $ref: `#/components/schemas/L${i - 1}` } },
      };
    }
    const bomb = minimal(
      {
        "/a": {
          post: {
            operationId: "a",
            requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/L30" } } } },
          },
        },
      },
      { components: { schemas } },
    );
    expect(problemOf(() => deriveOperations(bomb))).toMatch(/expand to too large a schema/);
  });

  it("bounds the derived tools' size, and resolves only what becomes a tool", () => {
    const long = { type: "string", description: "d".repeat(20_000) };
    const paths = Object.fromEntries(
      Array.from({ length: 60 }, (_, i) => [
        `/p${i}`,
        {
          get: {
            operationId: `op${i}`,
            parameters: [{ name: "q", in: "query", schema: { $ref: "#/components/schemas/Long" } }],
          },
        },
      ]),
    );
    const big = minimal(paths, { components: { schemas: { Long: long } } });
    expect(problemOf(() => deriveOperations(big))).toMatch(/more than 1024 KiB/);
    expect(deriveOperations(big, { include: ["op1"] })).toHaveLength(1);
    // A broken $ref in a response is not read: responses never become part of a tool.
    const responses = minimal({ "/a": { get: { operationId: "a", responses: { "200": { $ref: "#/nowhere" } } } } });
    expect(deriveOperations(responses).map((o) => o.tool)).toEqual(["a"]);
  });

  it("a document URL the check refuses is a problem, and so is one that does not answer", async () => {
    const refuse = async () => "private address";
    await expect(loadOperations({ document: { url: "http://10.0.0.1/doc" } }, refuse)).rejects.toThrow(
      /document URL refused: private address/,
    );
  });
});

describe("an OpenAPI backend answering as an MCP server", () => {
  const backend: BackendConfig = {
    name: "pets",
    url: "http://127.0.0.1:1",
    transport: "openapi",
    headers: {},
    timeoutMs: 1000,
    healthIntervalSeconds: 30,
    failureThreshold: 5,
    cooldownSeconds: 30,
    enabled: true,
    openapi: { operations: deriveOperations(petDocument()) },
  };
  const post = async (message: unknown) => {
    const res = await postToOpenApi(backend, message, {});
    return { status: res.status, body: res.status === 202 ? null : ((await res.json()) as Record<string, unknown>) };
  };

  it("answers initialize and tools/list from the derived operations, and notifications with 202", async () => {
    const init = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18" } });
    expect(init.body?.result).toMatchObject({ protocolVersion: "2025-06-18", capabilities: { tools: {} } });
    const list = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    expect(list.body?.result).toMatchObject({
      tools: expect.arrayContaining([expect.objectContaining({ name: "createPet" })]),
    });
    expect((await post({ jsonrpc: "2.0", method: "notifications/initialized" })).status).toBe(202);
    expect((await post({ jsonrpc: "2.0", id: 3, method: "prompts/list" })).body?.error).toMatchObject({ code: -32601 });
  });

  it("refuses arguments the schema rejects, and dot segments in a path parameter, with -32602 before any request", async () => {
    const bad = await post({
      jsonrpc: "2.0",
      id: 4,
      method: "tools/call",
      params: { name: "listPets", arguments: { limit: 0 } },
    });
    expect(bad.body?.error).toMatchObject({ code: -32602 });
    const extra = await post({
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "getPet", arguments: { petId: "1", x: 1 } },
    });
    expect(extra.body?.error).toMatchObject({ code: -32602 });
    const dots = await post({
      jsonrpc: "2.0",
      id: 6,
      method: "tools/call",
      params: { name: "getPet", arguments: { petId: ".." } },
    });
    expect(dots.body?.error).toMatchObject({ code: -32602, message: "argument 'petId' is not a usable path segment" });
    const unknown = await post({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "nope", arguments: {} },
    });
    expect(unknown.body?.error).toMatchObject({ code: -32602 });
  });
});
