/**
 * The OAuth issuers whose JWT access tokens the gateway accepts (resource
 * server, MCP basic/authorization), from the `OAUTH_ISSUERS` variable: a JSON
 * array, validated with zod once per isolate and value. Deployment
 * configuration rather than D1 rows: which identity providers to trust is the
 * operator's decision, changed with `wrangler secret put`/vars like the admin
 * token, and it must be readable before any config snapshot exists.
 *
 * An invalid value trusts no issuer (logged once, never echoed): a typo must
 * fail closed, not open.
 */
import { z } from "zod";
import { ROLES } from "../../config/schema";

/** Asymmetric JWS algorithms only: `none` and HMAC (a shared secret) are never accepted. */
export const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;

const Slug = z.string().regex(/^[a-z0-9-]{1,32}$/);
const HttpsOrLocalUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** One claim value's meaning: a role in a team, or `platform_admin` (then no team). */
const Mapping = z.strictObject({ team: Slug.nullable().optional(), role: z.enum(ROLES) });

/** One trusted issuer. */
export const IssuerSchema = z.strictObject({
  /** Short id used in subjects (`oauth:<name>:<sub>`) and logs. */
  name: Slug,
  /** The exact `iss` value. */
  issuer: HttpsOrLocalUrl,
  /** JWKS location; without it, discovered from the issuer's metadata (OIDC, then RFC 8414). */
  jwksUri: HttpsOrLocalUrl.optional(),
  /**
   * Required `aud` instead of the endpoint's resource identifier, for
   * providers that cannot issue RFC 8707 audiences. Such a token is good for
   * every endpoint of this gateway, so prefer the default.
   */
  audience: z.string().min(1).max(512).optional(),
  algorithms: z.array(z.enum(ALGORITHMS)).min(1).max(10).default(["RS256", "ES256"]),
  /** Leeway for `exp`/`nbf`, seconds. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
  /** The claim naming the user for `user_patterns` (default preferred_username, then email, then sub). */
  usernameClaim: z.string().min(1).max(64).optional(),
  /** The claim (dot path) whose value(s) map to teams, e.g. `groups`. */
  teamsClaim: z.string().min(1).max(64).optional(),
  /** Claim value → team and role. */
  teams: z.record(z.string().min(1).max(256), Mapping).optional(),
  /** Scopes every valid token of this issuer gets, for providers that issue none. */
  grantScopes: z
    .array(z.enum(["mcp", "admin"]))
    .max(2)
    .optional(),
});

export type IssuerConfig = z.infer<typeof IssuerSchema>;

const IssuersSchema = z
  .array(IssuerSchema)
  .max(16)
  .refine((a) => new Set(a.map((i) => i.name)).size === a.length, "issuer names must be unique")
  .refine((a) => new Set(a.map((i) => i.issuer)).size === a.length, "issuer URLs must be unique");

let parsed: { raw: string; issuers: readonly IssuerConfig[] } | undefined;

/** The configured issuers (empty when unset or invalid). */
export function configuredIssuers(raw: string | undefined): readonly IssuerConfig[] {
  if (!raw) return [];
  if (parsed?.raw === raw) return parsed.issuers;
  let issuers: readonly IssuerConfig[] = [];
  try {
    const result = IssuersSchema.safeParse(JSON.parse(raw));
    if (result.success) issuers = result.data;
    else console.error("OAUTH_ISSUERS is invalid; no issuer is trusted", result.error.issues.slice(0, 5));
  } catch {
    console.error("OAUTH_ISSUERS is not JSON; no issuer is trusted");
  }
  parsed = { raw, issuers };
  return issuers;
}
