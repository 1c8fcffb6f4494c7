/**
 * JSON-RPC messages as a fuzzing client sends them to the MCP endpoints:
 * requests of every method the gateway serves (valid, near-valid and
 * arbitrary params, odd ids), notifications, responses to gateway-issued
 * request ids, and envelopes with one part wrong.
 */
import fc from "fast-check";
import type { McpSpec } from "./mcp-cases.ts";
import { MCP_VERSIONS } from "./model.ts";

const idArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -1000, max: 1_000_000 }) },
  { weight: 4, arbitrary: fc.string({ maxLength: 16 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      0,
      -0,
      2 ** 53 - 1,
      2 ** 53 + 2,
      1.5,
      1e300,
      "x".repeat(256),
      "x".repeat(257),
      "",
      "mcpgw:fm-a:1",
      null,
      true,
      {},
      [],
    ),
  },
);

const anyJson = fc.jsonValue({ maxDepth: 3 });
/** Strings, some of them what the planted plugins look for (a denied word, PII, a secret, a rewrite target). */
const text = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  fc.constantFrom(
    "forbidden-word",
    "mail john.doe@example.com now",
    "card 4111 1111 1111 1111",
    "key AKIAIOSFODNN7EXAMPLE",
    "secret-12345",
    "x".repeat(500),
  ),
);

function paramsFor(spec: McpSpec): Record<string, fc.Arbitrary<unknown>> {
  const name = (known: string[]) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...known) },
      text,
      fc.constantFrom("", "fm-a__", "__", "x".repeat(300)),
    );
  const uri = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...spec.resources) },
    fc.webUrl(),
    text,
    fc.constantFrom("mcpgw://fm-a/", "mcpgw://nope/x", "mcpgw://", ""),
  );
  const args = fc.oneof(
    { weight: 4, arbitrary: fc.record({ text }) },
    fc.record({ a: fc.integer(), b: fc.integer() }),
    fc.record({ ms: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ count: fc.integer({ min: 1, max: 3 }), text }),
    fc.record({ question: text }),
    anyJson,
  );
  const meta = fc.option(fc.record({ progressToken: fc.oneof(fc.integer(), text) }), { nil: undefined });
  const cursor = fc.option(fc.oneof(fc.constantFrom("o500", "o0", "", "o999999999", "o-1"), text, fc.integer()), {
    nil: undefined,
  });
  // Half the calls ask a tool that answers with its `text`, so what the plugins did to it shows.
  const echoCall = fc.record(
    { name: fc.constantFrom(...spec.echoTools), arguments: fc.record({ text }), _meta: meta },
    { requiredKeys: ["name", "arguments"] },
  );
  const anyCall = fc.record(
    { name: name(spec.tools), arguments: fc.option(args, { nil: undefined }), _meta: meta },
    { requiredKeys: ["name"] },
  );
  return {
    "tools/call": fc.oneof(echoCall, anyCall),
    "prompts/get": fc.record(
      {
        name: name(spec.prompts),
        arguments: fc.option(fc.oneof(fc.record({ name: text }), anyJson), { nil: undefined }),
      },
      { requiredKeys: ["name"] },
    ),
    "resources/read": fc.record({ uri }),
    "resources/subscribe": fc.record({ uri }),
    "resources/unsubscribe": fc.record({ uri }),
    "tools/list": fc.record({ cursor }, { requiredKeys: [] }),
    "prompts/list": fc.record({ cursor }, { requiredKeys: [] }),
    "resources/list": fc.record({ cursor }, { requiredKeys: [] }),
    "resources/templates/list": fc.record({ cursor }, { requiredKeys: [] }),
    "completion/complete": fc.record({
      ref: fc.oneof(
        fc.record({ type: fc.constant("ref/prompt"), name: name(spec.prompts) }),
        fc.record({ type: fc.constant("ref/resource"), uri }),
        anyJson,
      ),
      argument: fc.record({ name: fc.constantFrom("name", "id", ""), value: text }),
    }),
    "logging/setLevel": fc.record({ level: fc.oneof(fc.constantFrom("debug", "info", "error", "emergency"), text) }),
    ping: fc.constant({}),
    initialize: fc.record(
      {
        protocolVersion: fc.oneof(fc.constantFrom(...MCP_VERSIONS, "2024-11-05", "1999-01-01"), text),
        capabilities: fc.oneof(fc.constantFrom({}, { sampling: {} }, { elicitation: {}, roots: {} }), anyJson),
        clientInfo: fc.oneof(fc.record({ name: text, version: text }), anyJson),
      },
      { requiredKeys: [] },
    ),
  };
}

