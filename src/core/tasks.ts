/**
 * Task-augmented requests through the gateway (MCP 2025-11-25
 * basic/utilities/tasks, experimental). A client's `tools/call` carrying
 * `params.task` goes to the tool's backend as any call does (plugin pre hooks
 * included); the backend's `CreateTaskResult` reaches the client with its task
 * id sealed (`task-ids.ts`). `tasks/get`, `tasks/result` and `tasks/cancel`
 * open that id and go to the owning backend, in the caller's upstream session
 * there, with the backend's id; `tasks/list` walks the endpoint's backends
 * that declare `tasks.list`, one backend page per page, behind a sealed
 * cursor. Task ids in messages a backend sends (`notifications/tasks/status`,
 * the `io.modelcontextprotocol/related-task` `_meta` key) are rewritten to
 * the public form on the way to the client, wherever they are relayed
 * (`publicTaskRefs` in `task-ids.ts`).
 *
 * 2026 callers get the tasks extension instead (`task-extension.ts`), on the
 * same ids and routing.
 *
 * Post hooks never see a deferred result: a `CreateTaskResult` carries no
 * content, and `tasks/result` is answered as the backend sent it.
 */
import { keyRing } from "../auth/keys";
import { seal, unseal } from "../auth/seal";
import type { BackendConfig } from "../config/snapshot";
import { ErrorCode, type JsonRpcRequest, RpcError, resultResponse } from "../protocol/jsonrpc";
import { request as upstreamRequest } from "../upstream/http";
import { catalogs } from "./catalog";
import type { McpContext, Outcome } from "./context";
import { forward, type ResultMapper } from "./relay";
import { extensionCall, extensionTaskRequest } from "./task-extension";
import { isObject, openTaskId, publicTaskId, withRelatedTask } from "./task-ids";
import { authorizedBackend } from "./upstream-auth";

/** Backends asked for one `tasks/list` page at most (the rest is behind the next cursor). */
const LIST_BACKENDS_PER_PAGE = 8;
/** Longest `tasks/list` cursor accepted. */
const MAX_CURSOR = 2048;

type Json = Record<string, unknown>;

/**
 * The result mapper of a `tools/call`: a task-augmented call's
 * `CreateTaskResult` gets its public task id (and skips the post hooks: it is
 * not the tool's result); anything else goes through `after` as usual. A call
 * without `params.task` keeps `after` itself (no mapper: the relay may pass
 * the reply through unparsed).
 */
export function taskAware(
  ctx: McpContext,
  backend: string,
  request: JsonRpcRequest,
  after: ResultMapper | undefined,
): ResultMapper | undefined {
  if (!isObject(request.params?.task)) return after;
  return async (result) => {
    const task = result.task;
    if (!isObject(task) || typeof task.taskId !== "string") return after ? after(result) : result;
    return { ...result, task: { ...task, taskId: await publicTaskId(ctx, backend, task.taskId) } };
  };
}

/**
 * A `tools/call` about to go out: the request to send and its result mapper.
 * 2026 callers get the tasks extension (`task-extension.ts`), 2025 clients
 * the core protocol's tasks (`taskAware`).
 */
export async function taskCall(
  ctx: McpContext,
  name: string,
  backend: string,
  request: JsonRpcRequest,
  after: ResultMapper | undefined,
): Promise<{ request: JsonRpcRequest; after: ResultMapper | undefined }> {
  if (ctx.tasksExtension !== undefined) return extensionCall(ctx, name, backend, request, after);
  return { request, after: taskAware(ctx, backend, request, after) };
}

/** The context whose upstream sessions are the ones the task was created in. */
async function routedContext(ctx: McpContext, profile: string): Promise<McpContext> {
  if (profile === ctx.caller.profile || !ctx.upstreams.forProfile) return ctx;
  return { ...ctx, upstreams: await ctx.upstreams.forProfile(profile) };
}

/** `tasks/get`, `tasks/result`, `tasks/cancel` (and the extension's `tasks/update`): to the owning backend with its own id, answered with the public one. */
export async function taskRequest(ctx: McpContext, request: JsonRpcRequest): Promise<Outcome> {
  const publicId = request.params?.taskId;
  const route = await openTaskId(ctx, publicId);
  const routed = await routedContext(ctx, route.profile);
  if (ctx.tasksExtension !== undefined) return extensionTaskRequest(routed, request, route, publicId as string);
  if (request.method === "tasks/update") throw new RpcError(ErrorCode.MethodNotFound, "Method not found: tasks/update");
  const sent = { ...request, params: { ...request.params, taskId: route.taskId } };
  const mapped = async (backendId: string) =>
    backendId === route.taskId ? (publicId as string) : publicTaskId(ctx, route.backend, backendId);
  const toPublic: ResultMapper = async (result) => {
    const out: Json = { ...result };
    if (typeof out.taskId === "string") out.taskId = await mapped(out.taskId);
    if (out._meta !== undefined) out._meta = await withRelatedTask(out._meta, mapped);
    return out;
  };
  return forward(routed, route.backend, sent, toPublic);
}

