/**
 * Teams and explicit memberships in D1. Memberships reach the request path
 * through the config snapshot, so every change bumps the config version.
 */
import { and, asc, count, eq } from "drizzle-orm";
import { HttpError } from "../../errors";
import type { Db } from "../db";
import { LIMITS } from "../limits";
import { apiTokens, backends, plugins, servers, type TeamMemberRow, type TeamRow, teamMembers, teams } from "../schema";
import { assertBelowLimit, commit, nowIso } from "./write";

/** A membership as the API shows it. */
export type MemberView = Omit<TeamMemberRow, "team">;

/** True when the team exists (one indexed read). */
export async function teamExists(db: Db, name: string): Promise<boolean> {
  return (await db.select({ name: teams.name }).from(teams).where(eq(teams.name, name)).get()) !== undefined;
}

/** Every team, by name. */
export async function listTeams(db: Db): Promise<TeamRow[]> {
  return db.select().from(teams).orderBy(asc(teams.name));
}

/** One team, or 404. */
export async function getTeam(db: Db, name: string): Promise<TeamRow> {
  const row = await db.select().from(teams).where(eq(teams.name, name)).get();
  if (!row) throw new HttpError(404, "not_found", `Team '${name}' not found`);
  return row;
}

/** Creates a team; 409 on a duplicate name or at the limit. */
export async function createTeam(db: Db, input: { name: string; description?: string }): Promise<TeamRow> {
  const [total] = await db.select({ n: count() }).from(teams);
  assertBelowLimit(total?.n ?? 0, LIMITS.teams, "team");
  const now = nowIso();
  const row: TeamRow = { name: input.name, description: input.description ?? "", createdAt: now, updatedAt: now };
  await commit(db, [db.insert(teams).values(row)], `Team '${input.name}' already exists`);
  return row;
}

/** Changes a team's description. */
export async function updateTeam(db: Db, name: string, input: { description?: string }): Promise<TeamRow> {
  const current = await getTeam(db, name);
  const row = {
    ...current,
    ...(input.description !== undefined && { description: input.description }),
    updatedAt: nowIso(),
  };
  await commit(db, [db.update(teams).set(row).where(eq(teams.name, name))], "Conflict");
  return row;
}

/** Deletes a team and its memberships; 409 while it still owns objects (nothing is orphaned silently). */
export async function deleteTeam(db: Db, name: string): Promise<void> {
  await getTeam(db, name);
  const owned = await db.batch([
    db.select({ name: backends.name }).from(backends).where(eq(backends.team, name)),
    db.select({ name: servers.name }).from(servers).where(eq(servers.team, name)),
    db.select({ name: plugins.name }).from(plugins).where(eq(plugins.team, name)),
    db.select({ name: apiTokens.name }).from(apiTokens).where(eq(apiTokens.team, name)),
  ]);
  const [b, s, p, t] = owned.map((rows) => rows.map((r) => r.name));
  if ([b, s, p, t].some((list) => (list?.length ?? 0) > 0)) {
    throw new HttpError(409, "conflict", `Team '${name}' still owns objects`, {
      backends: b,
      servers: s,
      plugins: p,
      tokens: t,
    });
  }
  await commit(
    db,
    [db.delete(teamMembers).where(eq(teamMembers.team, name)), db.delete(teams).where(eq(teams.name, name))],
    "Conflict",
  );
}

/** The team's explicit members. */
export async function listMembers(db: Db, team: string): Promise<MemberView[]> {
  await getTeam(db, team);
  const rows = await db.select().from(teamMembers).where(eq(teamMembers.team, team)).orderBy(asc(teamMembers.subject));
  return rows.map(({ team: _team, ...rest }) => rest);
}

/** Adds a member or changes its role. */
export async function putMember(
  db: Db,
  team: string,
  subject: string,
  role: TeamMemberRow["role"],
): Promise<MemberView> {
  await getTeam(db, team);
  const [total] = await db.select({ n: count() }).from(teamMembers).where(eq(teamMembers.team, team));
  const existing = await db
    .select()
    .from(teamMembers)
    .where(and(eq(teamMembers.team, team), eq(teamMembers.subject, subject)))
    .get();
  if (!existing) assertBelowLimit(total?.n ?? 0, LIMITS.membersPerTeam, "team member");
  const row: TeamMemberRow = { team, subject, role, createdAt: existing?.createdAt ?? nowIso() };
  await commit(
    db,
    [
      db
        .insert(teamMembers)
        .values(row)
        .onConflictDoUpdate({ target: [teamMembers.team, teamMembers.subject], set: { role } }),
    ],
    "Conflict",
  );
  return { subject, role, createdAt: row.createdAt };
}

/** Removes a member; 404 when it is not one. */
export async function deleteMember(db: Db, team: string, subject: string): Promise<void> {
  const where = and(eq(teamMembers.team, team), eq(teamMembers.subject, subject));
  if (!(await db.select().from(teamMembers).where(where).get())) {
    throw new HttpError(404, "not_found", `'${subject}' is not an explicit member of team '${team}'`);
  }
  await commit(db, [db.delete(teamMembers).where(where)], "Conflict");
}
