// Shared by the breaker client tests: the real SHARD binding with its calls counted, waitUntil collection, backends.
import { env } from "cloudflare:workers";
import type { ShardDO } from "../../durable-objects/shard-do";
import { breakerSettings } from "../../src/backends/breaker";
import type { BackendConfig } from "../../src/config/snapshot";
import type { Bindings } from "../../src/env";
import { uniqueName } from "./helpers";

export type Method = "breakerState" | "tryAcquireTrial" | "report";

/**
 * The real SHARD binding (the client reaches the breaker through its shard), wrapped to count this
 * isolate's calls and to fail or hang them on demand.
 */
export function countingEnv() {
  const calls: Method[] = [];
  const fail = new Set<Method>();
  const hang = new Set<Method>();
  const real = env.SHARD;
  const SHARD = {
    idFromName: (name: string) => real.idFromName(name),
    get(id: DurableObjectId) {
      const stub = real.get(id);
      const track =
        <A extends unknown[], R>(method: Method, call: (...args: A) => Promise<R>) =>
        (...args: A): Promise<R> => {
          calls.push(method);
          if (hang.has(method)) return new Promise<R>(() => undefined);
          if (fail.has(method)) return Promise.reject(new Error("Durable Object unreachable"));
          return call(...args);
        };
      return {
        breakerState: track("breakerState", (b: string, k?: string) => stub.breakerState(b, k)),
        tryAcquireTrial: track("tryAcquireTrial", (b: string, lease: number, k?: string) =>
          stub.tryAcquireTrial(b, lease, k),
        ),
        report: track("report", (...a: Parameters<ShardDO["report"]>) => stub.report(...a)),
      };
    },
  };
  const count = (method: Method) => calls.filter((c) => c === method).length;
  return { env: { ...env, SHARD } as unknown as Bindings, calls, count, fail, hang };
}

/** Collects what the client hands to `waitUntil`; `settle` waits for all of it (including scheduled flushes). */
export function deferred() {
  const list: Promise<unknown>[] = [];
  return {
    list,
    defer: (work: Promise<unknown>) => void list.push(work),
    async settle() {
      while (list.length) await Promise.all(list.splice(0));
    },
  };
}

export function backend(over: Partial<BackendConfig> = {}): BackendConfig {
  return {
    name: uniqueName("bc"),
    url: "https://93.184.215.14/mcp",
    transport: "streamable-http",
    headers: {},
    timeoutMs: 1000,
    healthIntervalSeconds: 30,
    failureThreshold: 3,
    cooldownSeconds: 10,
    enabled: true,
    ...over,
  };
}

/** The Durable Object itself, uncounted: to set up and inspect its state. */
export const direct = (b: BackendConfig) => env.BACKEND.get(env.BACKEND.idFromName(b.name));

export function fail(b: BackendConfig, n: number) {
  return direct(b).report(breakerSettings(b), { batch: { successes: 0, failures: n, trailingFailures: n } });
}
