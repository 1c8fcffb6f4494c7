/**
 * The bounded queue behind one legacy client's SSE stream (MCP 2024-11-05
 * "HTTP with SSE"): the Durable Object pushes encoded events, the stream
 * hands them out only as its reader pulls (high-water mark 0), so what waits
 * here is exactly what the client has not taken yet. That backlog is bounded
 * in messages and bytes (design rule 5): a client that stops reading is
 * disconnected rather than buffered without end.
 *
 * Written by hand rather than with a TransformStream because the bound, the
 * drain-then-close and the reader's cancel (the client left) each need a hook
 * that TransformStream does not expose.
 */

/** Bounds of the backlog a reader has not taken yet. */
export interface OutboxLimits {
  messages: number;
  bytes: number;
}

/** Why a push was refused. */
export type PushResult = "ok" | "closed" | "full";

/** One SSE stream's outgoing queue. */
export class Outbox {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private state: "open" | "closing" | "closed" = "open";
  /** The stream the reader consumes (returned over RPC to the isolate that serves the GET). */
  readonly stream: ReadableStream<Uint8Array>;

  constructor(
    private readonly limits: OutboxLimits,
    /** Called once when the reader cancels (the client went away). */
    private readonly onCancel: () => void,
  ) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: async (controller) => {
          while (this.queue.length === 0 && this.state === "open") {
            await new Promise<void>((resolve) => {
              this.wake = resolve;
            });
          }
          const chunk = this.queue.shift();
          if (chunk) {
            this.queuedBytes -= chunk.byteLength;
            controller.enqueue(chunk);
            return;
          }
          // Drained after close(): end the stream.
          if (this.state !== "closed") {
            this.state = "closed";
            controller.close();
          }
        },
        cancel: () => {
          if (this.state === "closed") return;
          this.discard();
          this.onCancel();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Messages waiting for the reader. */
  get size(): number {
    return this.queue.length;
  }

  /** True until the stream was closed, cancelled or failed. */
  get open(): boolean {
    return this.state === "open";
  }

  /** Queues one encoded event; refused once closed, or when the backlog would pass a bound. */
  push(chunk: Uint8Array): PushResult {
    if (this.state !== "open") return "closed";
    if (this.queue.length + 1 > this.limits.messages || this.queuedBytes + chunk.byteLength > this.limits.bytes) {
      return "full";
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.byteLength;
    this.notify();
    return "ok";
  }

  /** Ends the stream after the reader has taken what is queued (an orderly end). */
  close(): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.notify();
  }

  /**
   * Ends the stream at once, dropping the backlog: the reader gets what the
   * runtime already took from it, then the end. (Not an error: an errored
   * stream is an uncaught rejection in the runtime's pump, for a case that is
   * the client's doing.)
   */
  drop(): void {
    if (this.state === "closed") return;
    this.discard();
    try {
      this.controller?.close();
    } catch {
      // Already closed or cancelled.
    }
  }

  private discard(): void {
    this.state = "closed";
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
