/**
 * The span model and the per-request recorder.
 *
 * Design rule 2 (seeds: plugin-framework-performance-analysis, issue 1: a
 * gateway writing spans to its database inside the plugin path): spans are
 * collected in memory while the request runs, and handed to the isolate's
 * shipper (`shipper.ts`) once the response is produced; it sends them to the
 * Queue in batches inside `waitUntil`. Nothing on the request path awaits
 * observability, and a failing queue is ignored.
 */
import { z } from "zod";
import { spanShipper } from "./shipper";
import { formatTraceparent, newSpanId, type TraceContext } from "./trace-context";

const AttributeValue = z.union([z.string().max(256), z.number(), z.boolean()]);

/** Attribute keys a span may carry: names and classes, never arguments, results or secrets. */
export const ATTRIBUTE_KEYS = [
  "method",
  "tool",
  "prompt",
  "resource",
  "backend",
  "server",
  "token",
  "subject",
  "plugin",
  "violation",
  "error",
  "http.status",
  "rpc.error",
  /** Set on spans of sampled traces (`ship-policy.ts`): how many spans this one stands for in the rollups. */
  "sample.weight",
] as const;

/** A finished span as it travels through the Queue (validated again by the consumer). */
export const SpanSchema = z.strictObject({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  parentSpanId: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .nullable(),
  name: z.enum(["request", "backend", "plugin"]),
  startMs: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
  status: z.enum(["ok", "error"]),
  attributes: z.partialRecord(z.enum(ATTRIBUTE_KEYS), AttributeValue),
});

/** A finished span. */
export type Span = z.infer<typeof SpanSchema>;
/** Span attributes. */
export type Attributes = Span["attributes"];

/** Spans one request may record (one `sendBatch` holds at most 100 messages). */
const MAX_SPANS_PER_REQUEST = 100;

/** A span that has started and not yet ended. */
export interface ActiveSpan {
  readonly spanId: string;
  /** The `traceparent` a downstream call made inside this span should carry. */
  readonly traceparent: string;
  /** The attributes so far. */
  readonly attributes: Readonly<Attributes>;
  set(attributes: Attributes): void;
  end(status?: "ok" | "error", attributes?: Attributes): void;
}

/** The sink spans are handed to: the `SPANS` queue binding, or anything with its `sendBatch`. */
export interface SpanSink {
  sendBatch(messages: Iterable<MessageSendRequest<unknown>>): Promise<unknown>;
}

/** Collects one request's spans in memory; `flush` hands the finished ones to the queue. */
export class SpanRecorder {
  private finished: Span[] = [];
  private recorded = 0;
  /** The request's own span. */
  readonly root: ActiveSpan;

  constructor(
    private readonly trace: TraceContext & { parentSpanId?: string },
    private readonly sink: SpanSink | undefined,
    private readonly defer: (work: Promise<unknown>) => void,
  ) {
    this.root = this.open("request", trace.spanId, trace.parentSpanId ?? null, {});
  }

  /** Starts a child span of the request (or of `parent`). */
  start(name: "backend" | "plugin", attributes: Attributes = {}, parent: ActiveSpan = this.root): ActiveSpan {
    return this.open(name, newSpanId(), parent.spanId, attributes);
  }

  private open(name: Span["name"], spanId: string, parentSpanId: string | null, initial: Attributes): ActiveSpan {
    const startMs = Date.now();
    const started = performance.now();
    const attributes: Attributes = { ...initial };
    let ended = false;
    return {
      spanId,
      traceparent: formatTraceparent({ traceId: this.trace.traceId, spanId, flags: this.trace.flags }),
      attributes,
      set: (more) => Object.assign(attributes, more),
      end: (status = "ok", more = {}) => {
        if (ended || this.recorded >= MAX_SPANS_PER_REQUEST) return;
        ended = true;
        this.recorded++;
        this.finished.push({
          traceId: this.trace.traceId,
          spanId,
          parentSpanId,
          name,
          startMs,
          // workerd freezes timers during pure CPU work; I/O advances them, which is what a span measures.
          durationMs: Math.max(0, performance.now() - started),
          status,
          attributes: { ...attributes, ...more },
        });
      },
    };
  }

  /**
   * Hands the finished spans to the isolate's shipper, which batches them with
   * other requests' spans and sends them in `waitUntil`; never awaited, never throws.
   */
  flush(): void {
    if (this.finished.length === 0 || !this.sink) return;
    const spans = this.finished;
    this.finished = [];
    spanShipper.ship(spans, this.sink, this.defer);
  }
}
