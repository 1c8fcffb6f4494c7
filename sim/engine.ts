/**
 * A deterministic discrete-event engine: a clock in milliseconds, an event
 * heap ordered by (time, insertion order) and a seeded random source. Two runs
 * with the same seed schedule the same events in the same order.
 *
 * Hand-written rather than a package: the engine is forty lines and the
 * simulation needs exactly this (a stable order for equal times, a seeded
 * generator it can hand to every model), which general DES libraries either
 * lack or wrap in far more than it uses.
 */

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** mulberry32: a small, well-distributed 32-bit PRNG (public domain); enough for workload noise. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, for stable placement (which shard, which location) independent of run order. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The clock and the event queue. */
export class Engine {
  now = 0;
  /** Events run so far (for the report: what the run cost). */
  events = 0;
  private heap: Event[] = [];
  private seq = 0;
  readonly random: () => number;

  constructor(seed: number) {
    this.random = seeded(seed);
  }

  /** Runs `run` at `at` (never before now). */
  at(at: number, run: () => void): void {
    const event: Event = { at: Math.max(at, this.now), seq: this.seq++, run };
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Event;
      if (p.at < event.at || (p.at === event.at && p.seq < event.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  /** Runs `run` after `delay` ms. */
  after(delay: number, run: () => void): void {
    this.at(this.now + delay, run);
  }

  private pop(): Event | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      const lc = heap[l] as Event;
      if (r < n) {
        const rc = heap[r] as Event;
        if (rc.at < lc.at || (rc.at === lc.at && rc.seq < lc.seq)) c = r;
      }
      const child = heap[c] as Event;
      if (last.at < child.at || (last.at === child.at && last.seq < child.seq)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
    return top;
  }

  /** Runs events in order until the queue is empty or the next one is after `until`. */
  run(until: number): void {
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.at > until) break;
      this.pop();
      this.now = next.at;
      this.events++;
      next.run();
    }
    this.now = until;
  }
}
