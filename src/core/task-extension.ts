/**
 * The 2026 tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) for
 * 2026 callers, bridged to backends that speak the 2025-11-25 core tasks
 * (the only tasks the SDKs' servers implement):
 *
 * - `tools/call` of a tool whose backend declares `execution.taskSupport`
 *   `optional` or `required` goes out task-augmented (`params.task`) when the
 *   request declared the extension; the backend's `{task}` becomes a flat
 *   `CreateTaskResult` (`resultType: "task"`, `ttlMs`, `pollIntervalMs`) with
 *   the public id. Without the extension such a call runs synchronously, and a
 *   `required` tool is refused with -32021 naming the extension. A client's
 *   2025 `params.task` hint is dropped (the server decides, SEP-2663).
 * - `tasks/get` answers the `DetailedTask`: the backend's task, and for a
 *   terminal one its `tasks/result` inlined as `result` (without the 2025
 *   related-task `_meta`) or as `error` (failed).
 * - A task at `input_required` shows the backend's questions as
 *   `inputRequests` (a 2025 backend delivers them once, on `tasks/result`: the
 *   caller's SessionDO reads and holds them, `durable-objects/task-inputs.ts`);
 *   `tasks/update` posts each answer whose key names an open question back to
 *   the backend as its JSON-RPC response and acks (other keys are ignored).
 * - `tasks/cancel` is an empty ack, also for a task that already ended.
 */
import type { BackendConfig } from "../config/snapshot";
import { ModernError } from "../protocol/eras";
import { ErrorCode, type JsonRpcRequest, RpcError, resultResponse } from "../protocol/jsonrpc";
import { request as upstreamRequest } from "../upstream/http";
import type { McpContext, Outcome } from "./context";
import type { ResultMapper } from "./relay";
import { isObject, publicTaskId, RELATED_TASK, type TaskRoute, unknownTask } from "./task-ids";
import { authorizedBackend } from "./upstream-auth";
import { federatedView } from "./views";

/** The extension's id, in `capabilities.extensions` and `requiredCapabilities`. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** The lifetime the gateway asks a 2025 backend to keep a task for (the extension leaves it to the server). */
const TASK_TTL_MS = 10 * 60_000;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

type Json = Record<string, unknown>;

/** Whether a 2026 request's `clientCapabilities` declare the extension. */
export function declaresTasks(capabilities: Record<string, unknown>): boolean {
  return isObject(capabilities.extensions) && capabilities.extensions[TASKS_EXTENSION] !== undefined;
}

/** The -32021 a `tasks/*` request or a task-only tool gets from a client without the extension. */
export function needsTasksExtension(): RpcError {
  return new RpcError(ModernError.MissingClientCapability, `This request needs the ${TASKS_EXTENSION} extension`, {
    requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
  });
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 1 ? Math.round(value) : undefined;
}

/** A 2025 `Task` in the extension's flat shape, with its public id. */
function flatTask(task: Json, taskId: string): Json {
  const out: Json = {
    taskId,
    status: task.status,
    createdAt: task.createdAt,
    lastUpdatedAt: task.lastUpdatedAt ?? task.createdAt,
    ttlMs: positiveInt(task.ttl) ?? null,
  };
  if (typeof task.statusMessage === "string") out.statusMessage = task.statusMessage;
  const poll = positiveInt(task.pollInterval);
  if (poll !== undefined) out.pollIntervalMs = poll;
  return out;
}

/**
 * A 2026 caller's `tools/call`: the request to send and its result mapper.
 * Throws -32021 for a task-only tool without the extension.
 */
