/**
 * Ships finished spans to the queue in batches shared by the requests of one
 * isolate.
 *
 * One `sendBatch` per request made the queue the largest cost of a warm call
 * in the benchmark (issue 8: about 1.4 ms of workerd CPU per call locally,
 * and two billed queue messages per call in production). Instead, the first
 * request that finishes spans while nothing is pending schedules a drain in
 * its own `waitUntil`; the drain waits `LINGER_MS` so the spans of concurrent
 * requests join, then sends them as a few messages of many spans each. Under
 * load that is one queue message per isolate per linger window, whatever the
 * request rate; a lone request's spans leave after `LINGER_MS`.
 *
 * At scale (issue 20) the linger and a head sample are sized from the
 * deployment's isolate count as the isolate's config shard estimates it
 * (`ship-policy.ts`): a small deployment ships every span within 100 ms as
 * before; thousands of isolates linger up to 5 s and store a sample of
 * traces, each kept span weighted (`sample.weight`) so the rollups still
 * count every call, and the queue's message rate stays bounded per
 * deployment.
 *
 * Nothing here is awaited by a request (design rule 2): requests only push to
 * the buffer. The buffer is bounded (the newest spans are dropped once full,
 * while a stuck queue is timed out); a drain that never finished (its
 * request's context was cancelled) is replaced after `STALE_DRAIN_MS`.
 */
import { estimatedIsolates } from "../util/isolate";
import { sleep, withDeadline } from "../util/time";
import { keepProbability, keepTrace, lingerMs } from "./ship-policy";
import type { Span, SpanSink } from "./span";

/** How long a drain waits for other requests' spans before it sends, in a small deployment. */
export const LINGER_MS = 100;
/** The trace rate is measured over windows of this length. */
const RATE_WINDOW_MS = 10_000;
/** Budget of one queue message (the limit is 128 KB; sizes are estimated, not serialised). */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** At most this many messages per `sendBatch` (the Queues limit is 100). */
const MAX_MESSAGES_PER_SEND = 50;
/** Spans an isolate holds while a send is slow; newer ones are dropped beyond this. */
const MAX_BUFFERED_SPANS = 10_000;
/** A `sendBatch` that has not settled by then is abandoned (its spans count as dropped). */
const SEND_TIMEOUT_MS = 5_000;
const STALE_DRAIN_MS = 30_000;

/** A queue message carrying several spans (the consumer also accepts a bare span, the earlier format). */
export interface SpanBatchMessage {
  spans: Span[];
}

/** Rough JSON size of a span, from its strings, without serialising it. */
function estimateBytes(span: Span): number {
  let bytes = 220;
  for (const value of Object.values(span.attributes)) bytes += typeof value === "string" ? value.length + 24 : 32;
  return bytes;
}

/** Splits spans into message bodies of at most MAX_MESSAGE_BYTES each (estimated). */
export function packMessages(spans: readonly Span[]): SpanBatchMessage[] {
  const messages: SpanBatchMessage[] = [];
  let current: Span[] = [];
  let bytes = 0;
  for (const span of spans) {
    const size = estimateBytes(span);
    if (current.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
      messages.push({ spans: current });
      current = [];
      bytes = 0;
    }
    current.push(span);
    bytes += size;
  }
  if (current.length > 0) messages.push({ spans: current });
  return messages;
}

interface Pending {
  spans: Span[];
  /** When the running drain was scheduled; null when none runs. */
  drainingSince: number | null;
  dropped: number;
}

/** How a shipper sizes itself: fixed (tests) or from the deployment's estimated size. */
export interface ShipSizing {
  /** The deployment's isolate count (1: ship everything at once, as a single isolate would). */
  isolates(): number;
}

/** The isolate's own estimate (its config shard's answer). */
const ESTIMATED: ShipSizing = { isolates: estimatedIsolates };

/** Per-isolate span buffers, one per sink (the `SPANS` binding is one object per isolate). */
export class SpanShipper {
  private readonly pending = new WeakMap<SpanSink, Pending>();
  /** Traces (root spans) seen in the current and the last full rate window. */
  private rate = { windowStart: Number.NEGATIVE_INFINITY, count: 0, perSecond: 0 };

