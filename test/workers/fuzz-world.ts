/**
 * The workerd side of the fuzz tests: a `Send` that runs each request
 * through the Worker's own fetch handler (real D1, Durable Objects and
 * queue), the planted world (a backend with a secret header value, virtual
 * servers, API tokens) and the store state a rejected write must not change.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { loadSnapshotFrom } from "../../src/config/d1-source";
import { database } from "../../src/config/db";
import { recordConnection } from "../../src/config/store/connections";
import worker from "../../src/index";
import { upstreamTokenObject } from "../../src/stubs";
import { type Send, SessionPool, type WireRequest, type WireResponse } from "../fuzz/model";
import type { StoreState } from "../fuzz/oracle";
import { type Planted as PlantedWorld, plantWorld } from "../fuzz/plant";
import { startFuzzBackend } from "./fuzz-backend";
import { ADMIN } from "./helpers";

/** A request fetch cannot express (a body on GET, a forbidden method, a header value with CR/LF). */
export class Unsendable extends Error {}

/**
 * Reads at most `limit` bytes; a stream silent for `idleMs` is left open
 * (GET streams never end: `firstChunk` reads their priming event only).
 */
async function readBody(
  res: Response,
  limit: number,
  idleMs: number,
  firstChunk: boolean,
): Promise<{ text: string; partial: boolean }> {
  if (!res.body) return { text: "", partial: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let partial = false;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<"idle">((resolve) => {
      timer = setTimeout(() => resolve("idle"), idleMs);
    });
    const next = await Promise.race([reader.read(), idle]);
    if (timer !== undefined) clearTimeout(timer);
    if (next === "idle") {
      partial = true;
      break;
    }
    if (next.done) break;
    chunks.push(next.value);
    size += next.value.byteLength;
    if (size > limit || firstChunk) {
      partial = true;
      break;
    }
  }
  if (partial) await reader.cancel().catch(() => undefined);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c.subarray(0, Math.min(c.byteLength, size - at)), at);
    at += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), partial };
}

/** The bindings, plus the Host check `npm start` turns on. */
export const fuzzEnv = { ...env, ALLOWED_HOSTS: "localhost,127.0.0.1" };

/** Sends through the Worker's fetch handler. The `host` header picks the URL's host. */
export const send: Send = async (req: WireRequest): Promise<WireResponse> => {
  const host = req.headers.find(([k]) => k === "host")?.[1] ?? "localhost";
  let request: Request;
  try {
    const headers = new Headers();
    for (const [k, v] of req.headers) if (k !== "host") headers.append(k, v);
    const bodyless = req.method === "GET" || req.method === "HEAD";
    if (bodyless && req.body !== null) throw new Unsendable("body on GET/HEAD");
    request = new Request(`http://${host}${req.path}`, { method: req.method, headers, body: req.body });
  } catch (err) {
    throw err instanceof Unsendable ? err : new Unsendable(err instanceof Error ? err.message : "unsendable");
  }
  // Background work (`waitUntil`) is not awaited: it keeps running in the isolate, as in production.
  const res = await worker.fetch(request, fuzzEnv, createExecutionContext());
  const sse = (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  const { text, partial } = await readBody(res, 8 * 1024 * 1024, 10_000, sse && req.method === "GET");
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k] = v;
  });
  return { status: res.status, headers, body: text, partial };
};

/** Everything the fuzz tests run against. */
export interface Planted extends PlantedWorld {
  pool: SessionPool;
  /** Values of `X-Planted` the fake backend received. */
  backendHeaderValues: string[];
}

const PUBLIC_URL = "https://93.184.215.14";

/** Plants the world (test/fuzz/plant.ts) over fake backends on public literal addresses. */
export async function plant(): Promise<Planted> {
  const backend = startFuzzBackend(`${PUBLIC_URL}/fm-a/mcp`, "fm-a", "x-planted");
  // The admin fuzzer's backends answer too, so a refresh of one is a 200, never a documented 502.
  const adminBackendUrls = [
    `${PUBLIC_URL}/fa/mcp`,
    "https://93.184.215.15/mcp",
    "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/mcp",
  ];
  for (const url of adminBackendUrls) startFuzzBackend(url, "fa", "x-planted");
  const planted = await plantWorld(send, {
    adminToken: ADMIN,
    backend: {
      url: `${PUBLIC_URL}/fm-a/mcp`,
      tools: ["echo", "stream", "fail"],
      prompts: ["greet"],
      resources: ["mem://fm-a/readme"],
    },
    adminBackendUrls,
    webhookUrls: [`${PUBLIC_URL}/fa/hook`],
    async plantToken(user, tokens) {
      const backend = (await loadSnapshotFrom(env)).backends.get("fm-oauth");
      if (!backend) throw new Error("plant: fm-oauth is missing from the config");
      await upstreamTokenObject(env, user).store(backend, { ...tokens, expiresAt: Date.now() + 3_600_000 });
      await recordConnection(database(env.DB), user, "fm-oauth");
    },
  });
  return { ...planted, pool: new SessionPool(send, planted.world), backendHeaderValues: backend.headerValues };
}

const TABLES = ["backends", "servers", "api_tokens", "plugins"];

/** The config version and the row count of every config table (one query). */
export async function storeState(): Promise<StoreState> {
  const counts = TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(", ");
  const row = await env.DB.prepare(`SELECT (SELECT version FROM config_meta WHERE id = 1) AS version, ${counts}`).first<
    Record<string, number | null>
  >();
  return {
    version: row?.version ?? 0,
    rows: Object.fromEntries(TABLES.map((t) => [t, row?.[t] ?? 0])),
  };
}
