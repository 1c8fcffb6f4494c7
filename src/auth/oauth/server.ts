/**
 * The built-in OAuth 2.1 authorization server, for teams without an identity
 * provider in front of the gateway, on `@cloudflare/workers-oauth-provider`
 * (the Workers library for this; its role-based `OAuthAuthorizationServer`):
 * metadata (RFC 8414, with RFC 9207 `iss` on redirects), dynamic client
 * registration, authorization code with PKCE S256 only, tokens bound to one
 * resource (RFC 8707: `/mcp`, `/servers/<name>/mcp` or `/api`), refresh-token
 * rotation and revocation (RFC 7009, at the token endpoint). Clients, grants
 * and tokens live in the `OAUTH_KV` namespace; nothing here touches D1.
 *
 * The library's own Client ID Metadata Document support is off: it fetches
 * documents only with the `global_fetch_strictly_public` compatibility flag,
 * which would also stop the gateway from reaching backends on private
 * addresses (local development, `ALLOW_PRIVATE_BACKENDS`). The gateway
 * resolves them itself (`cimd.ts`) and hands the library a client it knows.
 *
 * Users sign in at an upstream OpenID Connect provider (`login.ts`); the
 * grant's props carry who they are.
 */
import { OAuthAuthorizationServer } from "@cloudflare/workers-oauth-provider";
import type { ConfigSnapshot } from "../../config/snapshot";
import { LruMap } from "../../util/lru";
import type { Principal, Scope, TeamRole } from "../principal";
import { resourceId, resourcePath } from "./resource";

/** What a grant remembers about the user (encrypted by the library). */
export interface GrantProps {
  subject: string;
  name: string;
  teams: Array<[string, TeamRole]>;
  platformAdmin: boolean;
}

/** Access tokens live an hour; refresh tokens 30 days, rotated on use. */
const ACCESS_TTL_S = 3600;
const REFRESH_TTL_S = 30 * 86_400;

/** The paths the server answers on. */
export const AS_PATHS = {
  authorize: "/authorize",
  token: "/oauth/token",
  register: "/oauth/register",
  callback: "/oauth/callback",
} as const;

const servers = new LruMap<string, OAuthAuthorizationServer<AsEnv>>(8);

/** The environment the library needs. */
export interface AsEnv {
  OAUTH_KV: KVNamespace;
}

/** Every resource this gateway serves: `/mcp`, `/api` and each virtual server. */
export function declaredResources(origin: string, config: ConfigSnapshot): string[] {
  return [
    resourceId(origin, resourcePath(null)),
    resourceId(origin, resourcePath(null, "api")),
    ...[...config.servers.keys()].sort().map((name) => resourceId(origin, resourcePath(name))),
  ];
}

/**
 * The server for this origin and set of virtual servers (the library fixes
 * its resources at construction). Cheap to build; a few are kept.
 */
export function authorizationServer(origin: string, config: ConfigSnapshot): OAuthAuthorizationServer<AsEnv> {
  const resources = declaredResources(origin, config);
  const key = `${origin}\n${resources.join("\n")}`;
  let server = servers.get(key);
  if (!server) {
    server = new OAuthAuthorizationServer<AsEnv>({
      issuer: origin,
      authorizeEndpoint: `${origin}${AS_PATHS.authorize}`,
      tokenEndpoint: `${origin}${AS_PATHS.token}`,
      clientRegistrationEndpoint: `${origin}${AS_PATHS.register}`,
      resources,
      defaultResource: resources[0],
      scopesSupported: ["mcp", "admin"],
      accessTokenTTL: ACCESS_TTL_S,
      refreshTokenTTL: REFRESH_TTL_S,
      clientIdMetadataDocumentEnabled: false,
    });
    servers.set(key, server);
  }
  return server;
}

/**
 * The Principal of a built-in access token valid for `resource`, or null
 * (unknown, expired, revoked, or for another resource). Explicit team
 * memberships from D1 (the snapshot) are added to those the login mapped.
 */
export async function builtinTokenPrincipal(
  env: AsEnv,
  token: string,
  resource: string,
  origin: string,
  config: ConfigSnapshot,
): Promise<Principal | null> {
  let validated: Awaited<ReturnType<OAuthAuthorizationServer<AsEnv>["validateToken"]>> | null;
  try {
    validated = await authorizationServer(origin, config).validateToken<GrantProps>(resource, token, env);
  } catch {
    // A resource the server does not declare (a deleted virtual server) or a malformed token.
    return null;
  }
  if (!validated) return null;
  const props = validated.props as GrantProps;
  const teams = new Map<string, TeamRole>(props.teams);
  for (const [team, role] of config.members?.get(props.subject) ?? []) if (!teams.has(team)) teams.set(team, role);
  const scopes = validated.scope.filter((s): s is Scope => s === "mcp" || s === "admin");
  return {
    kind: "oauth",
    subject: props.subject,
    name: props.name,
    tokenId: null,
    scopes,
    servers: null,
    platformAdmin: props.platformAdmin,
    teams,
  };
}
