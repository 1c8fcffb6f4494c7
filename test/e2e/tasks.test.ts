// End to end: tasks through two isolates (2025-11-25 core tasks with the SDK client, the 2026 extension over raw HTTP), against a real SDK task backend.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  TaskStatusNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskBackend, type TaskBackend } from "../fixtures/task-backend";
import { adminCall, mcpPost } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let backend: TaskBackend;
let token: string;
let otherToken: string;

async function newToken(name: string): Promise<string> {
  const res = await adminCall(gateway.url, gateway.adminToken, "POST", "/api/tokens", { name, scopes: ["mcp"] });
  expect(res.status).toBe(201);
  return (res.json as { token: string }).token;
}

async function connect(as = token): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: "e2e-tasks", version: "1" }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${as}` } },
  });
  await client.connect(transport);
  return { client, transport };
}

/** Starts a task-augmented call and returns the public task id from its CreateTaskResult. */
async function createTask(client: Client, text: string, ms: number): Promise<string> {
  const created = await client.request(
    {
      method: "tools/call",
      params: { name: "tasks__slow_echo", arguments: { text, ms }, task: { ttl: 60_000 } },
    },
    CreateTaskResultSchema,
  );
  return created.task.taskId;
}

function textOf(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("");
}

beforeAll(async () => {
  [gateway, backend] = await Promise.all([startGateway({ isolates: 2 }), startTaskBackend()]);
  const res = await adminCall(gateway.url, gateway.adminToken, "POST", "/api/backends", {
    name: "tasks",
    url: backend.url,
  });
  expect(res.status).toBe(201);
  [token, otherToken] = await Promise.all([newToken("tasks-a"), newToken("tasks-b")]);
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), backend?.close()]);
});

describe("tasks through the gateway (2025-11-25)", () => {
  it("advertises the backend's tasks capability and relays create, get and result with a sealed id", async () => {
    const { client } = await connect();
    expect(client.getServerCapabilities()?.tasks).toMatchObject({ list: {}, cancel: {} });
    const stream = client.experimental.tasks.callToolStream(
      { name: "tasks__slow_echo", arguments: { text: "hi", ms: 300 } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    let taskId = "";
    let final: unknown;
    for await (const message of stream) {
      if (message.type === "taskCreated") taskId = message.task.taskId;
      if (message.type === "result") final = message.result;
      if (message.type === "error") throw message.error;
    }
    expect(textOf(final)).toBe("done: hi");
    expect(taskId.startsWith("v2.")).toBe(true);
    expect(backend.taskIds).not.toContain(taskId);
    const task = await client.experimental.tasks.getTask(taskId);
    expect(task).toMatchObject({ taskId, status: "completed" });
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(textOf(result)).toBe("done: hi");
    // The related-task _meta names the public id, never the backend's.
    expect(JSON.stringify(result)).not.toContain(backend.taskIds.at(-1));
    await client.close();
  });

  it("answers tasks/get for the same session on each isolate", async () => {
    const { client, transport } = await connect();
    const taskId = await createTask(client, "both", 0);
    const session = transport.sessionId as string;
    for (const base of gateway.isolateUrls) {
      const res = await mcpPost(
        `${base}/mcp`,
        { jsonrpc: "2.0", id: 7, method: "tasks/get", params: { taskId } },
        { token, session, protocolVersion: "2025-11-25" },
      );
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ id: 7, result: { taskId } });
    }
    await client.close();
  });

  it("lists the caller's tasks with public ids", async () => {
    const { client } = await connect();
    const ids = [await createTask(client, "one", 0), await createTask(client, "two", 0)];
    const listed = await client.experimental.tasks.listTasks();
    const listedIds = listed.tasks.map((t) => t.taskId);
    expect(listedIds).toEqual(expect.arrayContaining(ids));
    for (const backendId of backend.taskIds) expect(listedIds).not.toContain(backendId);
    await client.close();
  });

  it("cancels a running task on its backend", async () => {
    const { client } = await connect();
    const taskId = await createTask(client, "slow", 60_000);
    const cancelled = await client.experimental.tasks.cancelTask(taskId);
    expect(cancelled).toMatchObject({ taskId, status: "cancelled" });
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ taskId, status: "cancelled" });
    await client.close();
  });

  it("relays status notifications with the public task id", async () => {
    const { client } = await connect();
    const seen: Array<{ taskId: string; status: string }> = [];
    client.setNotificationHandler(TaskStatusNotificationSchema, (n) => {
      seen.push({ taskId: n.params.taskId, status: n.params.status });
    });
    const created = new Set<string>();
    // The status goes out on the backend's GET stream, which the gateway follows once it sees the session.
    await eventually(
      async () => {
        created.add(await createTask(client, "notify", 200));
        return seen.some((s) => created.has(s.taskId) && s.status === "completed");
      },
      30_000,
      500,
    );
    for (const s of seen) expect(backend.taskIds).not.toContain(s.taskId);
    await client.close();
  });

  it("refuses forged and foreign task ids with -32602", async () => {
    const { client } = await connect();
    const other = await connect(otherToken);
    const foreign = await createTask(other.client, "theirs", 0);
    for (const taskId of [foreign, "forged", `${foreign.slice(0, -4)}AAAA`, backend.taskIds[0]]) {
      await expect(client.experimental.tasks.getTask(taskId as string)).rejects.toMatchObject({ code: -32602 });
    }
    await Promise.all([client.close(), other.client.close()]);
  });
});

const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** One 2026-07-28 request (stateless: `_meta` envelope and mirrored headers) to `base`. */
async function modernCall(
  base: string,
  method: string,
  params: Record<string, unknown>,
  options: { extension?: boolean; id?: number; elicitation?: boolean } = {},
) {
  const capabilities = {
    ...(options.extension !== false && { extensions: { [TASKS_EXTENSION]: {} } }),
    ...(options.elicitation && { elicitation: {} }),
  };
  const name = typeof params.taskId === "string" ? params.taskId : params.name;
  return mcpPost(
    `${base}/mcp`,
    {
      jsonrpc: "2.0",
      id: options.id ?? 1,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": capabilities,
        },
      },
    },
    {
      token,
      protocolVersion: "2026-07-28",
      headers: { "mcp-method": method, ...(typeof name === "string" && { "mcp-name": name }) },
    },
  );
}

describe("the tasks extension for 2026 clients, bridged to a 2025 task backend", () => {
  it("offers the extension in server/discover instead of a tasks slot", async () => {
    const res = await modernCall(gateway.url, "server/discover", {});
    const capabilities = (res.json as { result: { capabilities: Record<string, unknown> } }).result.capabilities;
    expect(capabilities.extensions).toMatchObject({ [TASKS_EXTENSION]: {} });
    expect(capabilities.tasks).toBeUndefined();
  });

  it("creates a task, polls it from each isolate to its inlined result, and acks cancel", async () => {
    const created = await modernCall(gateway.url, "tools/call", {
      name: "tasks__slow_echo",
      arguments: { text: "modern", ms: 300 },
    });
    const task = (created.json as { result: Record<string, unknown> }).result;
    expect(task).toMatchObject({ resultType: "task", status: "working", ttlMs: 60_000 });
    expect(task).not.toHaveProperty("task");
    expect(task).not.toHaveProperty("ttl");
    const taskId = task.taskId as string;
    expect(backend.taskIds).not.toContain(taskId);
    let detailed: Record<string, unknown> = {};
    await eventually(
      async () => {
        for (const base of gateway.isolateUrls) {
          const got = await modernCall(base, "tasks/get", { taskId });
          detailed = (got.json as { result: Record<string, unknown> }).result;
          expect(detailed.taskId).toBe(taskId);
        }
        return detailed.status === "completed";
      },
      10_000,
      100,
    );
    expect(detailed).toMatchObject({ resultType: "complete", result: { content: [{ text: "done: modern" }] } });
    expect(JSON.stringify(detailed)).not.toContain("related-task");
    const cancel = await modernCall(gateway.url, "tasks/cancel", { taskId });
    expect((cancel.json as { result: Record<string, unknown> }).result).toEqual({
      resultType: "complete",
      _meta: expect.any(Object),
    });
  });

  it("shows a task's question as inputRequests on both isolates and takes the answer through tasks/update", async () => {
    const asks = { elicitation: true };
    const created = await modernCall(gateway.url, "tools/call", { name: "tasks__ask_name", arguments: {} }, asks);
    const taskId = (created.json as { result: { taskId: string } }).result.taskId;
    const seen: string[][] = [];
    await eventually(
      async () => {
        seen.length = 0;
        for (const base of gateway.isolateUrls) {
          const got = await modernCall(base, "tasks/get", { taskId }, asks);
          const result = (got.json as { result: { status: string; inputRequests?: Record<string, unknown> } }).result;
          if (result.status !== "input_required" || !result.inputRequests) return false;
          seen.push(Object.keys(result.inputRequests));
          expect(Object.values(result.inputRequests)[0]).toMatchObject({ method: "elicitation/create" });
          expect(JSON.stringify(result.inputRequests)).not.toContain("related-task");
        }
        return true;
      },
      10_000,
      100,
    );
    // The same question, under the same key, whichever isolate answers.
    expect(seen[0]).toHaveLength(1);
    expect(seen[1]).toEqual(seen[0]);
    const key = seen[0]?.[0] as string;
    const update = await modernCall(
      gateway.url,
      "tasks/update",
      { taskId, inputResponses: { [key]: { action: "accept", content: { name: "Ada" } }, unknown: {} } },
      asks,
    );
    expect(update.json).toMatchObject({ result: { resultType: "complete" } });
    await eventually(
      async () => {
        const got = await modernCall(gateway.url, "tasks/get", { taskId }, asks);
        const result = (got.json as { result: Record<string, unknown> }).result;
        return result.status === "completed" && JSON.stringify(result.result).includes("hello Ada");
      },
      10_000,
      100,
    );
  });

  it("runs a task-optional tool synchronously for a client without the extension", async () => {
    const res = await modernCall(
      gateway.url,
      "tools/call",
      { name: "tasks__slow_echo", arguments: { text: "sync", ms: 0 } },
      { extension: false },
    );
    expect(res.json).toMatchObject({ result: { resultType: "complete", content: [{ text: "done: sync" }] } });
  });

  it("refuses tasks/* without the extension (400, -32021), forged ids (-32602) and the removed methods (404)", async () => {
    const gated = await modernCall(gateway.url, "tasks/get", { taskId: "anything" }, { extension: false, id: 3 });
    expect(gated.status).toBe(400);
    expect(gated.json).toMatchObject({
      id: 3,
      error: { code: -32021, data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } },
    });
    const forged = await modernCall(gateway.url, "tasks/get", { taskId: "v2.forged.id.x" }, { id: 4 });
    expect(forged.status).toBe(200);
    expect(forged.json).toMatchObject({ id: 4, error: { code: -32602 } });
    for (const method of ["tasks/list", "tasks/result"]) {
      const removed = await modernCall(gateway.url, method, {});
      expect(removed.status).toBe(404);
      expect(removed.json).toMatchObject({ error: { code: -32601 } });
    }
  });
});
