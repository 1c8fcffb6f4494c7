// The hand-checked request and result-reply shapes (issue 15) accept exactly what the zod schemas accept there, with the same output.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classify,
  JsonRpcIdSchema,
  plainResultReply,
  RequestSchema,
  ResponseSchema,
  readableId,
} from "../../src/protocol/jsonrpc";

/** Values near every edge the schemas draw: versions, id types and lengths, method lengths, params shapes. */
const anyId = fc.oneof(
  fc.integer(),
  fc.constantFrom(2 ** 53, -(2 ** 53), 1.5, Number.NaN, Number.POSITIVE_INFINITY, 0),
  fc.string({ maxLength: 4 }),
  fc.constantFrom("x".repeat(256), "x".repeat(257)),
  fc.constantFrom(null, undefined, true, [], {}),
);
const anyMethod = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom("", "m".repeat(256), "m".repeat(257), "tools/call"),
  fc.constantFrom(undefined, 1, null),
);
const anyObject = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.constantFrom(null, undefined, [], [1], "s", 0),
);
const anyVersion = fc.constantFrom("2.0", "1.0", 2, undefined);

describe("hand-checked JSON-RPC shapes", () => {
  it("classify answers every request as RequestSchema alone would", () => {
    fc.assert(
      fc.property(
        anyVersion,
        anyId,
        anyMethod,
        anyObject,
        fc.boolean(),
        fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
        (jsonrpc, id, method, params, withParams, extra) => {
          const value: Record<string, unknown> = { ...extra, jsonrpc, id, method };
          if (withParams) value.params = params;
          const parsed = RequestSchema.safeParse(value);
          expect(classify(value)).toEqual(parsed.success ? { kind: "request", message: parsed.data } : null);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("readableId reads exactly the ids JsonRpcIdSchema accepts, from messages with a method", () => {
    fc.assert(
      fc.property(anyId, fc.boolean(), (id, withMethod) => {
        const value = withMethod ? { jsonrpc: "2.0", id, method: "m" } : { jsonrpc: "2.0", id };
        const parsed = JsonRpcIdSchema.safeParse(id);
        expect(readableId(value)).toEqual(withMethod && parsed.success ? parsed.data : null);
      }),
      { numRuns: 2000 },
    );
  });

  it("plainResultReply accepts only replies ResponseSchema accepts for that id, with the same output", () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        anyVersion,
        anyId,
        anyObject,
        fc.option(fc.record({ code: fc.integer(), message: fc.string() }), { nil: undefined }),
        fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom("a", "")),
        fc.boolean(),
        (jsonrpc, id, result, error, other, same) => {
          // The id asked for is always a valid one (a request's); the reply's may be anything.
          const valid = JsonRpcIdSchema.safeParse(id);
          const asked = same && valid.success ? valid.data : other;
          const value: Record<string, unknown> = { jsonrpc, id, result };
          if (error) value.error = error;
          const plain = plainResultReply(value, asked);
          if (plain === null) return;
          accepted += 1;
          const parsed = ResponseSchema.safeParse(value);
          expect(parsed.success).toBe(true);
          expect(plain).toEqual(parsed.data);
          expect(plain.id).toBe(asked);
        },
      ),
      { numRuns: 3000 },
    );
    // The property above says something only if the hand check accepted replies.
    expect(accepted).toBeGreaterThan(0);
    expect(plainResultReply({ jsonrpc: "2.0", id: 1, result: { a: 1 }, extra: 2 }, 1)).toEqual({
      jsonrpc: "2.0",
      id: 1,
      result: { a: 1 },
    });
  });
});
