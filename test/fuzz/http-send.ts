/**
 * A `Send` over real HTTP (node:http), for `npm run fuzz`: raw methods
 * (CONNECT included), raw paths, any Host header, bodies on any method.
 * Bodies are read up to 8 MiB; a GET event stream is read to its first
 * chunk and then dropped (it never ends); everything has a 30 s deadline.
 * A request Node refuses to send (a header value with CR/LF, a path with
 * raw spaces) is `Unsendable`; a connection the gateway drops is status 0.
 *
 * Bodies over `RAW_ABOVE` go over a plain socket, the body held back until
 * the headers had a moment to be answered: the gateway may answer (413,
 * 401, 415) before reading a large body and close the connection, and
 * node:http then reports EPIPE instead of the answer it was sent.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import type { Send, WireRequest, WireResponse } from "./model.ts";

/** A request node:http will not put on the wire. */
export class Unsendable extends Error {}

const READ_LIMIT = 8 * 1024 * 1024;
const DEADLINE_MS = 30_000;

function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) out[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
  return out;
}

const RAW_ABOVE = 512 * 1024;
/** How long a large body waits for an answer to its headers alone. */
const EARLY_ANSWER_MS = 1000;

/** Parses an HTTP/1.1 response (Content-Length or chunked body); status 0 if there is none. */
function parseRaw(data: Buffer): WireResponse {
  const end = data.indexOf("\r\n\r\n");
  if (end < 0) return { status: 0, headers: {}, body: "connection closed without an answer" };
  const [statusLine = "", ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(end + 4);
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; ) {
      const eol = body.indexOf("\r\n", at);
      const size = Number.parseInt(body.subarray(at, eol).toString("latin1"), 16);
      if (eol < 0 || !(size > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers["content-length"] !== undefined) {
    body = body.subarray(0, Number(headers["content-length"]));
  }
  return { status: Number(statusLine.split(" ")[1]) || 0, headers, body: body.toString("utf8") };
}

/** One request over its own socket, reading whatever the server answers even if it stops reading the body. */
function rawSend(target: URL, req: WireRequest): Promise<WireResponse> {
  return new Promise((resolve) => {
    const socket = connect(Number(target.port), target.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(DEADLINE_MS, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(parseRaw(Buffer.concat(chunks))));
    const body = Buffer.from(req.body ?? "", "utf8");
    const lines = [`${req.method} ${req.path} HTTP/1.1`];
    if (!req.headers.some(([k]) => k.toLowerCase() === "host")) lines.push(`host: ${target.host}`);
    for (const [k, v] of req.headers) lines.push(`${k}: ${v}`);
    lines.push(`content-length: ${body.length}`, "connection: close", "", "");
    socket.write(lines.join("\r\n"));
    // Like `Expect: 100-continue`: a server that answers from the headers alone (413, 401, 415)
    // closes with the body unread, and the reset that follows would discard its answer in flight.
    const early = setTimeout(() => socket.end(body), EARLY_ANSWER_MS);
    socket.once("data", () => clearTimeout(early));
  });
}

/** Sends to `base` (e.g. `http://127.0.0.1:40000`). */
export function httpSend(base: string): Send {
  const target = new URL(base);
  return (req: WireRequest) =>
    new Promise<WireResponse>((resolve, reject) => {
      if (req.body !== null && req.body.length > RAW_ABOVE) {
        if (req.headers.some(([k, v]) => /[\r\n]/.test(k + v))) return reject(new Unsendable("CR/LF in a header"));
        return void rawSend(target, req).then(resolve);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of req.headers) headers[k] = v;
      if (req.body !== null) headers["content-length"] = String(Buffer.byteLength(req.body));
      let client: ReturnType<typeof httpRequest>;
      try {
        client = httpRequest({
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.path,
          headers,
          timeout: DEADLINE_MS,
        });
      } catch (err) {
        reject(new Unsendable(err instanceof Error ? err.message : "unsendable"));
        return;
      }
      const settle = (res: IncomingMessage, firstChunkOnly: boolean) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let partial = false;
        const done = () => {
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: headersOf(res), body, partial });
        };
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size > READ_LIMIT || firstChunkOnly) {
            partial = true;
            res.destroy();
            done();
          }
        });
        res.on("end", done);
        res.on("error", done);
        res.on("close", done);
      };
      client.on("response", (res) => {
        const sse = (res.headers["content-type"] ?? "").startsWith("text/event-stream");
        settle(res, sse && req.method.toUpperCase() === "GET");
      });
      // CONNECT answers arrive as "connect": the status line is what matters.
      client.on("connect", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: headersOf(res), body: "" });
      });
      client.on("timeout", () => client.destroy(new Error(`no answer within ${DEADLINE_MS} ms`)));
      client.on("error", (err) => resolve({ status: 0, headers: {}, body: String(err.message) }));
      try {
        client.end(req.body ?? undefined);
      } catch (err) {
        client.destroy();
        reject(new Unsendable(err instanceof Error ? err.message : "unsendable"));
      }
    });
}
