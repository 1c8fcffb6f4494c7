// The benchmark's BENCH_SKIP_SESSION_LIVENESS switch: only its exact value skips the per-request liveness check; anything else leaves ended sessions refused.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ADMIN } from "./helpers";

async function send(method: string, body: unknown, extra: Record<string, string | undefined>, session?: string) {
  const ctx = createExecutionContext();
  const headers: Record<string, string> = {
    accept: "application/json, text/event-stream",
    "content-type": "application/json",
    authorization: `Bearer ${ADMIN}`,
    ...(session && { "mcp-session-id": session }),
  };
  const res = await worker.fetch(
    new Request("http://localhost/mcp", { method, headers, body: body === null ? undefined : JSON.stringify(body) }),
    { ...env, ...extra },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("BENCH_SKIP_SESSION_LIVENESS", () => {
  it("refuses an ended session unless set to exactly unsafe-bench-only", async () => {
    const init = await send(
      "POST",
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      },
      {},
    );
    const session = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    expect((await send("DELETE", null, {}, session)).status).toBe(200);
    const ping = { jsonrpc: "2.0", id: 2, method: "ping" };
    for (const value of [undefined, "", "1", "true", "unsafe-bench-only "]) {
      const res = await send("POST", ping, { BENCH_SKIP_SESSION_LIVENESS: value }, session);
      expect(res.status).toBe(404);
      await res.body?.cancel();
    }
    // The benchmark's value: the check is skipped, so the ended session answers (what it measures is its cost).
    const skipped = await send("POST", ping, { BENCH_SKIP_SESSION_LIVENESS: "unsafe-bench-only" }, session);
    expect(skipped.status).toBe(200);
    expect(await skipped.json()).toEqual({ jsonrpc: "2.0", id: 2, result: {} });
  });
});
