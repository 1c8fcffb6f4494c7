/**
 * The tools the 2026 `tasks-*` scenarios call, served the 2025-11-25 way
 * (core tasks, experimental in @modelcontextprotocol/sdk: a task store and a
 * message queue per session, `execution.taskSupport` on the tools). Behind the
 * gateway a 2026 client reaches them through its tasks-extension bridge
 * (`src/core/task-extension.ts`). Node-only; not part of the Workers bundle.
 *
 * - `greet {name}`: no task support; `Hello, {name}!`.
 * - `slow_compute {seconds, label}`: optional; completes after `seconds`
 *   (a cancelled task stays cancelled).
 * - `failing_job`: required; completes after about 1 s with `isError: true`
 *   (a tool error, not a failed task).
 * - `protocol_error_job`: required; ends `failed` after about 0.5 s.
 * - `confirm_delete {filename}`: optional; asks an `elicitation/create`
 *   through the task (status `input_required`, delivered on `tasks/result`),
 *   then completes with the answer.
 * - `multi_input`: optional; asks two questions at once through the task
 *   (both pending together), then completes with both answers.
 * - `test_tool_with_task`: optional; asks the caller's name on the call's own
 *   stream first (before any task exists: the gateway turns that into an
 *   MRTR round), then creates a task that completes with `Hello, <name>!`.
 */
