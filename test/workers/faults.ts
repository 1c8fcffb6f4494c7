/**
 * Fault injection for the workerd tests: the real bindings (D1, a Durable
 * Object namespace), wrapped so a test can make them fail, hang or slow down
 * on demand and pass the wrapped env to the Worker's fetch. Healthy, they
 * hand the real objects through untouched.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { ADMIN } from "./helpers";

/** What a wrapped binding does now; tests flip `mode` between requests. */
export interface Fault {
  mode: "ok" | "fail" | "hang" | "slow";
  /** D1 only: fail writes (batches and INSERT/UPDATE/DELETE) and let reads through. */
  writesOnly?: boolean;
  /** Calls that met the fault (proves the binding was really tried). */
  hits: number;
}

/** The error D1 raises when its storage cannot be reached. */
export const D1_DOWN = "D1_ERROR: Network connection lost.";

function faulty<T>(fault: Fault, real: () => Promise<T>, error: () => Error): Promise<T> {
  if (fault.mode === "ok") return real();
  fault.hits += 1;
  if (fault.mode === "fail") return Promise.reject(error());
  if (fault.mode === "hang") return new Promise<T>(() => undefined);
  return new Promise((resolve) => setTimeout(resolve, 200)).then(real);
}

/** `real` with `fault` applied to every statement (or only writes) and batch. */
export function faultyD1(real: D1Database, fault: Fault): D1Database {
  const down = () => new Error(D1_DOWN);
  const isWrite = (sql: string) => /^\s*(insert|update|delete)/i.test(sql);
  const statement = (sql: string, inner: D1PreparedStatement): D1PreparedStatement => {
    const applies = () => !fault.writesOnly || isWrite(sql);
    const wrapped = {
      bind: (...values: unknown[]) => statement(sql, inner.bind(...values)),
      run: () => (applies() ? faulty(fault, () => inner.run(), down) : inner.run()),
      all: () => (applies() ? faulty(fault, () => inner.all(), down) : inner.all()),
      raw: () => (applies() ? faulty(fault, () => inner.raw(), down) : inner.raw()),
      first: (column?: string) =>
        applies() ? faulty(fault, () => inner.first(column as string), down) : inner.first(column as string),
      inner,
    };
    return wrapped as unknown as D1PreparedStatement;
  };
  const unwrap = (s: D1PreparedStatement) => (s as unknown as { inner?: D1PreparedStatement }).inner ?? s;
  const wrapped = {
    prepare: (sql: string) => statement(sql, real.prepare(sql)),
    batch: (statements: D1PreparedStatement[]) => faulty(fault, () => real.batch(statements.map(unwrap)), down),
    exec: (sql: string) => faulty(fault, () => real.exec(sql), down),
    dump: () => real.dump(),
    withSession: (constraint?: string) => real.withSession(constraint),
  };
  return wrapped as unknown as D1Database;
}

/** The error workerd raises for an overloaded Durable Object. */
export function overloaded(): Error {
  return Object.assign(new Error("Durable Object is overloaded. Requests queued for too long."), {
    overloaded: true,
    retryable: false,
  });
}

/**
 * `real` whose stubs meet `fault` on the named RPC methods (all when
 * `methods` is empty); `error` is what a failing call throws.
 */
export function faultyNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  real: DurableObjectNamespace<T>,
  fault: Fault,
  error: () => Error = () => new Error("Network connection lost."),
  methods: readonly string[] = [],
): DurableObjectNamespace<T> {
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== "get") {
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (id: DurableObjectId) => {
        const stub = target.get(id);
        return new Proxy(stub, {
          get(s, method) {
            const fn: unknown = Reflect.get(s, method);
            if (typeof fn !== "function") return fn;
            const applies = typeof method === "string" && (methods.length === 0 || methods.includes(method));
            // Reflect.apply: on an RPC stub, `fn.apply` would be an RPC call to a method named "apply".
            return (...args: unknown[]) =>
              applies ? faulty(fault, () => Reflect.apply(fn, s, args), error) : Reflect.apply(fn, s, args);
          },
        });
      };
    },
  });
}

/** Runs one request through the Worker with `bindings` replaced; waits for its background work when asked. */
export async function fetchWith(
  bindings: Partial<typeof env>,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; wait?: boolean } = {},
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}`, ...options.headers };
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  const request = new Request(`http://localhost${path}`, {
    method,
    headers,
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...bindings }, ctx);
  if (options.wait) await waitOnExecutionContext(ctx);
  return res;
}
