/**
 * Isolate-level configuration cache (design rule 1: no database I/O on the hot path).
 *
 * - Fresh (checked less than `freshMs`, 1 s, ago): served from memory, zero queries.
 * - Stale but recent (< `maxStaleMs`, 2 s): served from memory at once, and a
 *   background check (`SELECT version`, plus a full reload only if it changed)
 *   is handed to `defer` (ctx.waitUntil). Under steady traffic (a request a
 *   second or more per isolate) every request is served this way.
 * - Older than `maxStaleMs` (a quiet isolate) or never loaded: the request waits
 *   for the check.
 *
 * So no isolate answers from a snapshot older than `maxStaleMs`: every edit,
 * and above all a revoked token, is in force everywhere within 2 s (plus one
 * D1 round trip), which is what the README promises (hardening issue,
 * defect 6: the stale window used to be 10 s).
 *
 * Checks are single-flight: concurrent callers share one in-flight check.
 * D1 failing or slow never fails a request that has a snapshot to serve: an
 * awaited check gives up after `checkTimeoutMs` and the last good snapshot
 * answers (the check goes on in the background); only a cold isolate with
 * no snapshot answers 503.
 * The module is pure (the source and clock are injected) so it is unit-tested
 * without D1.
 */
import { HttpError, storeUnavailable } from "../errors";
import { withDeadline } from "../util/time";
import { type CachePolicy, cacheStep, checkedAtAfterTimeout, DEFAULT_CACHE_POLICY } from "./cache-policy";
import type { ConfigSnapshot } from "./snapshot";

/** Where snapshots come from (D1 in production, anything in tests). */
export interface ConfigSource {
  /** The current config version (one tiny query). */
  version(): Promise<number>;
  /** A full snapshot (one batched round trip). */
  load(): Promise<ConfigSnapshot>;
  /**
   * The store itself, when this source is a cache in front of it (the config
   * shard): the check right after a local write goes there, so the isolate
   * that wrote sees its write at once.
   */
  direct?: ConfigSource;
}

/** Overrides of the cache policy (`cache-policy.ts`) and the clock, for tests. */
export interface ConfigCacheOptions extends Partial<CachePolicy> {
  now?: () => number;
}

/** Caches one snapshot per isolate, revalidated by config version. */
export class ConfigCache {
  private current: ConfigSnapshot | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private failedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<ConfigSnapshot> | undefined;
  /** Bumped by `invalidate` so a check that started before a write cannot mark the cache fresh. */
  private generation = 0;
  /** Set by `invalidate`: the next check asks `source.direct` (read-your-writes), until one succeeds. */
  private bypass = false;
  private readonly policy: CachePolicy;
  private readonly now: () => number;
  /** D1 round trips this cache made: version checks and full loads (this isolate only). */
  readonly reads = { version: 0, load: 0 };

  constructor(options: ConfigCacheOptions = {}) {
    const { now, ...policy } = options;
    this.policy = { ...DEFAULT_CACHE_POLICY, ...policy };
    this.now = now ?? Date.now;
  }

  /** Returns a snapshot, revalidating as described above. */
  async get(source: ConfigSource, defer: (work: Promise<unknown>) => void): Promise<ConfigSnapshot> {
    const current = this.current;
    const step = cacheStep(
      {
        checkedAt: this.checkedAt,
        hasSnapshot: current !== undefined,
        checking: this.pending !== undefined,
        failedAt: this.failedAt,
      },
      this.now(),
      this.policy,
    );
    if (current && step === "serve") return current;
    if (current && step === "serve-and-check") {
      defer(this.revalidate(source).catch(() => undefined));
      return current;
    }
    if (!current) {
      try {
        return await this.revalidate(source);
      } catch (err) {
        throw err instanceof HttpError ? err : storeUnavailable(err, false);
      }
    }
    const checked = await withDeadline(
      this.revalidate(source).catch(() => undefined),
      this.policy.checkTimeoutMs,
    );
    if (checked) return checked;
    // D1 failing or slow: keep serving the last good config rather than failing all traffic, and
    // let the next requests use it without waiting (stale: they check in the background).
    this.checkedAt = checkedAtAfterTimeout(this.checkedAt, this.now(), this.policy);
    return current;
  }

  /** Forces the next `get` to check the version before answering (after a local write). */
  invalidate(): void {
    this.checkedAt = Number.NEGATIVE_INFINITY;
    this.pending = undefined;
    this.generation++;
    this.bypass = true;
  }

  /** The version currently held, if any (for /health and tests). */
  get version(): number | undefined {
    return this.current?.version;
  }

  private revalidate(from: ConfigSource): Promise<ConfigSnapshot> {
    if (this.pending !== undefined) return this.pending;
    const direct = this.bypass && from.direct !== undefined;
    const source = direct && from.direct ? from.direct : from;
    const startedAt = this.now();
    const generation = this.generation;
    const markChecked = () => {
      if (generation !== this.generation) return;
      this.checkedAt = startedAt;
      if (direct) this.bypass = false;
    };
    const run = async () => {
      const current = this.current;
      if (current) this.reads.version++;
      if (current && (await source.version()) === current.version) {
        markChecked();
        return current;
      }
      this.reads.load++;
      const next = await source.load();
      // A slower concurrent load must never replace a newer snapshot.
      if (!this.current || next.version >= this.current.version) this.current = next;
      markChecked();
      return this.current;
    };
    const pending = run()
      .catch((err: unknown) => {
        if (generation === this.generation) this.failedAt = this.now();
        throw err;
      })
      .finally(() => {
        if (this.pending === pending) this.pending = undefined;
      });
    this.pending = pending;
    return pending;
  }
}
