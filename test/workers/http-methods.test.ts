// Unusual HTTP methods: those workerd delivers to fetch get a JSON 404 from the Worker; CONNECT never reaches it.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN } from "./helpers";

const PATHS = [
  "/",
  "/health",
  "/mcp",
  "/servers/x/mcp",
  "/sse",
  "/messages",
  "/servers/x/sse",
  "/api/backends",
  "/api/backends/x",
  "/metrics",
  "/nowhere",
];

describe("unusual HTTP methods", () => {
  it.each(["TRACE", "PROPFIND", "MKCOL", "PURGE"])("%s is a JSON 404 or 405 on every path", async (method) => {
    for (const path of PATHS) {
      const res = await exports.default.fetch(`http://gateway.test${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const text = await res.text();
      expect([404, 405], `${method} ${path}: ${res.status} ${text}`).toContain(res.status);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(JSON.parse(text)).toHaveProperty("error.code");
    }
  });

  // workerd hands CONNECT to a `connect()` socket handler, never to `fetch`, and its Request type
  // cannot even carry CONNECT or unregistered tokens: test/e2e/http-methods.test.ts covers them
  // on the wire.
  it.each(["CONNECT", "TRACK", "X-CUSTOM"])("%s cannot reach the fetch handler", (method) => {
    expect(() => new Request("http://gateway.test/", { method })).toThrow(TypeError);
  });
});