import { InMemoryTaskMessageQueue, InMemoryTaskStore } from "@modelcontextprotocol/sdk/experimental/tasks";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { type CallToolResult, ElicitResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** The server capability a session declares for them (2025-11-25 `ServerCapabilities.tasks`). */
export const TASK_CAPABILITIES = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

/** One session's task store and queue (the SDK binds tasks to the session anyway). */
export interface TaskSupport {
  taskStore: InMemoryTaskStore;
  taskMessageQueue: InMemoryTaskMessageQueue;
}

/** A new store and queue for one session's `McpServer` options. */
export function taskSupport(): TaskSupport {
  return { taskStore: new InMemoryTaskStore(), taskMessageQueue: new InMemoryTaskMessageQueue() };
}

const text = (value: string, isError = false): CallToolResult => ({
  content: [{ type: "text", text: value }],
  ...(isError && { isError }),
});

const NAME_SCHEMA = {
  type: "object" as const,
  properties: { name: { type: "string" as const }, confirm: { type: "boolean" as const } },
};

/** How long a task is kept: the tasks-wire-fields scenario reads one back after it ended. */
const TTL_MS = 5 * 60_000;

type Store = { storeTaskResult(id: string, status: "completed" | "failed", result: CallToolResult): Promise<void> };

/** Stores a task's outcome after `ms`; a task cancelled meanwhile is terminal and keeps its status. */
function finishLater(store: Store, taskId: string, ms: number, status: "completed" | "failed", result: CallToolResult) {
  setTimeout(() => {
    store.storeTaskResult(taskId, status, result).catch(() => undefined);
  }, ms);
}

/** Registers the tools on a session's server (created with `taskSupport()` and `TASK_CAPABILITIES`). */
export function registerTaskTools(server: McpServer, support: TaskSupport): void {
  server.server.onclose = () => support.taskStore.cleanup();
  server.registerTool(
    "greet",
    { description: "Greets synchronously (no task support)", inputSchema: { name: z.string() } },
    async ({ name }) => text(`Hello, ${name}!`),
  );
  const handlers = {
    async getTask(_args: unknown, extra: { taskId: string; taskStore: { getTask(id: string): Promise<unknown> } }) {
      return (await extra.taskStore.getTask(extra.taskId)) as never;
    },
    async getTaskResult(
      _args: unknown,
      extra: { taskId: string; taskStore: { getTaskResult(id: string): Promise<unknown> } },
    ) {
      return (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult;
    },
  };
  server.experimental.tasks.registerToolTask(
    "slow_compute",
    {
      description: "Sleeps `seconds`, then answers (task support optional)",
      inputSchema: { seconds: z.number().min(0).max(600), label: z.string().optional() },
      execution: { taskSupport: "optional" },
    },
    {
      async createTask({ seconds, label }, extra) {
        const task = await extra.taskStore.createTask({ ttl: TTL_MS, pollInterval: 200 });
        finishLater(extra.taskStore, task.taskId, seconds * 1000, "completed", text(`Computed ${label ?? "result"}`));
        return { task };
      },
      ...handlers,
    },
  );
  server.experimental.tasks.registerToolTask(
    "failing_job",
    {
      description: "Ends with a tool error (task support required)",
      inputSchema: {},
      execution: { taskSupport: "required" },
    },
    {
      async createTask(_args, extra) {
        const task = await extra.taskStore.createTask({ ttl: TTL_MS, pollInterval: 200 });
        finishLater(extra.taskStore, task.taskId, 1000, "completed", text("The job failed", true));
        return { task };
      },
      ...handlers,
    },
  );
  server.experimental.tasks.registerToolTask(
    "protocol_error_job",
    {
      description: "Ends as a failed task (task support required)",
      inputSchema: {},
      execution: { taskSupport: "required" },
    },
    {
      async createTask(_args, extra) {
        const task = await extra.taskStore.createTask({ ttl: TTL_MS, pollInterval: 200 });
        finishLater(extra.taskStore, task.taskId, 500, "failed", text("Internal failure", true));
        return { task };
      },
      ...handlers,
    },
  );
  server.experimental.tasks.registerToolTask(
    "test_tool_with_task",
    {
      description: "Asks a name on the call's stream, then runs a task with it",
      inputSchema: {},
      execution: { taskSupport: "optional" },
    },
    {
      async createTask(_args, extra) {
        const answer = await extra.sendRequest(
          {
            method: "elicitation/create",
            params: {
              message: "What is your name?",
              requestedSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
            },
          },
          ElicitResultSchema,
        );
        const name = answer.action === "accept" && typeof answer.content?.name === "string" ? answer.content.name : "?";
        const task = await extra.taskStore.createTask({ ttl: TTL_MS, pollInterval: 200 });
        finishLater(extra.taskStore, task.taskId, 300, "completed", text(`Hello, ${name}!`));
        return { task };
      },
      ...handlers,
    },
  );
  server.experimental.tasks.registerToolTask(
    "multi_input",
    {
      description: "Asks two questions at once through the task, then answers",
      inputSchema: {},
      execution: { taskSupport: "optional" },
    },
    {
      async createTask(_args, extra) {
        const task = await extra.taskStore.createTask({ ttl: TTL_MS, pollInterval: 200 });
        const store = extra.taskStore;
        void (async () => {
          try {
            await store.updateTaskStatus(task.taskId, "input_required");
            const ask = (message: string) =>
              server.server.request(
                { method: "elicitation/create", params: { message, requestedSchema: NAME_SCHEMA } },
                ElicitResultSchema,
                { relatedTask: { taskId: task.taskId }, timeout: TTL_MS },
              );
            const answers = await Promise.all([ask("First name?"), ask("Second name?")]);
            const names = answers.map((a) => (a.action === "accept" ? String(a.content?.name ?? "") : "-"));
            await store.storeTaskResult(task.taskId, "completed", text(`Got ${names.join(" and ")}`));
          } catch {
            await store.storeTaskResult(task.taskId, "failed", text("No answers", true)).catch(() => undefined);
          }
        })();
        return { task };
      },
      ...handlers,
    },
  );
  server.experimental.tasks.registerToolTask(
    "confirm_delete",
    {
      description: "Asks for a confirmation through the task, then answers",
      inputSchema: { filename: z.string() },
      execution: { taskSupport: "optional" },
    },
    {
      async createTask({ filename }, extra) {
        const task = await extra.taskStore.createTask({ ttl: TTL_MS, pollInterval: 200 });
        const store = extra.taskStore;
        void (async () => {
          try {
            await store.updateTaskStatus(task.taskId, "input_required");
            const answer = await server.server.request(
              {
                method: "elicitation/create",
                params: {
                  message: `Delete ${filename}?`,
                  requestedSchema: { type: "object", properties: { confirm: { type: "boolean" } } },
                },
              },
              ElicitResultSchema,
              { relatedTask: { taskId: task.taskId }, timeout: TTL_MS },
            );
            const yes = answer.action === "accept" && answer.content?.confirm === true;
            await store.storeTaskResult(task.taskId, "completed", text(yes ? `Deleted ${filename}` : "Kept"));
          } catch {
            await store.storeTaskResult(task.taskId, "failed", text("No confirmation", true)).catch(() => undefined);
          }
        })();
        return { task };
      },
      ...handlers,
    },
  );
}
