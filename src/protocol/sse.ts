/**
 * Server-Sent Events: encoding events for clients and parsing upstream streams.
 */

import { randomHex } from "../util/bytes";

const encoder = new TextEncoder();

/** One parsed SSE event. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/** Encodes one `message` event carrying a JSON-RPC message. */
export function encodeSseMessage(message: unknown, id?: string): Uint8Array {
  const idLine = id === undefined ? "" : `id: ${id}\n`;
  return encoder.encode(`event: message\n${idLine}data: ${JSON.stringify(message)}\n\n`);
}

/** How long a client should wait before reconnecting a dropped stream (the `retry` field). */
export const CLIENT_RETRY_MS = 2_000;

/**
 * The first event of every stream the gateway opens: an event id with empty
 * data and a `retry` hint (MCP 2025-11-25 basic/transports: the server SHOULD
 * prime the client to reconnect; SEP-1699). Clients skip it as a message.
 */
export function encodeSsePriming(): Uint8Array {
  return encoder.encode(`id: ${randomHex(8)}\nretry: ${CLIENT_RETRY_MS}\ndata: \n\n`);
}

/** Encodes an SSE comment (keeps idle connections open through proxies). */
export function encodeSseComment(text: string): Uint8Array {
  return encoder.encode(`: ${text}\n\n`);
}

/** Why `parseSse` stopped a stream: one event (or line) or the whole stream was larger than allowed. */
export class SseLimitError extends Error {
  constructor(
    readonly limit: "event" | "stream",
    readonly max: number,
  ) {
    super(limit === "event" ? `SSE event larger than ${max} characters` : `SSE stream longer than ${max} characters`);
    this.name = "SseLimitError";
  }
}

/** Bounds on what `parseSse` accepts (in decoded characters). */
export interface SseLimits {
  /** One event's data, or one line (default 4 Mi). */
  maxEventChars?: number;
  /** The whole stream (default unbounded: GET streams and legacy connections live on). */
  maxStreamChars?: number;
}

const NEWLINE = /\r\n|\r|\n/g;

/**
 * Parses an SSE byte stream into events (WHATWG EventSource rules: `data`
 * lines join with `\n`, a blank line dispatches, comments are skipped, an
 * event with no data is not dispatched; a CR at the end of a chunk waits for
 * a possible LF). Bounded: an event or line over `maxEventChars`, or a stream
 * over `maxStreamChars`, ends it with an SseLimitError (the upstream body is
 * cancelled). Lines are found scanning each character once.
 */
export async function* parseSse(body: ReadableStream<Uint8Array>, limits: SseLimits = {}): AsyncGenerator<SseEvent> {
  const maxEvent = limits.maxEventChars ?? 4 * 1024 * 1024;
  const maxStream = limits.maxStreamChars ?? Number.POSITIVE_INFINITY;
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const newline = new RegExp(NEWLINE.source, "g");
  let buffer = "";
  let scanFrom = 0;
  let streamChars = 0;
  let data: string[] = [];
  let dataChars = 0;
  let event = "";
  let id: string | undefined;
  let retry: number | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      streamChars += value.length;
      if (streamChars > maxStream) throw new SseLimitError("stream", maxStream);
      buffer += value;
      for (;;) {
        newline.lastIndex = scanFrom;
        const match = newline.exec(buffer);
        if (!match || (match[0] === "\r" && match.index === buffer.length - 1)) {
          scanFrom = match ? match.index : buffer.length;
          break;
        }
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        scanFrom = 0;
        if (line === "") {
          if (data.length > 0) {
            const out: SseEvent = { event: event || "message", data: data.join("\n") };
            if (id !== undefined) out.id = id;
            if (retry !== undefined) out.retry = retry;
            yield out;
          }
          data = [];
          dataChars = 0;
          event = "";
          retry = undefined;
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "data") {
            dataChars += value.length;
            if (dataChars > maxEvent) throw new SseLimitError("event", maxEvent);
            data.push(value);
          } else if (field === "event") event = value;
          else if (field === "id") id = value;
          else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
        }
      }
      if (buffer.length > maxEvent) throw new SseLimitError("event", maxEvent);
    }
  } finally {
    // Cancelling the reader cancels the upstream body too (e.g. when the consumer stops early).
    await reader.cancel().catch(() => undefined);
  }
}
