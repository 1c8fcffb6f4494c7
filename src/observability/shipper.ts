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
 * Nothing here is awaited by a request (design rule 2): requests only push to
 * the buffer. The buffer is bounded (the newest spans are dropped once full,
 * while a stuck queue is timed out); a drain that never finished (its
 * request's context was cancelled) is replaced after `STALE_DRAIN_MS`.
 */
import { sleep, withDeadline } from "../util/time";
import type { Span, SpanSink } from "./span";

/** How long a drain waits for other requests' spans before it sends. */
export const LINGER_MS = 100;
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

/** Per-isolate span buffers, one per sink (the `SPANS` binding is one object per isolate). */
export class SpanShipper {
  private readonly pending = new WeakMap<SpanSink, Pending>();

  constructor(private readonly lingerMs = LINGER_MS) {}

  /** Buffers `spans` for `sink`; schedules a drain in `defer` (the request's `waitUntil`) if none runs. */
  ship(spans: readonly Span[], sink: SpanSink, defer: (work: Promise<unknown>) => void): void {
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
      await sleep(this.lingerMs);
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
