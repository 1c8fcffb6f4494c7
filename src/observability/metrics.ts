/**
 * Prometheus text exposition (format 0.0.4) from the all-time rollups (pure).
 * Counters come from rows retention never deletes, so they only go up.
 */
import type { BackendConfig } from "../config/snapshot";
import type { Bindings } from "../env";
import { backendObject } from "../stubs";
import { withDeadline } from "../util/time";
import { LATENCY_BUCKETS_MS, type RollupRow } from "./schema";

/** Breaker state per backend, when known. */
export interface BreakerGauge {
  backend: string;
  state: "closed" | "open" | "half-open";
}

/** Time a scrape waits for one backend's breaker state. */
const BREAKER_READ_MS = 500;

/**
 * The breaker state of every enabled backend, read from their Durable Objects
 * in parallel (one small RPC each, per scrape); a backend whose object does
 * not answer in time is left out of the gauge.
 */
export async function breakerGauges(env: Bindings, backends: readonly BackendConfig[]): Promise<BreakerGauge[]> {
  const reads = backends
    .filter((b) => b.enabled)
    .slice(0, 1000)
    .map(async (b): Promise<BreakerGauge | null> => {
      const stub = backendObject(env, b.name);
      const read = stub.breakerState().then(
        (snapshot) => snapshot.state,
        () => undefined,
      );
      const state = await withDeadline(read, BREAKER_READ_MS);
      return state ? { backend: b.name, state } : null;
    });
  return (await Promise.all(reads)).filter((g): g is BreakerGauge => g !== null);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(pairs: Record<string, string>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");
  return body ? `{${body}}` : "";
}

function buckets(row: RollupRow): number[] {
  return [row.b0, row.b1, row.b2, row.b3, row.b4, row.b5, row.b6, row.b7, row.b8, row.b9, row.b10, row.b11];
}

/** Renders the metrics page. */
export function renderMetrics(
  rows: readonly RollupRow[],
  breakers: readonly BreakerGauge[] = [],
  configReads?: { version: number; load: number },
): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const byKind = (kind: string) =>
    rows
      .filter((r) => r.kind === kind)
      .sort((a, b) => `${a.name}|${a.backend}|${a.outcome}`.localeCompare(`${b.name}|${b.backend}|${b.outcome}`));

  family("mcpgw_requests_total", "counter", "MCP requests by JSON-RPC method and HTTP status.");
  for (const r of byKind("request")) {
    out.push(`mcpgw_requests_total${labels({ method: r.name, status: r.outcome })} ${r.count}`);
  }

  const tools = byKind("tool");
  family("mcpgw_tool_calls_total", "counter", "Tool calls forwarded to backends, by tool, backend and outcome.");
  for (const r of tools) {
    out.push(`mcpgw_tool_calls_total${labels({ tool: r.name, backend: r.backend, outcome: r.outcome })} ${r.count}`);
  }
  family("mcpgw_tool_call_duration_ms", "histogram", "Backend latency of tool calls in milliseconds.");
  const merged = new Map<string, { tool: string; backend: string; counts: number[]; sum: number; count: number }>();
  for (const r of tools) {
    const key = `${r.name}\u0000${r.backend}`;
    const m = merged.get(key) ?? { tool: r.name, backend: r.backend, counts: Array(12).fill(0), sum: 0, count: 0 };
    buckets(r).forEach((n, i) => {
      m.counts[i] = (m.counts[i] ?? 0) + n;
    });
    m.sum += r.sumMs;
    m.count += r.count;
    merged.set(key, m);
  }
  for (const m of merged.values()) {
    let cumulative = 0;
    const bounds = [...LATENCY_BUCKETS_MS.map(String), "+Inf"];
    bounds.forEach((le, i) => {
      cumulative += m.counts[i] ?? 0;
      out.push(`mcpgw_tool_call_duration_ms_bucket${labels({ tool: m.tool, backend: m.backend, le })} ${cumulative}`);
    });
    out.push(`mcpgw_tool_call_duration_ms_sum${labels({ tool: m.tool, backend: m.backend })} ${m.sum}`);
    out.push(`mcpgw_tool_call_duration_ms_count${labels({ tool: m.tool, backend: m.backend })} ${m.count}`);
  }

  const plugins = byKind("plugin");
  family("mcpgw_plugin_executions_total", "counter", "Plugin runs that recorded a violation or failure, by plugin.");
  const executions = new Map<string, number>();
  for (const r of plugins) executions.set(r.name, (executions.get(r.name) ?? 0) + r.count);
  for (const [plugin, n] of executions) out.push(`mcpgw_plugin_executions_total${labels({ plugin })} ${n}`);
  family("mcpgw_plugin_violations_total", "counter", "Plugin violations by plugin and violation code.");
  for (const r of plugins.filter((p) => p.outcome !== "")) {
    out.push(`mcpgw_plugin_violations_total${labels({ plugin: r.name, code: r.outcome })} ${r.count}`);
  }

  family("mcpgw_backend_breaker_state", "gauge", "Circuit breaker state per backend (1 for the current state).");
  for (const b of breakers) {
    for (const state of ["closed", "open", "half-open"] as const) {
      out.push(`mcpgw_backend_breaker_state${labels({ backend: b.backend, state })} ${b.state === state ? 1 : 0}`);
    }
  }
  if (configReads) {
    // Per isolate: a scrape reaches one isolate. Shows the request path's D1 cost (design rule 1:
    // at most one version check per second per isolate, whatever the request rate).
    family(
      "mcpgw_isolate_config_reads_total",
      "counter",
      "Config checks and loads (through its config shard) by the isolate that served this scrape.",
    );
    out.push(`mcpgw_isolate_config_reads_total${labels({ kind: "version" })} ${configReads.version}`);
    out.push(`mcpgw_isolate_config_reads_total${labels({ kind: "load" })} ${configReads.load}`);
  }
  return `${out.join("\n")}\n`;
}
