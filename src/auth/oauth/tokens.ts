/**
 * Access tokens of the built-in authorization server, on the resource side.
 * Filled in with the server (`server.ts`); until it is configured no token
 * of this shape is accepted.
 */
import type { ConfigSnapshot } from "../../config/snapshot";
import type { Principal } from "../principal";

/** The provider's token shape: `<userId>:<grantId>:<secret>`. */
const SHAPE = /^[^:\s]{1,512}:[^:\s]{1,128}:[^:\s]{1,128}$/;

/** True when `token` could be one of the built-in server's. */
export function looksLikeBuiltinToken(token: string): boolean {
  return SHAPE.test(token);
}

/** The Principal of a built-in token valid for `resource`, or null. */
export async function builtinPrincipal(
  _env: { OAUTH_KV?: KVNamespace; OAUTH_LOGIN_ISSUER?: string },
  _token: string,
  _resource: string,
  _origin: string,
  _config: ConfigSnapshot,
): Promise<Principal | null> {
  return null;
}
