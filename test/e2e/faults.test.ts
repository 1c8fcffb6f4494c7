/**
 * End to end, against a misbehaving real backend (test/fixtures/faulty-backend.ts)
 * behind the production bundle on two isolates: oversized and endless replies,
 * JSON and SSE, end in a JSON-RPC error naming the backend (the gateway stops
 * reading: the backend sees its connection closed after a bounded number of
 * bytes), and a client that disconnects mid-call gets the upstream request
 * cancelled. Nothing asserts elapsed time: state is polled with a deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultyBackend, startFaultyBackend } from "../fixtures/faulty-backend";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

const MiB = 1024 * 1024;
let gateway: Gateway;
let backend: FaultyBackend;
let session: string;

const HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json" };

function headers(): Record<string, string> {
  return { ...HEADERS, authorization: `Bearer ${gateway.adminToken}`, "mcp-session-id": session };
}

interface Reply {
  id?: unknown;
  result?: { content?: Array<{ text?: string }> };
  error?: { code: number; message: string; data?: { backend?: string; reason?: string } };
}

/** Calls a tool; answers with the final JSON-RPC reply (JSON or the SSE stream's last message). */
async function call(id: number, tool: string, backendName = "faulty"): Promise<Reply> {
  const res = await fetch(`${gateway.url}/mcp`, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: `${backendName}__${tool}`, arguments: { text: "hi" } },
    }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) return JSON.parse(text) as Reply;
  const last =
    text
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .pop() ?? "null";
  return JSON.parse(last.slice(6)) as Reply;
}

beforeAll(async () => {
  backend = await startFaultyBackend();
  gateway = await startGateway({ isolates: 2 });
  // A long idle timeout: whatever ends these calls, it is not the gateway's deadline.
  const res = await fetch(`${gateway.url}/api/backends`, {
    method: "POST",
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "faulty", url: backend.url, timeoutMs: 120_000 }),
  });
  expect(res.status).toBe(201);
  const short = await fetch(`${gateway.url}/api/backends`, {
    method: "POST",
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "faulty-short", url: backend.url, timeoutMs: 1_000 }),
  });
  expect(short.status).toBe(201);
  const init = await fetch(`${gateway.url}/mcp`, {
    method: "POST",
    headers: { ...HEADERS, authorization: `Bearer ${gateway.adminToken}` },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "e2e-faults", version: "1" } },
    }),
  });
  session = init.headers.get("mcp-session-id") as string;
  await init.text();
  expect(session).toBeTruthy();
});

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
});

describe("a backend that sends too much", () => {
  it.each([
    ["huge_json", "a reply larger than 4 MiB"],
    ["endless_json", "a reply larger than 4 MiB"],
    ["huge_event", "an event larger than 4 MiB"],
    ["endless_sse", "a stream larger than 32 MiB"],
  ])(
    "%s: a JSON-RPC error naming the backend, and the gateway stops reading",
    async (tool, what) => {
      const reply = await call(1, tool);
      expect(reply).toMatchObject({
        id: 1,
        error: {
          code: -32010,
          message: `Backend 'faulty' sent ${what}`,
          data: { backend: "faulty", reason: "too-large" },
        },
      });
      if (tool.startsWith("endless")) {
        // The backend saw its connection closed, after a bounded amount (the bound plus what was in flight).
        await eventually(async () => backend.bytesSent.has(tool), 10_000);
        expect(backend.aborted).toContain(tool);
        expect(backend.bytesSent.get(tool)).toBeLessThan((tool === "endless_sse" ? 32 : 4) * MiB + 16 * MiB);
      }
      // The gateway is fine: the next call is answered.
      expect((await call(2, "echo")).result?.content?.[0]?.text).toBe("hi");
    },
    60_000,
  );
});

describe("a client that disconnects mid-call", () => {
  it("a streamed call: the upstream request is cancelled", async () => {
    const client = new AbortController();
    const res = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: headers(),
      signal: client.signal,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "faulty__stall_sse", arguments: {}, _meta: { progressToken: "p" } },
      }),
    });
    // The call is under way (priming event, the backend's progress) and the backend is silent now ...
    await res.body?.getReader().read();
    await eventually(async () => backend.calls.includes("stall_sse"), 10_000);
    // ... when the client goes away: the backend must see its own request end, long before the 120 s deadline.
    client.abort();
    await eventually(async () => backend.aborted.includes("stall_sse"), 20_000);
    expect((await call(4, "echo")).result?.content?.[0]?.text).toBe("hi");
    // The abandoned call's backend span says so (not a backend failure, not an internal error).
    type Span = { name: string; status: string; attributes: Record<string, unknown> };
    let span: Span | undefined;
    await eventually(
      async () => {
        const res = await fetch(`${gateway.url}/api/spans?backend=faulty&tool=stall_sse&limit=5`, {
          headers: { authorization: `Bearer ${gateway.adminToken}` },
        });
        span = ((await res.json()) as { spans?: Span[] }).spans?.find((s) => s.name === "backend");
        return span !== undefined;
      },
      15_000,
      250,
    );
    expect(span).toMatchObject({ status: "error", attributes: { error: "cancelled" } });
  }, 60_000);
});

describe("a backend that never answers", () => {
  it("the call ends at its deadline with a JSON-RPC error naming the backend, and the upstream request is closed", async () => {
    const reply = await call(5, "stall_json", "faulty-short");
    expect(reply).toMatchObject({
      id: 5,
      error: {
        code: -32010,
        message: expect.stringContaining("Backend 'faulty-short'"),
        data: { backend: "faulty-short", reason: "timeout" },
      },
    });
    await eventually(async () => backend.aborted.includes("stall_json"), 10_000);
  }, 60_000);
});
