/**
 * Ownership in a configuration import (`config-import.ts`): the `teams`
 * section (teams with their explicit members) and the checks that every
 * object's team exists once the import is applied. Kept apart so each import
 * module stays small.
 */
import type { TeamMemberRow, TeamRow } from "../config/schema";
import type { FieldIssue } from "../errors";
import type { ConfigDoc } from "./config-document";

/** What an import does to the teams section (same shape as the other sections). */
export interface TeamChanges {
  created: string[];
  updated: Array<{ name: string; fields: string[] }>;
  deleted: string[];
  unchanged: number;
}

/** The stored teams and memberships an import starts from. */
export interface StoredTeams {
  teams: TeamRow[];
  members: TeamMemberRow[];
}

const memberKey = (m: { subject: string; role: string }) => `${m.subject}=${m.role}`;

/**
 * Plans the teams section. Absent, stored teams are left alone (even in
 * `replace` mode: a version-1 document knows nothing of teams and must not
 * delete them). Present, each listed team's description and member list
 * become the document's; `replace` deletes unlisted teams.
 */
export function planTeams(
  doc: ConfigDoc,
  stored: StoredTeams,
  mode: "merge" | "replace",
  now: string,
): { changes: TeamChanges; put: TeamRow[]; members: TeamMemberRow[]; finalNames: Set<string> } {
  const changes: TeamChanges = { created: [], updated: [], deleted: [], unchanged: 0 };
  const put: TeamRow[] = [];
  const members: TeamMemberRow[] = [];
  const storedNames = stored.teams.map((t) => t.name);
  if (!doc.teams) return { changes, put, members, finalNames: new Set(storedNames) };
  const byName = new Map(stored.teams.map((t) => [t.name, t]));
  for (const entry of doc.teams) {
    const before = byName.get(entry.name);
    const description = entry.description ?? "";
    const wantedMembers = entry.members ?? [];
    const fields: string[] = [];
    if (before) {
      if (before.description !== description) fields.push("description");
      const had = stored.members
        .filter((m) => m.team === entry.name)
        .map(memberKey)
        .sort();
      const wants = wantedMembers.map(memberKey).sort();
      if (had.join("\n") !== wants.join("\n")) fields.push("members");
      if (fields.length === 0) {
        changes.unchanged++;
        continue;
      }
      changes.updated.push({ name: entry.name, fields });
    } else changes.created.push(entry.name);
    put.push({ name: entry.name, description, createdAt: before?.createdAt ?? now, updatedAt: now });
    for (const m of wantedMembers) {
      const kept = stored.members.find((s) => s.team === entry.name && s.subject === m.subject);
      members.push({ team: entry.name, subject: m.subject, role: m.role, createdAt: kept?.createdAt ?? now });
    }
  }
  const listed = new Set(doc.teams.map((t) => t.name));
  if (mode === "replace") changes.deleted = storedNames.filter((n) => !listed.has(n));
  const finalNames = new Set(mode === "replace" ? listed : [...listed, ...storedNames]);
  return { changes, put, members, finalNames };
}

/** A member subject listed twice in one team is a 400 (the stored list is keyed by team and subject). */
export function duplicateMembers(doc: ConfigDoc): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [i, team] of (doc.teams ?? []).entries()) {
    const seen = new Set<string>();
    for (const [j, m] of (team.members ?? []).entries()) {
      if (seen.has(m.subject))
        issues.push({ path: `teams.${i}.members.${j}.subject`, message: `repeats '${m.subject}'` });
      seen.add(m.subject);
    }
  }
  return issues;
}

/** 400s for objects owned by a team that will not exist, and for token roles that contradict their team. */
export function ownershipIssues(doc: ConfigDoc, teams: ReadonlySet<string>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const check = (section: string, i: number, team: string | null | undefined) => {
    if (team && !teams.has(team)) issues.push({ path: `${section}.${i}.team`, message: `unknown team '${team}'` });
  };
  for (const [i, b] of doc.backends.entries()) check("backends", i, b.team);
  for (const [i, s] of doc.servers.entries()) check("servers", i, s.team);
  for (const [i, p] of doc.plugins.entries()) check("plugins", i, p.team);
  doc.tokens.forEach((t, i) => {
    check("tokens", i, t.team);
    // The same rule as POST /api/tokens: platform_admin tokens have no team, team roles need one.
    if (t.role === "platform_admin" && t.team) {
      issues.push({ path: `tokens.${i}.role`, message: "platform_admin tokens have no team" });
    } else if (t.role && t.role !== "platform_admin" && !t.team) {
      issues.push({ path: `tokens.${i}.role`, message: "a team role needs a team" });
    }
  });
  return issues;
}