interface CursorClaims {
  /** The backend the next page comes from, and its own cursor there. */
  b: string;
  c?: string;
  s: string;
  e: string;
}

async function openCursor(ctx: McpContext, cursor: unknown): Promise<CursorClaims | null> {
  if (cursor === undefined) return null;
  const invalid = new RpcError(ErrorCode.InvalidParams, "Invalid cursor");
  if (typeof cursor !== "string" || cursor.length > MAX_CURSOR) throw invalid;
  let claims: Partial<CursorClaims>;
  try {
    claims = (await unseal(cursor, await keyRing(ctx.env), "task-cursor")) as Partial<CursorClaims>;
  } catch {
    throw invalid;
  }
  const valid =
    isObject(claims) &&
    typeof claims.b === "string" &&
    (claims.c === undefined || typeof claims.c === "string") &&
    claims.s === ctx.caller.subject &&
    claims.e === ctx.endpoint.key;
  if (!valid) throw invalid;
  return claims as CursorClaims;
}

/** The endpoint's backends that declare `tasks.list`, in name order (a stable walk for cursors). */
async function listingBackends(ctx: McpContext): Promise<BackendConfig[]> {
  const { catalogs: found } = await catalogs(ctx.env, ctx.endpoint.backends, ctx.caller.profile, ctx.defer);
  return [...ctx.endpoint.backends]
    .filter((b) => {
      const tasks = found.get(b.name)?.capabilities.tasks;
      return isObject(tasks) && tasks.list !== undefined;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * `tasks/list`: the caller's tasks on every task-listing backend, one
 * backend's page at a time. A backend that fails is skipped (its tasks are
 * still reachable by id); the cursor is sealed, bound to the caller and
 * endpoint, and names where the walk goes on.
 */
export async function listTasks(ctx: McpContext, request: JsonRpcRequest): Promise<Outcome> {
  const from = await openCursor(ctx, request.params?.cursor);
  const backends = await listingBackends(ctx);
  let index = from ? backends.findIndex((b) => b.name === from.b) : 0;
  if (index < 0) throw new RpcError(ErrorCode.InvalidParams, "Invalid cursor");
  let backendCursor = from?.c;
  const tasks: Json[] = [];
  let next: CursorClaims | undefined;
  for (let asked = 0; index < backends.length; asked++) {
    const backend = backends[index] as BackendConfig;
    if (asked === LIST_BACKENDS_PER_PAGE || tasks.length > 0) {
      next = { b: backend.name, s: ctx.caller.subject, e: ctx.endpoint.key };
      break;
    }
    const page = await backendPage(ctx, backend, backendCursor);
    for (const task of page.tasks) tasks.push(task);
    if (page.nextCursor !== undefined) {
      next = { b: backend.name, c: page.nextCursor, s: ctx.caller.subject, e: ctx.endpoint.key };
      break;
    }
    index += 1;
    backendCursor = undefined;
  }
  const result: Json = { tasks };
  if (next) result.nextCursor = await seal(next, await keyRing(ctx.env), "task-cursor");
  return { kind: "json", body: resultResponse(request.id, ctx.era.result("tasks/list", result)) };
}

/** One page of a backend's `tasks/list`, with public ids; a failing backend gives an empty last page. */
async function backendPage(
  ctx: McpContext,
  configured: BackendConfig,
  cursor: string | undefined,
): Promise<{ tasks: Json[]; nextCursor?: string }> {
  try {
    // With the caller's upstream token, as the calls that created the tasks had it (upstream-auth.ts).
    const backend = await authorizedBackend(ctx, configured, { quiet: true });
    const reply = await upstreamRequest(
      backend,
      "tasks/list",
      cursor === undefined ? {} : { cursor },
      await ctx.upstreams.open(backend),
    );
    if (!("result" in reply) || !Array.isArray(reply.result.tasks)) return { tasks: [] };
    const tasks: Json[] = [];
    for (const task of reply.result.tasks.slice(0, 1000)) {
      if (!isObject(task) || typeof task.taskId !== "string") continue;
      tasks.push({ ...task, taskId: await publicTaskId(ctx, backend.name, task.taskId) });
    }
    const nextCursor = reply.result.nextCursor;
    return typeof nextCursor === "string" && nextCursor.length <= MAX_CURSOR ? { tasks, nextCursor } : { tasks };
  } catch {
    return { tasks: [] };
  }
}