export async function extensionCall(
  ctx: McpContext,
  name: string,
  backend: string,
  request: JsonRpcRequest,
  after: ResultMapper | undefined,
): Promise<{ request: JsonRpcRequest; after: ResultMapper | undefined }> {
  const { task: _hint, ...params } = request.params ?? {};
  const entry = (await federatedView(ctx)).toolsByName.get(name);
  const execution = (entry?.full ?? entry?.item)?.execution;
  const support = isObject(execution) ? execution.taskSupport : undefined;
  const plain = { request: _hint === undefined ? request : { ...request, params }, after };
  if (support !== "optional" && support !== "required") return plain;
  if (!ctx.tasksExtension) {
    if (support === "required") throw needsTasksExtension();
    return plain;
  }
  return {
    request: { ...request, params: { ...params, task: { ttl: TASK_TTL_MS } } },
    after: async (result) => {
      const task = result.task;
      if (!isObject(task) || typeof task.taskId !== "string") return after ? after(result) : result;
      return { resultType: "task", ...flatTask(task, await publicTaskId(ctx, backend, task.taskId)) };
    },
  };
}

/** One request to the task's backend in the caller's upstream session there; a JSON-RPC error is returned, not thrown. */
async function ask(ctx: McpContext, configured: BackendConfig, method: string, taskId: string) {
  // With the caller's upstream token, as the call that created the task had it (upstream-auth.ts).
  const backend = await authorizedBackend(ctx, configured, { quiet: true });
  return upstreamRequest(backend, method, { taskId }, await ctx.upstreams.open(backend));
}

/** `tasks/get`, `tasks/update`, `tasks/cancel` of the extension (`ctx` holds the task's upstream sessions). */
export async function extensionTaskRequest(
  ctx: McpContext,
  request: JsonRpcRequest,
  route: TaskRoute,
  publicId: string,
): Promise<Outcome> {
  const backend = ctx.config.backends.get(route.backend);
  if (!backend) throw unknownTask();
  const answer = (result: Json): Outcome => ({
    kind: "json",
    body: resultResponse(request.id, ctx.era.result(request.method, result)),
  });
  if (request.method === "tasks/update") {
    const responses = request.params?.inputResponses;
    if (typeof responses !== "object" || responses === null || Array.isArray(responses)) {
      throw new RpcError(ErrorCode.InvalidParams, "inputResponses must be an object");
    }
    await ctx.upstreams.taskAnswers?.(route.backend, route.taskId, responses as Json);
    return answer({});
  }
  if (request.method === "tasks/cancel") {
    const cancelled = await ask(ctx, backend, "tasks/cancel", route.taskId);
    // A task that already ended cannot be cancelled in 2025; the extension acks it all the same.
    if ("error" in cancelled && "error" in (await ask(ctx, backend, "tasks/get", route.taskId))) throw unknownTask();
    return answer({});
  }
  const got = await ask(ctx, backend, "tasks/get", route.taskId);
  if ("error" in got || !isObject(got.result)) throw unknownTask();
  const detailed = flatTask(got.result, publicId);
  const status = String(got.result.status);
  if (status === "completed" || status === "failed") {
    const outcome = await ask(ctx, backend, "tasks/result", route.taskId);
    if ("error" in outcome) {
      const { code, message, data } = outcome.error;
      detailed.error = { code, message, ...(data !== undefined && { data }) };
    } else if (status === "failed") {
      detailed.error = { code: -32603, message: String(got.result.statusMessage ?? "Task failed") };
    } else {
      const { _meta, ...result } = outcome.result;
      const meta = isObject(_meta) ? Object.fromEntries(Object.entries(_meta).filter(([k]) => k !== RELATED_TASK)) : {};
      detailed.result = Object.keys(meta).length > 0 ? { ...result, _meta: meta } : result;
    }
  }
  if (status === "input_required" && ctx.upstreams.taskQuestions) {
    // Delivered once on the backend's tasks/result; held by the caller's SessionDO for every tasks/get.
    const authed = await authorizedBackend(ctx, backend, { quiet: true });
    const questions = await ctx.upstreams.taskQuestions(authed, await ctx.upstreams.open(authed), route.taskId);
    if (Object.keys(questions).length > 0) detailed.inputRequests = questions;
  }
  if (!TERMINAL.has(status) && status !== "working" && status !== "input_required") detailed.status = "working";
  return answer(detailed);
}
