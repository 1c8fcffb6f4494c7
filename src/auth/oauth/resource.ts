/**
 * The gateway as an OAuth protected resource (RFC 9728, MCP
 * basic/authorization): each MCP endpoint and the admin API is a resource
 * with its own identifier, its metadata document at the path-inserted
 * well-known URL, and the `WWW-Authenticate` challenges that point clients
 * (the MCP Inspector, remote connectors) at that document.
 */
import { LruMap } from "../../util/lru";
import { configuredIssuers } from "./issuers";

/** What the resource side reads from the environment. */
export interface ResourceEnv {
  /** Canonical public origin, e.g. `https://mcp.example.com` (else the request's own origin). */
  PUBLIC_URL?: string;
  OAUTH_ISSUERS?: string;
  /** Set when the built-in authorization server is configured (`oauth/server.ts`). */
  OAUTH_LOGIN_ISSUER?: string;
  OAUTH_KV?: unknown;
}

/** Scopes the gateway understands: `mcp` for the MCP endpoints, `admin` for the admin API. */
export const SCOPES_SUPPORTED = ["mcp", "admin"] as const;

/**
 * The origin resource identifiers are built on. `PUBLIC_URL` when set (the
 * RFC 8707 audience must not depend on a Host header a client chose);
 * otherwise the request's origin, which on Cloudflare is a host routed to
 * this Worker.
 */
export function gatewayOrigin(env: ResourceEnv, requestUrl: string): string {
  // an invalid PUBLIC_URL falls back to the request
  return (env.PUBLIC_URL && originOf(env.PUBLIC_URL)) || (originOf(requestUrl) ?? "null");
}

/**
 * Origins by the URL's text up to its path's first "/" (scheme and the whole
 * authority, so the key decides the origin). Every MCP request needs its
 * origin twice (auth challenge, links) and a URL parse each time was ~18 µs
 * of a call (issue 15); the Host is the client's choice, hence the bound.
 */
const origins = new LruMap<string, string | null>(64);

function originOf(url: string): string | null {
  const end = url.indexOf("/", url.indexOf("//") + 2);
  const key = end === -1 ? url : url.slice(0, end);
  let origin = origins.get(key);
  if (origin === undefined) {
    try {
      origin = new URL(url).origin;
    } catch {
      origin = null;
    }
    origins.set(key, origin);
  }
  return origin;
}

/** The path of a protected endpoint: `/mcp`, `/servers/<name>/mcp`, or `/api`. */
export function resourcePath(server: string | null, kind: "mcp" | "api" = "mcp"): string {
  if (kind === "api") return "/api";
  return server === null ? "/mcp" : `/servers/${server}/mcp`;
}

/** RFC 8707 resource identifier of an endpoint. */
export function resourceId(origin: string, path: string): string {
  return `${origin}${path}`;
}

/** RFC 9728 §3.1: the metadata URL, `/.well-known/oauth-protected-resource` inserted before the path. */
export function metadataUrl(origin: string, path: string): string {
  return `${origin}/.well-known/oauth-protected-resource${path}`;
}

/** True when the built-in authorization server is configured. */
export function builtinServerEnabled(env: ResourceEnv): boolean {
  return Boolean(env.OAUTH_LOGIN_ISSUER && env.OAUTH_KV);
}

/** The authorization servers a client may use for this gateway: the built-in one first, then each trusted issuer. */
export function authorizationServers(env: ResourceEnv, origin: string): string[] {
  const servers = builtinServerEnabled(env) ? [origin] : [];
  for (const i of configuredIssuers(env.OAUTH_ISSUERS)) servers.push(i.issuer);
  return servers;
}

/** The RFC 9728 metadata document of the resource at `path`. */
export function protectedResourceMetadata(env: ResourceEnv, origin: string, path: string): Record<string, unknown> {
  return {
    resource: resourceId(origin, path),
    authorization_servers: authorizationServers(env, origin),
    scopes_supported: path === "/api" ? ["admin"] : ["mcp"],
    bearer_methods_supported: ["header"],
    resource_name: path === "/api" ? "MCP gateway admin API" : `MCP gateway ${path}`,
  };
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "")}"`;
}

/**
 * `WWW-Authenticate` for a 401 (no or bad token; RFC 6750 §3 with RFC 9728
 * §5.1's `resource_metadata`) or a 403 (`insufficient_scope`).
 */
export function bearerChallenge(
  origin: string,
  path: string,
  scope: string,
  error?: "invalid_token" | "insufficient_scope",
  description?: string,
): string {
  const parts = [`resource_metadata=${quoted(metadataUrl(origin, path))}`, `scope=${quoted(scope)}`];
  if (error) parts.unshift(`error=${quoted(error)}`);
  if (description) parts.push(`error_description=${quoted(description)}`);
  return `Bearer ${parts.join(", ")}`;
}
