/**
 * The D1 binding with a deadline and one failure type (design rule 5: every
 * outbound call has a timeout).
 *
 * Every statement and batch is raced against `STORE_TIMEOUT_MS`; a D1 error
 * or a timeout becomes a 503 `service_unavailable` HttpError (the original
 * error kept as its `cause`, so a unique-constraint violation is still
 * recognised as a 409 by `store/write.ts`). The admin API therefore answers
 * 503 when D1 is down or hanging, instead of a 500 or a request that never
 * ends, and the config cache can tell "store unavailable" from a bug.
 *
 * Hand-written because it is the seam between drizzle and the binding: it
 * implements the part of `D1Database` drizzle uses (`prepare`, `bind`, `run`,
 * `all`, `raw`, `first`, `batch`) and hands the real statements to D1.
 */
import { storeUnavailable } from "../errors";

/** Longest a D1 statement or batch may take before the request gives up on it. */
export const STORE_TIMEOUT_MS = 5_000;

function guard<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(storeUnavailable(new Error("D1 timeout"), true)), timeoutMs);
  });
  const guarded = work.catch((err: unknown) => {
    throw storeUnavailable(err, false);
  });
  return Promise.race([guarded, deadline]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** A prepared statement whose executions are guarded; `inner` is the real one (for `batch`). */
class GuardedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly timeoutMs: number,
  ) {}

  bind(...values: unknown[]): GuardedStatement {
    return new GuardedStatement(this.inner.bind(...values), this.timeoutMs);
  }

  run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return guard(this.inner.run<T>(), this.timeoutMs);
  }

  all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return guard(this.inner.all<T>(), this.timeoutMs);
  }

  raw<T = unknown[]>(): Promise<T[]> {
    return guard(this.inner.raw<T>(), this.timeoutMs);
  }

  first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    return guard(column === undefined ? this.inner.first<T>() : this.inner.first<T>(column), this.timeoutMs);
  }
}

/** `d1` with every execution guarded (see the module comment). */
export function guardedD1(d1: D1Database, timeoutMs = STORE_TIMEOUT_MS): D1Database {
  const guarded = {
    prepare: (sql: string) => new GuardedStatement(d1.prepare(sql), timeoutMs),
    batch: <T>(statements: Array<GuardedStatement | D1PreparedStatement>) =>
      guard(d1.batch<T>(statements.map((s) => (s instanceof GuardedStatement ? s.inner : s))), timeoutMs),
    exec: (sql: string) => guard(d1.exec(sql), timeoutMs),
    dump: () => guard(d1.dump(), timeoutMs),
    withSession: (constraint?: string) => d1.withSession(constraint),
  };
  // Structurally the part of D1Database drizzle and this project call; the statements are ours, not D1's class.
  return guarded as unknown as D1Database;
}
