/**
 * `/api/teams`: teams, their explicit members and roles. Platform admins
 * create, rename and delete teams; a team's admins manage its members;
 * members read their own teams. Membership also comes from an API token's
 * `team`/`role` and from a JWT claim mapped per issuer; this is the explicit
 * list (for OAuth subjects `oauth:<issuer>:<sub>` and token ids).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { hasRole } from "../auth/access";
import { database } from "../config/db";
import { Slug } from "../config/shapes";
import {
  createTeam,
  deleteMember,
  deleteTeam,
  getTeam,
  listMembers,
  listTeams,
  putMember,
  updateTeam,
} from "../config/store/teams";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { apiRouter, commonErrors, conflict, jsonBody, jsonResponse, noContent, notFound } from "./openapi";

const tags = ["teams"];

const Team = z
  .object({ name: Slug, description: z.string(), createdAt: z.string(), updatedAt: z.string() })
  .openapi("Team");
const TeamCreate = z.strictObject({ name: Slug, description: z.string().max(500).optional() }).openapi("TeamCreate");
const TeamUpdate = z.strictObject({ description: z.string().max(500).optional() }).openapi("TeamUpdate");
const TeamRoleEnum = z.enum(["team_admin", "developer", "viewer"]);
const Member = z.object({ subject: z.string(), role: TeamRoleEnum, createdAt: z.string() }).openapi("TeamMember");
const MemberPut = z.strictObject({ role: TeamRoleEnum }).openapi("TeamMemberPut");
const TeamParam = z.object({ team: Slug.openapi({ param: { name: "team", in: "path" } }) });
const MemberParams = TeamParam.extend({
  subject: z
    .string()
    .min(1)
    .max(600)
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .openapi({ param: { name: "subject", in: "path" }, example: "oauth:corp:alice" }),
});

function forbid(message: string): never {
  throw new HttpError(403, "forbidden", message);
}

/** 404 for a team the caller is not in (as if it did not exist), 403 below `role`. */
function requireTeamRole(c: Context<AppEnv>, team: string, role: "viewer" | "team_admin"): void {
  const p = c.get("principal");
  if (p.platformAdmin) return;
  if (!hasRole(p, team, "viewer")) throw new HttpError(404, "not_found", `Team '${team}' not found`);
  if (!hasRole(p, team, role)) forbid(`Only admins of team '${team}' may do this`);
}

function requirePlatform(c: Context<AppEnv>): void {
  if (!c.get("principal").platformAdmin) forbid("Only platform admins manage teams");
}

/** Routes under /api/teams. */
export const teamRoutes = apiRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Create a team (platform admins)",
      request: { body: jsonBody(TeamCreate) },
      responses: { 201: jsonResponse(Team, "The team"), ...commonErrors, ...conflict },
    }),
    async (c) => {
      requirePlatform(c);
      return c.json(await createTeam(database(c.env.DB), c.req.valid("json")), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List the teams the caller belongs to (platform admins: all)",
      responses: { 200: jsonResponse(z.array(Team), "Teams"), ...commonErrors },
    }),
    async (c) => {
      const p = c.get("principal");
      const all = await listTeams(database(c.env.DB));
      return c.json(p.platformAdmin ? all : all.filter((t) => p.teams.has(t.name)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{team}",
      tags,
      summary: "Read a team",
      request: { params: TeamParam },
      responses: { 200: jsonResponse(Team, "The team"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { team } = c.req.valid("param");
      requireTeamRole(c, team, "viewer");
      return c.json(await getTeam(database(c.env.DB), team), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{team}",
      tags,
      summary: "Update a team's description (its admins)",
      request: { params: TeamParam, body: jsonBody(TeamUpdate) },
      responses: { 200: jsonResponse(Team, "The team"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { team } = c.req.valid("param");
      requireTeamRole(c, team, "team_admin");
      return c.json(await updateTeam(database(c.env.DB), team, c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{team}",
      tags,
      summary: "Delete a team (platform admins; 409 while it owns objects)",
      request: { params: TeamParam },
      responses: { ...noContent, ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      requirePlatform(c);
      await deleteTeam(database(c.env.DB), c.req.valid("param").team);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{team}/members",
      tags,
      summary: "List a team's explicit members",
      request: { params: TeamParam },
      responses: { 200: jsonResponse(z.array(Member), "Members"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { team } = c.req.valid("param");
      requireTeamRole(c, team, "viewer");
      return c.json(await listMembers(database(c.env.DB), team), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/{team}/members/{subject}",
      tags,
      summary: "Add a member or set its role (the team's admins)",
      request: { params: MemberParams, body: jsonBody(MemberPut) },
      responses: { 200: jsonResponse(Member, "The membership"), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { team, subject } = c.req.valid("param");
      requireTeamRole(c, team, "team_admin");
      return c.json(await putMember(database(c.env.DB), team, subject, c.req.valid("json").role), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{team}/members/{subject}",
      tags,
      summary: "Remove a member (the team's admins)",
      request: { params: MemberParams },
      responses: { ...noContent, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { team, subject } = c.req.valid("param");
      requireTeamRole(c, team, "team_admin");
      await deleteMember(database(c.env.DB), team, subject);
      return c.body(null, 204);
    },
  );
