/**
 * The V8 heap of each gateway isolate, through workerd's inspector (Chrome
 * DevTools Protocol over its WebSocket): `Runtime.getHeapUsage`. RSS alone
 * cannot tell a leak from garbage V8 has not collected yet; the lowest used
 * heap over a window (the floor the collector gets back to) can. workerd's
 * inspector does not answer `HeapProfiler.collectGarbage`, hence the floor
 * rather than a forced GC. The first isolate also hosts the Durable Objects.
 */

interface Target {
  title: string;
  send(method: string, params?: unknown): Promise<unknown>;
  close(): void;
}

async function open(url: string, title: string): Promise<Target> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`inspector websocket for ${title} failed`)), { once: true });
  });
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id === undefined) return;
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) waiter?.reject(new Error(msg.error.message));
    else waiter?.resolve(msg.result);
  });
  return {
    title,
    send: (method, params) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Connects to every worker target whose title names one of `workers`. */
export async function inspectIsolates(port: number, workers: readonly string[]): Promise<Target[]> {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    id: string;
    title?: string;
    webSocketDebuggerUrl?: string;
  }>;
  const targets: Target[] = [];
  for (const name of workers) {
    // Miniflare names a user worker's target `core:user:<name>`.
    const found = list.find((t) => t.webSocketDebuggerUrl && t.id === `core:user:${name}`);
    if (found?.webSocketDebuggerUrl) targets.push(await open(found.webSocketDebuggerUrl, name));
  }
  return targets;
}

/** Used heap bytes of each target now. */
export async function heapUsed(targets: readonly Target[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of targets) out.push(((await t.send("Runtime.getHeapUsage")) as { usedSize: number }).usedSize);
  return out;
}
