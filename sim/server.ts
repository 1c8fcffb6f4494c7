/**
 * An object with a request capacity, as the simulation models Durable
 * Objects and D1: requests are served one after another at `capacity` a
 * second, and what would wait too long fails as overloaded.
 */

/** The longest a request waits in an object's queue before it fails as overloaded. */
const MAX_QUEUE_MS = 500;

export type ServerKind = "BackendDO" | "ShardDO" | "RateLimiterDO" | "SessionDO" | "D1" | "Queue";

/**
 * An object with a request capacity: it serves `capacity` requests a second
 * one after another, queues what arrives meanwhile, and fails a request as
 * overloaded when it would wait longer than `MAX_QUEUE_MS` (Cloudflare's
 * objects and D1 "first attempt to queue" requests, then return `overloaded`;
 * the queue's real depth is not documented, half a second is assumed).
 */
export class Server {
  /** Requests offered per simulated second. */
  readonly perSecond: number[] = [];
  private busyUntil = 0;
  rejected = 0;

  constructor(
    readonly name: string,
    readonly kind: ServerKind,
    /** The location it runs in. */
    readonly home: number,
    /** Requests a second it serves. */
    readonly capacity: number,
  ) {}

  /**
   * Offers `count` requests (a batch of statements) arriving at `t`: when
   * they are done, or null when the object is overloaded (they all fail).
   */
  offer(t: number, count = 1): number | null {
    const second = Math.floor(t / 1000);
    this.perSecond[second] = (this.perSecond[second] ?? 0) + count;
    const start = Math.max(this.busyUntil, t);
    if (start - t > MAX_QUEUE_MS) {
      this.rejected += count;
      return null;
    }
    this.busyUntil = start + (count * 1000) / this.capacity;
    return this.busyUntil;
  }

  /** The highest and the mean requests a second from `from` ms on. */
  load(from: number, until: number): { peak: number; mean: number } {
    let peak = 0;
    let sum = 0;
    const first = Math.floor(from / 1000);
    const last = Math.floor(until / 1000);
    for (let s = first; s < last; s++) {
      const n = this.perSecond[s] ?? 0;
      peak = Math.max(peak, n);
      sum += n;
    }
    return { peak, mean: sum / Math.max(1, last - first) };
  }
}
