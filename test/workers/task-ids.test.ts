// Tasks: public task ids (stable sealing, caller/endpoint binding, forged and foreign ids -32602, rotation), ids in relayed messages, the capability merge.
import { describe, expect, it } from "vitest";
import { ringOf } from "../../src/auth/keys";
import { seal, unseal } from "../../src/auth/seal";
import { serverCapabilities } from "../../src/core/capabilities";
import type { McpContext } from "../../src/core/context";
import type { FederatedView } from "../../src/core/federation";
import { MAX_PUBLIC_TASK_ID, openTaskId, publicTaskId, publicTaskRefs, RELATED_TASK } from "../../src/core/task-ids";
import { RpcError } from "../../src/protocol/jsonrpc";

/** Only what task ids read of a context: keys, caller, endpoint and its backends. */
function context(
  options: { key?: string; previous?: string; subject?: string; endpoint?: string; backends?: string[] } = {},
) {
  return {
    env: { ENCRYPTION_KEY: options.key ?? "task-key-one", ENCRYPTION_KEY_PREVIOUS: options.previous },
    caller: { subject: options.subject ?? "tok_a", profile: "sampling" },
    endpoint: {
      key: options.endpoint ?? "*",
      backends: (options.backends ?? ["alpha", "beta"]).map((name) => ({ name })),
    },
  } as unknown as McpContext;
}

async function refused(ctx: McpContext, id: unknown): Promise<RpcError> {
  const err = await openTaskId(ctx, id).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  expect((err as RpcError).code).toBe(-32602);
  expect((err as RpcError).message).toBe("Unknown task");
  return err as RpcError;
}

describe("public task ids", () => {
  it("seal the backend, its task id and the profile, and open back to them", async () => {
    const ctx = context();
    const id = await publicTaskId(ctx, "alpha", "task-123");
    expect(id).toMatch(/^v2\./);
    expect(id).not.toContain("task-123");
    expect(await openTaskId(ctx, id)).toEqual({ backend: "alpha", taskId: "task-123", profile: "sampling" });
  });

  it("are stable for the same task and differ between tasks and callers", async () => {
    const a = await publicTaskId(context(), "alpha", "t1");
    expect(await publicTaskId(context(), "alpha", "t1")).toBe(a);
    expect(await publicTaskId(context(), "alpha", "t2")).not.toBe(a);
    expect(await publicTaskId(context(), "beta", "t1")).not.toBe(a);
    expect(await publicTaskId(context({ subject: "tok_b" }), "alpha", "t1")).not.toBe(a);
  });

  it("refuse another caller's, another endpoint's and a removed backend's ids", async () => {
    const id = await publicTaskId(context(), "alpha", "t1");
    await refused(context({ subject: "tok_b" }), id);
    await refused(context({ endpoint: "other-server" }), id);
    await refused(context({ backends: ["beta"] }), id);
  });

  it("refuse forged, altered, oversized and non-string ids", async () => {
    const ctx = context();
    const id = await publicTaskId(ctx, "alpha", "t1");
    const parts = id.split(".");
    const flipped = `${parts.slice(0, 3).join(".")}.${parts[3]?.startsWith("A") ? "B" : "A"}${parts[3]?.slice(1)}`;
    for (const forged of [
      "t1",
      "",
      "v2.x.y.z",
      "v1.a.b",
      flipped,
      `${id}x`,
      "v2.".padEnd(MAX_PUBLIC_TASK_ID + 1, "a"),
    ]) {
      await refused(ctx, forged);
    }
    for (const notString of [undefined, null, 42, { taskId: id }]) await refused(ctx, notString);
  });

  it("refuse a value sealed for another purpose with the same claims", async () => {
    const ring = await ringOf(["task-key-one"]);
    const claims = { v: 1, b: "alpha", t: "t1", s: "tok_a", e: "*", p: "sampling" };
    await refused(context(), await seal(claims, ring, "session"));
    expect(await openTaskId(context(), await seal(claims, ring, "task-id"))).toMatchObject({ taskId: "t1" });
  });

  it("survive a key rotation while the old key stays in the ring", async () => {
    const id = await publicTaskId(context({ key: "old-key" }), "alpha", "t1");
    expect(await openTaskId(context({ key: "new-key", previous: "old-key" }), id)).toMatchObject({ taskId: "t1" });
    await refused(context({ key: "new-key" }), id);
  });

  it("refuse backend task ids too long to map", async () => {
    await expect(publicTaskId(context(), "alpha", "x".repeat(300))).rejects.toBeInstanceOf(RpcError);
  });
});

