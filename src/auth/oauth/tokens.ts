/**
 * Access tokens of the built-in authorization server, on the resource side:
 * recognised by shape, validated by the server (`server.ts`) against the
 * endpoint's resource. Without the server configured none is accepted.
 */
import type { ConfigSnapshot } from "../../config/snapshot";
import type { Principal } from "../principal";
import { builtinServerEnabled } from "./resource";
import { builtinTokenPrincipal } from "./server";

/** The library's token shape: `<userId>:<grantId>:<secret>`. */
const SHAPE = /^[^:\s]{1,512}:[^:\s]{1,128}:[^:\s]{1,128}$/;

/** True when `token` could be one of the built-in server's. */
export function looksLikeBuiltinToken(token: string): boolean {
  return SHAPE.test(token);
}

/** The Principal of a built-in token valid for `resource`, or null. */
export async function builtinPrincipal(
  env: { OAUTH_KV?: KVNamespace; OAUTH_LOGIN_ISSUER?: string },
  token: string,
  resource: string,
  origin: string,
  config: ConfigSnapshot,
): Promise<Principal | null> {
  if (!builtinServerEnabled(env) || !env.OAUTH_KV) return null;
  return builtinTokenPrincipal({ OAUTH_KV: env.OAUTH_KV }, token, resource, origin, config);
}
