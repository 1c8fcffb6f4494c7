/**
 * Server-Sent Events: encoding events for clients and parsing upstream streams.
 */

import { randomHex } from "../auth/secrets";

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

/**
 * Parses an SSE byte stream into events (WHATWG EventSource rules: `data`
 * lines join with `\n`, a blank line dispatches, comments are skipped, an
 * event with no data is not dispatched). Bounded: a single event over
 * `maxEventBytes` aborts the stream with an error.
 */
export async function* parseSse(
  body: ReadableStream<Uint8Array>,
  maxEventBytes = 16 * 1024 * 1024,
): AsyncGenerator<SseEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data: string[] = [];
  let dataBytes = 0;
  let event = "";
  let id: string | undefined;
  let retry: number | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        const skip = buffer.startsWith("\r\n", newline) ? 2 : 1;
        buffer = buffer.slice(newline + skip);
        if (line === "") {
          if (data.length > 0) {
            const out: SseEvent = { event: event || "message", data: data.join("\n") };
            if (id !== undefined) out.id = id;
            if (retry !== undefined) out.retry = retry;
            yield out;
          }
          data = [];
          dataBytes = 0;
          event = "";
          retry = undefined;
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? "" : line.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "data") {
            dataBytes += value.length;
            if (dataBytes > maxEventBytes) throw new Error("SSE event too large");
            data.push(value);
          } else if (field === "event") event = value;
          else if (field === "id") id = value;
          else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
        }
        newline = buffer.search(/\r\n|\r|\n/);
      }
      if (buffer.length > maxEventBytes) throw new Error("SSE line too long");
    }
  } finally {
    // Cancelling the reader cancels the upstream body too (e.g. when the consumer stops early).
    await reader.cancel().catch(() => undefined);
  }
}
