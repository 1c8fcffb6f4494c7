/**
 * Ownership decisions of the admin API that need the caller (`auth/access.ts`
 * holds the rules): which team a new object belongs to, and its owner and
 * default visibility. Checks on existing objects are the guard's
 * (`guard.ts`), so route handlers stay as they were.
 */
import type { Context } from "hono";
import { canCreateIn, defaultTeam } from "../auth/access";
import { database } from "../config/db";
import type { Ownership } from "../config/store/backends";
import { teamExists } from "../config/store/teams";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";

/**
 * The team a new object gets: the one asked for, else the caller's default
 * (`defaultTeam`). 400 for a team that does not exist, 403 when the caller
 * may not create objects there (or platform-owned ones).
 */
export async function creationTeam(c: Context<AppEnv>, requested: string | null | undefined): Promise<string | null> {
  const principal = c.get("principal");
  const team = requested === undefined ? defaultTeam(principal) : requested;
  if (team !== null && !(await teamExists(database(c.env.DB), team))) {
    throw new HttpError(400, "validation_failed", "Invalid request", [
      { path: "team", message: `unknown team '${team}'` },
    ]);
  }
  if (!canCreateIn(principal, team)) {
    throw new HttpError(
      403,
      "forbidden",
      team === null
        ? "Only platform admins create objects without a team; name a team you administer"
        : `You are not a team admin of '${team}'`,
    );
  }
  return team;
}

/** Ownership of a new backend or virtual server created by this caller. */
export async function ownershipFor(
  c: Context<AppEnv>,
  input: { team?: string | null; visibility?: Ownership["visibility"] },
): Promise<Ownership> {
  const team = await creationTeam(c, input.team);
  return { team, owner: c.get("principal").subject, visibility: input.visibility ?? (team ? "team" : "public") };
}
