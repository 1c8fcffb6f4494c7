/**
 * The configuration as one versioned JSON document (README, "Configuration
 * as code"): what `GET /api/config/export` writes and
 * `POST /api/config/import` reads, published in the OpenAPI document as
 * `ConfigDocument`.
 *
 * Never a secret: header values of backends and webhook plugins are
 * references (`{"secretRef": "MCPGW_BACKEND_GITHUB_AUTHORIZATION"}`), which
 * `npm run config -- apply` fills in from its environment; a reference that
 * reaches the gateway unfilled keeps the value the gateway already stores.
 * API tokens carry their metadata and the SHA-256 of their secret (the
 * secret itself is never stored anywhere), so a document can move tokens
 * between environments without reissuing them.
 */
import { z } from "@hono/zod-openapi";
import { LIMITS } from "../config/limits";
import { ROLES } from "../config/schema";
import { BackendCreate, HeaderName, HeaderValue, NameList, REDACTED, ServerCreate, Slug } from "../config/shapes";
import { TokenCreate } from "../config/token-shapes";
import { PluginCreate } from "./plugins";

/**
 * The schema version this gateway writes and the newest it reads. Version 2
 * added ownership (teams, owners, visibility, token roles) and the `teams`
 * section; version 1 documents still import (objects without `team` are
 * platform-owned, as before teams existed).
 */
export const CONFIG_SCHEMA_VERSION = 2;

/** Who created an object (`owner` of a private backend or server): an API token id or `oauth:<issuer>:<sub>`. */
const Subject = z
  .string()
  .min(1)
  .max(600)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

const DocMember = z.strictObject({ subject: Subject, role: z.enum(["team_admin", "developer", "viewer"]) });

const DocTeam = z.strictObject({
  name: Slug,
  description: z.string().max(500).optional(),
  members: z
    .array(DocMember)
    .max(LIMITS.membersPerTeam)
    .optional()
    .openapi({ description: "Explicit members (token ids, OAuth subjects); replaces the stored list" }),
});

/** A reference to a secret held outside the document (an environment variable of the CLI). */
export const SecretRef = z
  .strictObject({
    secretRef: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,127}$/, "must be an environment variable name (A-Z, 0-9, _)")
      .openapi({ example: "MCPGW_BACKEND_GITHUB_AUTHORIZATION" }),
  })
  .openapi("SecretRef", { description: "Filled in by `npm run config -- apply` from its environment" });

const DocHeaders = z
  .record(HeaderName, z.union([HeaderValue, SecretRef]))
  .refine((h) => Object.keys(h).length <= LIMITS.headersPerBackend, `at most ${LIMITS.headersPerBackend} headers`);

const owner = Subject.nullable().optional().openapi({ description: "The subject that created it (private objects)" });

// Upstream OAuth settings are managed through /api/backends only (the client secret has no
// secret-reference form yet); an applied document keeps what a backend has.
const DocBackend = BackendCreate.omit({ auth: true }).extend({
  headers: DocHeaders.optional().openapi({ description: "Values are secret references (or, discouraged, literals)" }),
  owner,
});

const DocServer = ServerCreate.extend({
  backends: ServerCreate.shape.backends.unwrap().nullable().optional(),
  tools: ServerCreate.shape.tools.unwrap().nullable().optional(),
  owner,
});

const DocToken = z.strictObject({
  id: z
    .string()
    .regex(/^[\w-]{1,64}$/)
    .openapi({ example: "tok_AbCdEf012345" }),
  name: TokenCreate.shape.name,
  tokenPrefix: z
    .string()
    .regex(/^[\w-]{1,32}$/)
    .openapi({ description: "First characters of the secret, to recognise it" }),
  tokenSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits")
    .openapi({ description: "SHA-256 of the secret (hex); the secret itself is never stored or exported" }),
  scopes: TokenCreate.shape.scopes,
  servers: NameList(LIMITS.servers).nullable().optional(),
  expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  team: Slug.nullable().optional(),
  role: z.enum(ROLES).nullable().optional(),
});

const section = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const name = (item as { name?: unknown }).name;
        if (typeof name !== "string") return;
        if (seen.has(name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `repeats '${name}'` });
        seen.add(name);
      });
    });

/** The document. Sections are the desired state: in `replace` mode whatever is not listed is removed. */
export const ConfigDocument = z
  .strictObject({
    schemaVersion: z
      .number()
      .int()
      .min(1)
      .max(CONFIG_SCHEMA_VERSION, {
        error: (issue) =>
          `is ${String(issue.input)}, newer than this gateway reads (up to ${CONFIG_SCHEMA_VERSION}): upgrade the gateway first`,
      })
      .openapi({ description: `Schema version (this gateway writes ${CONFIG_SCHEMA_VERSION})` }),
    exportedAt: z.string().max(64).optional().openapi({
      description: "Free text for provenance; ignored on import (the export writes none, to stay diffable)",
    }),
    backends: section(DocBackend, LIMITS.backends),
    servers: section(DocServer, LIMITS.servers),
    plugins: section(PluginCreate, LIMITS.plugins),
    tokens: section(DocToken, LIMITS.tokens),
    teams: section(DocTeam, LIMITS.teams).optional().openapi({
      description: "Teams and their explicit members. Absent: stored teams are left alone, even in replace mode",
    }),
  })
  .openapi("ConfigDocument");

export type ConfigDoc = z.infer<typeof ConfigDocument>;
export type DocBackendEntry = z.infer<typeof DocBackend>;
export type DocServerEntry = z.infer<typeof DocServer>;
export type DocTokenEntry = z.infer<typeof DocToken>;
export type DocTeamEntry = z.infer<typeof DocTeam>;
export type DocPluginEntry = z.infer<typeof PluginCreate>;
export type DocHeaderValue = string | { secretRef: string };

/** The environment variable name an export uses for one secret header value. */
export function secretRefName(owner: "backend" | "plugin", name: string, header: string): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
  return `MCPGW_${part(owner)}_${part(name)}_${part(header)}`.slice(0, 128);
}

/** Header names with references in place of values (for export). */
export function headerRefs(
  owner: "backend" | "plugin",
  name: string,
  headerNames: readonly string[],
): Record<string, { secretRef: string }> {
  return Object.fromEntries(headerNames.map((h) => [h, { secretRef: secretRefName(owner, name, h) }]));
}

/**
 * Header values as the store takes them: literal values as they are, and
 * references that reached the gateway unfilled (and `********`) as "keep the
 * stored value", which the store resolves or refuses naming the header.
 */
export function unfilledAsKept(headers: Record<string, DocHeaderValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([h, v]) => [h, typeof v === "string" ? v : REDACTED]));
}

/** True when a value is a secret reference (`{secretRef}`). */
export function isSecretRef(value: unknown): value is { secretRef: string } {
  return (
    typeof value === "object" && value !== null && typeof (value as { secretRef?: unknown }).secretRef === "string"
  );
}
