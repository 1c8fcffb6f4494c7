/**
 * End to end: spans of real calls reach D1 through the real local Queue and
 * its consumer, and show up in /api/spans and /metrics within seconds.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatefulBackend, startStatefulBackend } from "../fixtures/backends";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let backend: StatefulBackend;

async function admin(path: string): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
}

interface SpanView {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  status: string;
  attributes: Record<string, unknown>;
}

beforeAll(async () => {
  [gateway, backend] = await Promise.all([startGateway({ isolates: 2 }), startStatefulBackend("obs")]);
  const res = await fetch(`${gateway.url}/api/backends`, {
    method: "POST",
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "obs", url: backend.url }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), backend?.close()]);
});

describe("observability through the queue", () => {
  it("records every call's spans, visible through /api/spans and /metrics within seconds", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const client = new Client({ name: "obs", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
        requestInit: {
          headers: {
            authorization: `Bearer ${gateway.adminToken}`,
            traceparent: `00-${traceId}-b7ad6b7169203331-01`,
          },
        },
      }),
    );
    await client.callTool({ name: "obs__echo", arguments: { text: "secret-argument-value" } });
    await client.callTool({ name: "obs__fail", arguments: {} });
    await client.close();

    let trace: SpanView[] = [];
    await eventually(
      async () => {
        const res = await admin(`/api/spans/${traceId}`);
        trace = res.ok ? ((await res.json()) as SpanView[]) : [];
        return trace.filter((s) => s.name === "backend" && s.attributes.method === "tools/call").length === 2;
      },
      15_000,
      250,
    );
    const call = trace.find((s) => s.name === "backend" && s.attributes.tool === "echo");
    const parent = trace.find((s) => s.spanId === call?.parentSpanId);
    expect(parent).toMatchObject({ name: "request", attributes: { method: "tools/call", tool: "obs__echo" } });
    // The client's span is the parent of the gateway's request span.
    expect(parent?.parentSpanId).toBe("b7ad6b7169203331");
    // Spans carry names, never arguments or results.
    expect(JSON.stringify(trace)).not.toContain("secret-argument-value");
    // The backend saw the gateway's backend-call span as its parent.
    expect(backend.received.some((r) => r.headers.traceparent === `00-${traceId}-${call?.spanId}-01`)).toBe(true);

    const listed = (await (await admin("/api/spans?backend=obs&tool=echo&limit=5")).json()) as { spans: SpanView[] };
    expect(listed.spans.length).toBeGreaterThan(0);
    expect(listed.spans.every((s) => s.attributes.backend === "obs" && s.attributes.tool === "echo")).toBe(true);

    let metrics = "";
    await eventually(
      async () => {
        metrics = await (await admin("/metrics")).text();
        return metrics.includes('mcpgw_tool_calls_total{tool="echo",backend="obs",outcome="ok"}');
      },
      15_000,
      250,
    );
    expect(metrics).toMatch(/mcpgw_requests_total\{method="tools\/call",status="200"\} \d+/);
    expect(metrics).toContain('mcpgw_tool_call_duration_ms_count{tool="echo",backend="obs"}');
    for (const line of metrics.trim().split("\n")) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+]+)$/);
    }
  });
});