describe("stable sealing", () => {
  it("gives the same text for the same value and key, and opens like any sealed value", async () => {
    const ring = await ringOf(["k"]);
    const a = await seal({ n: 1 }, ring, "task-id", { stable: true });
    expect(await seal({ n: 1 }, ring, "task-id", { stable: true })).toBe(a);
    expect(await seal({ n: 2 }, ring, "task-id", { stable: true })).not.toBe(a);
    expect(await seal({ n: 1 }, ring, "task-cursor", { stable: true })).not.toBe(a);
    expect(await seal({ n: 1 }, ring, "task-id")).not.toBe(a);
    expect(await unseal(a, ring, "task-id")).toEqual({ n: 1 });
  });
});

describe("task ids in relayed messages", () => {
  it("rewrites a status notification's task id to the public one", async () => {
    const ctx = context();
    const out = await publicTaskRefs(ctx, "alpha", {
      jsonrpc: "2.0",
      method: "notifications/tasks/status",
      params: { taskId: "t9", status: "completed" },
    });
    expect(out).not.toBeNull();
    const taskId = ((out as Record<string, unknown>).params as { taskId: string }).taskId;
    expect(taskId).toBe(await publicTaskId(ctx, "alpha", "t9"));
    expect(await openTaskId(ctx, taskId)).toMatchObject({ backend: "alpha", taskId: "t9" });
  });

  it("rewrites the related-task _meta of any message and leaves other messages alone", async () => {
    const ctx = context();
    const message = {
      jsonrpc: "2.0",
      id: "alpha~1",
      method: "elicitation/create",
      params: { message: "ok?", _meta: { [RELATED_TASK]: { taskId: "t9" }, other: 1 } },
    };
    const out = await publicTaskRefs(ctx, "alpha", message);
    expect(out).not.toBeNull();
    expect(((out as Record<string, unknown>).params as { _meta: Record<string, unknown> })._meta).toEqual({
      [RELATED_TASK]: { taskId: await publicTaskId(ctx, "alpha", "t9") },
      other: 1,
    });
    const plain = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
    expect(await publicTaskRefs(ctx, "alpha", plain)).toBe(plain);
  });

  it("drops a status notification whose task id cannot be mapped, never leaking it", async () => {
    const ctx = context();
    const long = "x".repeat(300);
    expect(
      await publicTaskRefs(ctx, "alpha", { method: "notifications/tasks/status", params: { taskId: long } }),
    ).toBeNull();
    const out = await publicTaskRefs(ctx, "alpha", {
      method: "notifications/progress",
      params: { _meta: { [RELATED_TASK]: { taskId: long } } },
    });
    expect(JSON.stringify(out)).not.toContain(long);
  });
});

describe("the tasks capability", () => {
  const view = (capabilities: Record<string, unknown>) => ({ capabilities }) as unknown as FederatedView;

  it("is offered only when a backend of the endpoint has tasks, as that backend declares them", () => {
    expect(serverCapabilities(view({ tools: {} }))).not.toHaveProperty("tasks");
    const tasks = { list: {}, cancel: {}, requests: { tools: { call: {} } } };
    expect(serverCapabilities(view({ tools: {}, tasks }))).toMatchObject({ tasks });
  });
});
