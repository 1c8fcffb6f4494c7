/**
 * Bounds on what a backend may send back (design rule 5: every body is
 * bounded). A JSON reply is read incrementally and abandoned (its body
 * cancelled) at `MAX_REPLY_BYTES`, so an endless body ends too; an SSE reply
 * stream is bounded per event and in total. Going over is a `too-large`
 * BackendFailure naming the backend, never an unbounded read or a 500.
 */

import { type SseEvent, SseLimitError } from "../protocol/sse";
import { BackendFailure } from "./failure";

/**
 * Largest message a backend may send: a JSON reply, or one SSE event (4 MiB,
 * as large as a client's request may be). A bigger one fails the call with a
 * `too-large` error naming the backend; the rest of the body is not read.
 */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** Most one reply stream may carry in all (progress and log messages included); past it the call fails. */
export const MAX_REPLY_STREAM_BYTES = 32 * 1024 * 1024;

const MiB = (bytes: number) => `${bytes / (1024 * 1024)} MiB`;

function tooLarge(backend: string, what: string, max: number): BackendFailure {
  return new BackendFailure(backend, "too-large", `Backend '${backend}' sent ${what} larger than ${MiB(max)}`);
}

/** Reads a JSON body with a size bound: reading stops (and the body is cancelled) at the bound, so an endless body ends too. */
export async function readBoundedJson(backend: string, res: Response): Promise<unknown> {
  return parseReplyText(backend, await readBoundedText(backend, res));
}

/** A reply's JSON value; malformed text is a `malformed` BackendFailure. */
export function parseReplyText(backend: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BackendFailure(backend, "malformed", `Backend '${backend}' sent a reply that is not JSON`);
  }
}

/** A reply body as text, with the bound of `readBoundedJson`. */
export async function readBoundedText(backend: string, res: Response): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_REPLY_BYTES) {
    await res.body?.cancel();
    throw tooLarge(backend, "a reply", MAX_REPLY_BYTES);
  }
  let text = "";
  const encoding = res.headers.get("content-encoding");
  if (res.headers.has("content-length") && (encoding === null || encoding === "identity")) {
    // The runtime reads exactly the declared length, already checked above, so one native read is
    // bounded; the chunk loop below cost about a tenth of a warm call's CPU (issue 15). A
    // compressed body is decoded by the runtime to any size, so it takes the loop.
    text = await res.text();
  } else if (res.body) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let bytes = 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      bytes += next.value.byteLength;
      if (bytes > MAX_REPLY_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(backend, "a reply", MAX_REPLY_BYTES);
      }
      text += decoder.decode(next.value, { stream: true });
    }
    text += decoder.decode();
  }
  return text;
}

/** Events of a reply stream; a stream over its bounds fails as `too-large`, naming the backend. */
export async function* boundedEvents(backend: string, events: AsyncGenerator<SseEvent>): AsyncGenerator<SseEvent> {
  try {
    yield* events;
  } catch (err) {
    if (!(err instanceof SseLimitError)) throw err;
    throw err.limit === "event"
      ? tooLarge(backend, "an event", MAX_REPLY_BYTES)
      : tooLarge(backend, "a stream", MAX_REPLY_STREAM_BYTES);
  }
}
