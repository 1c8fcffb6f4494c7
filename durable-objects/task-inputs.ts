/**
 * The questions a 2025 backend asks inside a task, held for a 2026 caller
 * (the tasks extension's `inputRequests`, SEP-2663 with SEP-2322), in the
 * caller's SessionDO so that every isolate sees the same ones.
 *
 * A 2025 task that needs input sets status `input_required` and queues its
 * JSON-RPC requests (elicitation, sampling, roots) for `tasks/result`, which
 * delivers each exactly once on its stream. The 2026 extension instead shows
 * them on every `tasks/get` and takes answers through `tasks/update`. So the
 * first `tasks/get` that sees `input_required` has this object open the
 * task's `tasks/result` in the caller's upstream session and keep reading it:
 * each request that arrives is kept under a key (the JSON text of the
 * backend's request id: unique for the task's lifetime, as the extension
 * requires) until its answer is posted back to the backend as the JSON-RPC
 * response to that id. The watch ends when the task does (the stream ends
 * with its result) or after `WATCH_TTL_MS`.
 *
 * Bounds (design rule 5): `MAX_WATCHES` tasks per object, `MAX_PENDING`
 * questions per task. Held in memory: if the object is evicted, questions
 * already delivered are lost to the caller (the backend waits until its own
 * timeout), as with a parked MRTR call (`input-bridge.ts`).
 */
import type { BackendConfig } from "../src/config/snapshot";
import type { JsonRpcId } from "../src/protocol/jsonrpc";
import { postMessage, readReply } from "../src/upstream/http";
import type { UpstreamSession } from "../src/upstream/types";
import { randomHex } from "../src/util/bytes";

const MAX_WATCHES = 32;
const MAX_PENDING = 16;
const WATCH_TTL_MS = 10 * 60 * 1000;
/** How long a first look waits for questions the backend has queued (they arrive at once on `tasks/result`). */
const FIRST_WAIT_MS = 1_000;
/** After the first question, how long to wait for the ones sent with it. */
const GATHER_MS = 50;
const RELATED_TASK = "io.modelcontextprotocol/related-task";

/** One question: the backend's request id (to answer it) and the request as the client sees it. */
interface Pending {
  backendId: JsonRpcId;
  request: { method: string; params?: Record<string, unknown> };
}

/** The watch of one task's `tasks/result` stream. */
class Watch {
  readonly pending = new Map<string, Pending>();
  readonly abort = new AbortController();
  readonly started = Date.now();
  ended = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly backend: BackendConfig,
    readonly session: UpstreamSession,
    taskId: string,
    onEnd: () => void,
  ) {
    const id = `task-inputs-${randomHex(8)}`;
    const request = { jsonrpc: "2.0", id, method: "tasks/result", params: { taskId } };
    const timer = setTimeout(() => this.abort.abort(new Error("task watch expired")), WATCH_TTL_MS);
    void (async () => {
      try {
        const res = await postMessage(backend, request, { session, signal: this.abort.signal });
        await readReply(backend.name, res, id, { onMessage: (m) => this.onMessage(m) });
      } catch {
        // The task ended, the watch expired or the backend failed: tasks/get reports what the task says.
      } finally {
        clearTimeout(timer);
        this.ended = true;
        this.wake?.();
        onEnd();
      }
    })();
  }

  private onMessage(message: Record<string, unknown>): void {
    if (typeof message.method !== "string" || !("id" in message) || this.pending.size >= MAX_PENDING) return;
    const params = (typeof message.params === "object" && message.params !== null ? message.params : {}) as Record<
      string,
      unknown
    >;
    // The related-task key names the backend's task id, which the client never sees.
    const { _meta, ...rest } = params;
    const meta =
      typeof _meta === "object" && _meta !== null
        ? Object.fromEntries(Object.entries(_meta).filter(([k]) => k !== RELATED_TASK))
        : {};
    const clean = Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
    this.pending.set(JSON.stringify(message.id), {
      backendId: message.id as JsonRpcId,
      request: { method: message.method, params: clean },
    });
    this.wake?.();
  }

  /** The questions not answered yet; a fresh watch first waits briefly for the queued ones. */
  async questions(): Promise<Record<string, Pending["request"]>> {
    if (this.pending.size === 0 && !this.ended && Date.now() - this.started < FIRST_WAIT_MS) {
      await new Promise<void>((resolve) => {
        const done = setTimeout(resolve, FIRST_WAIT_MS - (Date.now() - this.started));
        this.wake = () => {
          clearTimeout(done);
          setTimeout(resolve, GATHER_MS);
        };
      });
      this.wake = undefined;
    }
    return Object.fromEntries([...this.pending].map(([key, p]) => [key, p.request]));
  }
}

/** The watches of one SessionDO. */
export class TaskInputs {
  private readonly watches = new Map<string, Watch>();

  private key(backend: string, taskId: string): string {
    return `${backend}\0${taskId}`;
  }

  /** The open questions of a task that reported `input_required` (starting its watch if needed). */
  async questions(
    backend: BackendConfig,
    session: UpstreamSession,
    taskId: string,
  ): Promise<Record<string, { method: string; params?: Record<string, unknown> }>> {
    const key = this.key(backend.name, taskId);
    let watch = this.watches.get(key);
    if (!watch) {
      if (this.watches.size >= MAX_WATCHES) return {};
      watch = new Watch(backend, session, taskId, () => {
        if (this.watches.get(key) === watch) this.watches.delete(key);
      });
      this.watches.set(key, watch);
    }
    return watch.questions();
  }

  /**
   * Posts the answers whose keys name open questions of the task to its
   * backend; other keys are ignored (the extension: `tasks/update` is an
   * eventually consistent ack). Returns how many were posted.
   */
  async answer(backendName: string, taskId: string, responses: Record<string, unknown>): Promise<number> {
    const watch = this.watches.get(this.key(backendName, taskId));
    if (!watch) return 0;
    let posted = 0;
    for (const [key, answer] of Object.entries(responses)) {
      const pending = watch.pending.get(key);
      if (!pending || typeof answer !== "object" || answer === null || Array.isArray(answer)) continue;
      watch.pending.delete(key);
      const response = { jsonrpc: "2.0", id: pending.backendId, result: answer };
      const res = await postMessage(watch.backend, response, {
        session: watch.session,
        signal: AbortSignal.timeout(watch.backend.timeoutMs),
      }).catch(() => null);
      await res?.body?.cancel();
      if (res) posted += 1;
    }
    return posted;
  }
}