  /** `linger`: a fixed linger in ms (tests), or undefined to size it from `sizing`. */
  constructor(
    private readonly linger?: number,
    private readonly sizing: ShipSizing = ESTIMATED,
  ) {}

  /** Traces a second this isolate served over the last full window (root spans, counted as shipped). */
  private tracesPerSecond(spans: readonly Span[], now: number): number {
    if (now - this.rate.windowStart >= RATE_WINDOW_MS) {
      const elapsed = Math.min(now - this.rate.windowStart, 2 * RATE_WINDOW_MS);
      this.rate = { windowStart: now, count: 0, perSecond: (1000 * this.rate.count) / Math.max(1, elapsed) };
    }
    for (const span of spans) if (span.parentSpanId === null) this.rate.count++;
    return this.rate.perSecond;
  }

  /**
   * The spans to ship: all of them while the deployment stores every trace,
   * else those of kept traces (decided by trace id, so a trace is kept or
   * dropped whole), weighted by how many they stand for.
   */
  private sample(spans: readonly Span[], now: number): readonly Span[] {
    // A whole weight (one kept trace stands for `weight`), so the rollups' counts stay integers.
    const weight = Math.max(
      1,
      Math.round(1 / keepProbability(this.sizing.isolates(), this.tracesPerSecond(spans, now))),
    );
    if (weight === 1) return spans;
    const p = 1 / weight;
    return spans
      .filter((s) => keepTrace(s.traceId, p))
      .map((s) => ({ ...s, attributes: { ...s.attributes, "sample.weight": weight } }));
  }

  /** Buffers `spans` for `sink`; schedules a drain in `defer` (the request's `waitUntil`) if none runs. */
  ship(all: readonly Span[], sink: SpanSink, defer: (work: Promise<unknown>) => void): void {
    const spans = this.sample(all, Date.now());
    if (spans.length === 0) return;
    let state = this.pending.get(sink);
    if (!state) {
      state = { spans: [], drainingSince: null, dropped: 0 };
      this.pending.set(sink, state);
    }
    const room = Math.max(0, MAX_BUFFERED_SPANS - state.spans.length);
    state.spans.push(...spans.slice(0, room));
    state.dropped += spans.length - Math.min(room, spans.length);
    const now = Date.now();
    if (state.drainingSince !== null && now - state.drainingSince < STALE_DRAIN_MS) return;
    state.drainingSince = now;
    try {
      defer(this.drain(sink, state, now));
    } catch {
      // A context that cannot defer must not fail the request; the next request drains.
      state.drainingSince = null;
    }
  }

  /** Spans dropped for `sink` because the buffer was full (for tests and diagnostics). */
  dropped(sink: SpanSink): number {
    return this.pending.get(sink)?.dropped ?? 0;
  }

  private async drain(sink: SpanSink, state: Pending, since: number): Promise<void> {
    try {
      await sleep(this.linger ?? lingerMs(this.sizing.isolates()));
      while (state.spans.length > 0 && state.drainingSince === since) {
        const messages = packMessages(state.spans.splice(0, state.spans.length));
        for (let i = 0; i < messages.length; i += MAX_MESSAGES_PER_SEND) {
          const batch = messages
            .slice(i, i + MAX_MESSAGES_PER_SEND)
            .map((body) => ({ body, contentType: "json" as const }));
          let sent: true | undefined;
          try {
            sent = await withDeadline(
              Promise.resolve(sink.sendBatch(batch)).then(() => true as const),
              SEND_TIMEOUT_MS,
            );
          } catch {
            // A failing queue loses these spans; it never fails a request (design rule 2).
          }
          if (!sent) state.dropped += batch.reduce((n, m) => n + m.body.spans.length, 0);
        }
      }
    } finally {
      if (state.drainingSince === since) state.drainingSince = null;
    }
  }
}

/** The isolate's shipper. */
export const spanShipper = new SpanShipper();
