/**
 * Plugin conditions (pure logic): when a plugin applies to a request.
 *
 * A plugin without conditions applies to everything its hooks see. Otherwise
 * it applies when ANY condition object matches (OR across objects), and an
 * object matches when ALL of its fields match (AND within an object). A field
 * matches when any of its patterns does.
 *
 * - `server_ids`: the backend serving the item, or the virtual server the
 *   client connected to (`/servers/<name>/mcp`).
 * - `tools`, `prompts`, `resources`: the public name (or URI) the client used,
 *   or the backend's own name for it; for a tool a server aliased, also the
 *   public name the alias stands for (so a rule on `github__search` keeps
 *   holding when a server renames that tool). These fields name an entity: an object
 *   that has any of them matches only requests for those entities (so
 *   `{tools: ["alpha__*"]}` never applies to a prompt).
 * - `user_patterns`: the API token's name (`admin` for ADMIN_TOKEN,
 *   `anonymous` on servers with `auth: "none"`, the user name of an OAuth caller).
 * - `teams`: any team the caller belongs to.
 * - `roles`: any role the caller holds (`platform_admin`, `team_admin`,
 *   `developer`, `viewer`).
 *
 * A plugin owned by a team applies only to calls to that team's backends
 * (`compile.ts`), whatever its conditions say.
 *
 * Patterns are globs: `*` is any run of characters, `?` one character (a
 * code point), everything else is literal and case-sensitive. Compiled once
 * per config version: plain names go into a Set, globs into one RE2 pattern
 * per field. RE2, not a JavaScript RegExp: a glob such as `*a*a*a*a*a*b`
 * compiled for a backtracking engine takes polynomial time in the name's
 * length (seconds for a 100-character resource URI); RE2 is linear.
 */
import { z } from "zod";
import { type LinearRegex, linearRegex, quoteLiteral } from "./regex-safety";
import type { Entity } from "./types";

const Pattern = z.string().min(1).max(256);
const PatternList = z
  .array(Pattern)
  .min(1)
  .max(100)
  .superRefine((patterns, ctx) => {
    if (patterns.length > 100) return; // already an issue; not worth compiling
    const problem = matcherProblem(patterns);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** One condition object as configured. */
export const ConditionSchema = z
  .strictObject({
    server_ids: PatternList.optional(),
    tools: PatternList.optional(),
    prompts: PatternList.optional(),
    resources: PatternList.optional(),
    user_patterns: PatternList.optional(),
    teams: PatternList.optional(),
    roles: PatternList.optional(),
  })
  .refine((c) => Object.keys(c).length > 0, "a condition needs at least one field");

export const ConditionsSchema = z.array(ConditionSchema).max(20);
export type Condition = z.infer<typeof ConditionSchema>;

/** What conditions are matched against. */
export interface MatchTarget {
  entity: Entity;
  name: string;
  original: string;
  /** A tool called by its alias (server tool overrides): the public name it stands for, matched too. */
  aliasOf?: string;
  backend: string;
  server: string | null;
  user: string;
  /** The caller's stable id (`tok_…`, `admin`, `oauth:<issuer>:<sub>`); conditions do not match it. */
  subject?: string;
  /** The caller's teams (absent: none). */
  teams?: readonly string[];
  /** The roles the caller holds in any team, and `platform_admin`. */
  roles?: readonly string[];
  /** The team owning the backend serving the item (team plugins apply only there). */
  backendTeam?: string | null;
}

/** A compiled pattern list: exact names in a Set, globs in one RE2 pattern (matched whole). */
export interface Matcher {
  exact: ReadonlySet<string>;
  glob: LinearRegex | null;
}

/** A glob in RE2 syntax: literal runs quoted, `*` and `?` as any characters (newlines included). */
function globSource(pattern: string): string {
  return pattern
    .split(/([*?])/)
    .map((part) => (part === "*" ? "(?s:.*)" : part === "?" ? "(?s:.)" : part && quoteLiteral(part)))
    .join("");
}

/** Compiles a pattern list (throws only if RE2 finds it too large; the schemas check that). */
export function compileMatcher(patterns: readonly string[]): Matcher {
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const p of patterns) {
    if (p.includes("*") || p.includes("?")) globs.push(globSource(p));
    else exact.add(p);
  }
  return { exact, glob: globs.length ? linearRegex(globs.map((g) => `(?:${g})`).join("|")) : null };
}

/** A zod refinement message when a pattern list cannot be compiled, else null. */
export function matcherProblem(patterns: readonly string[]): string | null {
  try {
    compileMatcher(patterns);
    return null;
  } catch {
    return "are too many or too long to compile";
  }
}

/** True when `value` matches the list (a glob must match the whole value). */
export function matches(m: Matcher, value: string): boolean {
  return m.exact.has(value) || m.glob?.testExact(value) === true;
}

interface CompiledCondition {
  servers: Matcher | null;
  users: Matcher | null;
  teams: Matcher | null;
  roles: Matcher | null;
  /** Per entity: null = the object names no entity (any applies); undefined key = this entity does not match. */
  entities: Partial<Record<Entity, Matcher>> | null;
}

/** Compiled conditions; null means "always applies". */
export type CompiledConditions = readonly CompiledCondition[] | null;

/** Compiles stored conditions (already validated); empty or null means always. */
export function compileConditions(conditions: readonly Condition[] | null | undefined): CompiledConditions {
  if (!conditions || conditions.length === 0) return null;
  return conditions.map((c) => {
    const named = c.tools || c.prompts || c.resources;
    return {
      servers: c.server_ids ? compileMatcher(c.server_ids) : null,
      users: c.user_patterns ? compileMatcher(c.user_patterns) : null,
      teams: c.teams ? compileMatcher(c.teams) : null,
      roles: c.roles ? compileMatcher(c.roles) : null,
      entities: named
        ? {
            ...(c.tools && { tool: compileMatcher(c.tools) }),
            ...(c.prompts && { prompt: compileMatcher(c.prompts) }),
            ...(c.resources && { resource: compileMatcher(c.resources) }),
          }
        : null,
    };
  });
}

function conditionMatches(c: CompiledCondition, t: MatchTarget): boolean {
  if (c.servers && !matches(c.servers, t.backend) && !(t.server !== null && matches(c.servers, t.server))) {
    return false;
  }
  if (c.users && !matches(c.users, t.user)) return false;
  if (c.teams && !(t.teams ?? []).some((team) => matches(c.teams as Matcher, team))) return false;
  if (c.roles && !(t.roles ?? []).some((role) => matches(c.roles as Matcher, role))) return false;
  if (c.entities) {
    const m = c.entities[t.entity];
    if (!m || (!matches(m, t.name) && !matches(m, t.original) && !(t.aliasOf && matches(m, t.aliasOf)))) {
      return false;
    }
  }
  return true;
}

/** True when the plugin applies to the target (OR across condition objects). */
export function appliesTo(conditions: CompiledConditions, target: MatchTarget): boolean {
  if (conditions === null) return true;
  for (const c of conditions) if (conditionMatches(c, target)) return true;
  return false;
}
