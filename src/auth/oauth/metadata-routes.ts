/**
 * RFC 9728 protected resource metadata: `GET /.well-known/oauth-protected-resource`
 * (the `/mcp` endpoint's) and the path-inserted forms for `/mcp`,
 * `/servers/<name>/mcp` and `/api`. This is where an MCP client that got a
 * 401 (the Inspector, a remote connector) finds which authorization servers
 * to use and which `resource` to ask a token for. Public, cacheable, and
 * readable cross-origin (browser-based clients fetch it).
 */
import { Hono } from "hono";
import { loadConfig } from "../../config/middleware";
import type { AppEnv } from "../../env";
import { HttpError } from "../../errors";
import { gatewayOrigin, protectedResourceMetadata, resourcePath } from "./resource";

const HEADERS = {
  "access-control-allow-origin": "*",
  "cache-control": "public, max-age=300",
};

/** The metadata routes. */
export function metadataRoutes() {
  const app = new Hono<AppEnv>();
  const answer = (path: string) => (c: import("hono").Context<AppEnv>) =>
    c.json(protectedResourceMetadata(c.env, gatewayOrigin(c.env, c.req.url), path), 200, HEADERS);
  const base = "/.well-known/oauth-protected-resource";
  app.get(base, answer("/mcp"));
  app.get(`${base}/mcp`, answer("/mcp"));
  app.get(`${base}/api`, answer("/api"));
  app.get(`${base}/servers/:name/mcp`, loadConfig(), (c) => {
    const name = c.req.param("name");
    if (!c.get("config").servers.has(name)) throw new HttpError(404, "not_found", `Unknown server '${name}'`);
    return answer(resourcePath(name))(c);
  });
  app.options(
    `${base}/*`,
    () =>
      new Response(null, {
        status: 204,
        headers: { ...HEADERS, "access-control-allow-methods": "GET", "access-control-allow-headers": "*" },
      }),
  );
  app.options(
    base,
    () =>
      new Response(null, {
        status: 204,
        headers: { ...HEADERS, "access-control-allow-methods": "GET", "access-control-allow-headers": "*" },
      }),
  );
  return app;
}