export function requestArb(spec: McpSpec): fc.Arbitrary<Record<string, unknown>> {
  const byMethod = paramsFor(spec);
  // Calls reach the backends and the plugin chain: they get the most cases.
  const weight = (method: string) =>
    method === "tools/call" ? 12 : method === "initialize" ? 1 : /get|read/.test(method) ? 4 : 2;
  const known = Object.entries(byMethod).map(([method, params]) => ({
    weight: weight(method),
    arbitrary: fc.record({
      method: fc.constant(method),
      params: fc.oneof({ weight: 6, arbitrary: params }, anyJson),
      id: idArb,
    }),
  }));
  const unknown = fc.record({
    method: fc.oneof(text, fc.constantFrom("", "x".repeat(300), "notifications/initialized", "rpc.discover")),
    id: idArb,
    params: fc.option(anyJson, { nil: undefined }),
  });
  return fc.oneof(...known, unknown).map((m) => ({ jsonrpc: "2.0", ...m }));
}

function notificationArb(): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    jsonrpc: fc.constant("2.0"),
    method: fc.constantFrom(
      "notifications/initialized",
      "notifications/cancelled",
      "notifications/roots/list_changed",
      "notifications/progress",
      "notifications/bogus",
    ),
    params: fc.option(fc.oneof(fc.record({ requestId: idArb, reason: text }), anyJson), { nil: undefined }),
  });
}

function responseArb(spec: McpSpec): fc.Arbitrary<Record<string, unknown>> {
  const gatewayId = fc
    .tuple(fc.constantFrom(...spec.backends, "nope"), fc.oneof(fc.integer(), text))
    .map(([b, id]) => `mcpgw:${b}:${JSON.stringify(id)}`);
  return fc
    .record({
      jsonrpc: fc.constant("2.0"),
      id: fc.oneof(gatewayId, idArb),
      outcome: fc.oneof(
        fc.record({ result: fc.oneof(fc.constant({}), fc.record({ action: fc.constant("decline") }), anyJson) }),
        fc.record({ error: fc.oneof(fc.record({ code: fc.integer(), message: text }), anyJson) }),
      ),
    })
    .map(({ outcome, ...rest }) => ({ ...rest, ...outcome }));
}

/** A JSON-RPC envelope with one part wrong (version, id, method or params type). */
function brokenEnvelopeArb(spec: McpSpec): fc.Arbitrary<unknown> {
  return fc
    .tuple(requestArb(spec), fc.constantFrom("jsonrpc", "id", "method", "params", "extra"), anyJson)
    .map(([m, field, junk]) => {
      if (field === "extra") return { ...m, unexpected: junk };
      if (field === "jsonrpc") return { ...m, jsonrpc: junk === "2.0" ? "1.0" : junk };
      return { ...m, [field]: junk };
    });
}

export function messageArb(spec: McpSpec): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 10, arbitrary: requestArb(spec) },
    { weight: 2, arbitrary: notificationArb() },
    { weight: 2, arbitrary: responseArb(spec) },
    { weight: 2, arbitrary: brokenEnvelopeArb(spec) },
    { weight: 1, arbitrary: anyJson },
  );
}
