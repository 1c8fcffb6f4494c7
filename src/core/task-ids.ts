/**
 * Public task ids (MCP 2025-11-25 basic/utilities/tasks; the 2026
 * `io.modelcontextprotocol/tasks` extension). A backend's task id means
 * something only to that backend, in the upstream session that created it,
 * and only to the caller that created it. The gateway hands the client a
 * sealed id instead: AES-GCM over (backend, backend task id, caller,
 * endpoint, capability profile) with the deployment's key ring, so any
 * isolate can route `tasks/*` with no shared state, and an id the gateway did
 * not issue, or issued to another caller or endpoint, opens to nothing
 * (treated as forged: -32602, never a 5xx). Sealing is stable (a synthetic
 * IV), so the same task always has the same public id: in the creation
 * result, in `tasks/list`, and in status notifications.
 */
import { keyRing } from "../auth/keys";
import { seal, unseal } from "../auth/seal";
import { ErrorCode, RpcError } from "../protocol/jsonrpc";
import { LruMap } from "../util/lru";
import type { McpContext } from "./context";

/** The `_meta` key that ties a message or result to a task (basic/utilities/tasks). */
export const RELATED_TASK = "io.modelcontextprotocol/related-task";

type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Longest public task id accepted (a sealed id is about 200 characters; backends' ids are bounded below). */
export const MAX_PUBLIC_TASK_ID = 1024;
/** Longest backend task id the gateway maps (anything longer is refused rather than sealed). */
const MAX_BACKEND_TASK_ID = 256;

/** What a public task id stands for. */
export interface TaskRoute {
  /** The backend that owns the task. */
  backend: string;
  /** The backend's own task id. */
  taskId: string;
  /** The capability profile of the call that created it (its upstream session, for 2026 callers). */
  profile: string;
}

interface Claims {
  /** Format version. */
  v: 1;
  b: string;
  t: string;
  /** The caller (principal) and the endpoint the task belongs to. */
  s: string;
  e: string;
  p: string;
}

/** Public ids this isolate sealed, by claims: sealing is deterministic, so an entry never goes stale. */
const sealed = new LruMap<string, string>(5_000);

/** The error for any id that does not open to a task of this caller here (one message: no oracle). */
export function unknownTask(): RpcError {
  return new RpcError(ErrorCode.InvalidParams, "Unknown task", { reason: "unknown_task" });
}

/** The public id of `backendTaskId` of `backend`, for this caller and endpoint. */
export async function publicTaskId(ctx: McpContext, backend: string, backendTaskId: string): Promise<string> {
  if (backendTaskId.length > MAX_BACKEND_TASK_ID) {
    throw new RpcError(ErrorCode.InternalError, `Backend '${backend}' returned an oversized task id`);
  }
  const claims: Claims = {
    v: 1,
    b: backend,
    t: backendTaskId,
    s: ctx.caller.subject,
    e: ctx.endpoint.key,
    p: ctx.caller.profile,
  };
  const key = JSON.stringify(claims);
  const ring = await keyRing(ctx.env);
  const cacheKey = `${ring.current.id}\0${key}`;
  let id = sealed.get(cacheKey);
  if (id === undefined) {
    id = await seal(claims, ring, "task-id", { stable: true });
    sealed.set(cacheKey, id);
  }
  return id;
}

/**
 * Verifies a client's task id: it must open with this deployment's keys,
 * belong to this caller and endpoint, and name a backend of this endpoint.
 * Throws `unknownTask()` otherwise.
 */
export async function openTaskId(ctx: McpContext, value: unknown): Promise<TaskRoute> {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_PUBLIC_TASK_ID) throw unknownTask();
  let claims: Partial<Claims>;
  try {
    claims = (await unseal(value, await keyRing(ctx.env), "task-id")) as Partial<Claims>;
  } catch {
    throw unknownTask();
  }
  const valid =
    typeof claims === "object" &&
    claims !== null &&
    claims.v === 1 &&
    typeof claims.b === "string" &&
    typeof claims.t === "string" &&
    typeof claims.p === "string" &&
    claims.s === ctx.caller.subject &&
    claims.e === ctx.endpoint.key &&
    ctx.endpoint.backends.some((b) => b.name === claims.b);
  if (!valid) throw unknownTask();
  return { backend: claims.b as string, taskId: claims.t as string, profile: claims.p as string };
}

/** `_meta` with its related-task id replaced by `publicId` (unchanged when it has none). */
export function withRelatedTask(
  meta: unknown,
  publicId: (backendId: string) => Promise<string>,
): Promise<unknown> | unknown {
  if (!isObject(meta) || !isObject(meta[RELATED_TASK]) || typeof meta[RELATED_TASK].taskId !== "string") return meta;
  const related = meta[RELATED_TASK];
  return publicId(related.taskId as string).then((taskId) => ({ ...meta, [RELATED_TASK]: { ...related, taskId } }));
}

/**
 * A message a backend sent (on a call's stream or its GET stream) with its
 * task ids in public form: `notifications/tasks/status` carries the task, and
 * any message may name one in `_meta` (related-task). A task id that cannot
 * be mapped drops the reference (null: the whole status notification)
 * rather than leak the backend's id.
 */
export async function publicTaskRefs(ctx: McpContext, backend: string, message: Json): Promise<Json | null> {
  const params = message.params;
  if (!isObject(params)) return message;
  const status = message.method === "notifications/tasks/status" && typeof params.taskId === "string";
  const related = isObject(params._meta) && isObject(params._meta[RELATED_TASK]);
  if (!status && !related) return message;
  try {
    const toPublic = (id: string) => publicTaskId(ctx, backend, id);
    const out: Json = { ...params };
    if (status) out.taskId = await toPublic(params.taskId as string);
    if (related) out._meta = await withRelatedTask(params._meta, toPublic);
    return { ...message, params: out };
  } catch {
    if (status) return null;
    const { [RELATED_TASK]: _dropped, ...meta } = params._meta as Json;
    return { ...message, params: { ...params, _meta: meta } };
  }
}
