/**
 * The admin fuzzer's vocabulary (`admin-cases.ts` composes it): odd path
 * segments, methods besides a route's own, content types and credentials
 * with their weights, and bodies that are not what the API expects.
 */
import fc from "fast-check";
import type { AuthChoice, Body } from "./model.ts";

export const ODD_SEGMENTS = [
  "",
  ".",
  "..",
  "%2e%2e",
  "a%2Fb",
  "%00",
  "%",
  "%E0%A4%A",
  "A",
  "a%20b",
  "%C3%BC",
  "x".repeat(33),
  "x".repeat(4000),
  "kinds",
  "__proto__",
  "constructor",
  "-",
  "a;b",
  "a%3Fb",
  "%F0%9F%98%80",
  "null",
];
/**
 * Methods besides the route's own. Not the ones workerd answers itself before
 * any Worker code runs, which test the runtime, not the gateway: names outside
 * its method list (`FOO`, lower-case `get`: 501), and `CONNECT`, which it
 * hands to a Worker's `connect()` socket handler and answers 500 without one
 * (a handler would first answer "200" and open a tunnel; test/e2e/
 * http-methods.test.ts pins that CONNECT never tunnels).
 */
export const WEIRD_METHODS = ["HEAD", "OPTIONS", "PUT", "TRACE", "PROPFIND"];
export const CONTENT_TYPES: Array<[number, string | null]> = [
  [12, "application/json"],
  [2, "application/json; charset=utf-8"],
  [1, "application/merge-patch+json"],
  [1, "APPLICATION/JSON"],
  [1, "text/plain"],
  [1, "application/x-www-form-urlencoded"],
  [1, "multipart/form-data; boundary=x"],
  [1, "application/jsonp"],
  [1, ""],
  [2, null],
];
export const AUTHS: Array<[number, AuthChoice]> = [
  [16, "admin"],
  [3, "admin-token"],
  [1, "mcp-token"],
  [1, "wrong"],
  [1, "near-admin"],
  [1, "basic"],
  [1, "lowercase"],
  [1, "empty"],
  [1, "none"],
];

export function weighted<T>(items: Array<[number, T]>): fc.Arbitrary<T> {
  return fc.oneof(...items.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

/** Bodies that are not JSON, or JSON the API never expects. */
export const junkBody: fc.Arbitrary<Body> = fc.oneof(
  fc.string({ maxLength: 60 }).map((text): Body => ({ kind: "text", text })),
  fc
    .constantFrom(
      '{"name": "x"',
      "{'name': 'x'}",
      "\uFEFF{}",
      '{"a":1,"a":2}',
      "null",
      "[]",
      '"string"',
      "1e999",
      "{}".padStart(10_000, " "),
    )
    .map((text): Body => ({ kind: "text", text })),
  fc
    .integer({ min: 1000, max: 20_000 })
    .map((depth): Body => ({ kind: "text", text: `${"[".repeat(depth)}${"]".repeat(depth)}` })),
  fc.jsonValue({ maxDepth: 3 }).map((value): Body => ({ kind: "json", value })),
);
