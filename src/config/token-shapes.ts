/**
 * API tokens as the admin API takes and shows them (`/api/tokens`; README,
 * "Tokens"): scopes, server limits, expiry, team and role. The secret itself
 * is shown once, on creation, and stored only as its hash.
 */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "./limits";
import { ROLES } from "./schema";
import { NameList, Slug } from "./shapes";

/** What a token may be used for: MCP calls, the admin API, or both. */
export const Scope = z.enum(["mcp", "admin"]);

export const TokenCreate = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w.@-]+$/, "must be letters, digits, _ . @ -"),
    scopes: z
      .array(Scope)
      .min(1)
      .refine((a) => new Set(a).size === a.length, "must not repeat scopes"),
    servers: NameList(LIMITS.servers)
      .optional()
      .openapi({ description: "Servers this token may use over MCP; omitted = every server and /mcp" }),
    expiresAt: z.iso
      .datetime({ offset: true })
      .refine((d) => Date.parse(d) > Date.now(), "must be in the future")
      .optional(),
    team: Slug.optional().openapi({
      description: "The team the token acts for (default: the creator's team, if it administers one)",
    }),
    role: z.enum(ROLES).optional().openapi({
      description:
        "Its role in `team`, or platform_admin (platform admins only). Default: developer with a team; without a team, platform_admin when scopes include admin",
    }),
  })
  .openapi("TokenCreate");

export const Token = z
  .object({
    id: z.string(),
    name: z.string(),
    tokenPrefix: z.string().openapi({ description: "First characters of the secret, to recognise it" }),
    scopes: z.array(Scope),
    servers: z.array(z.string()).nullable(),
    expiresAt: z.string().nullable(),
    team: z.string().nullable(),
    role: z.enum(ROLES).nullable(),
    createdAt: z.string(),
  })
  .openapi("Token");

export const TokenCreated = Token.extend({
  token: z.string().openapi({ description: "The secret. Shown once; only its hash is stored." }),
}).openapi("TokenCreated");
