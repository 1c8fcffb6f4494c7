// LegacyClientDO and its outbox: the stream it feeds, admission, and its bounds (backlog, in-flight, idle, expiry, keep-alive, client leaving).
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  LEGACY_IDLE_MS,
  LEGACY_MAX_IN_FLIGHT,
  LEGACY_MAX_QUEUED_BYTES,
  type LegacyClientDO,
} from "../../durable-objects/legacy-client-do";
import { Outbox } from "../../durable-objects/outbox";
import { uniqueName } from "./helpers";

const SUBJECT = "token-1";
const ENDPOINT = "*";

function stubOf(name = uniqueName("lc")): DurableObjectStub<LegacyClientDO> {
  return env.LEGACY_CLIENT.get(env.LEGACY_CLIENT.idFromName(name));
}

async function opened(expiresAt = Date.now() + 60 * 60_000) {
  const stub = stubOf();
  const stream = (await stub.open({
    subject: SUBJECT,
    endpoint: ENDPOINT,
    expiresAt,
    endpointUri: "/messages?sessionId=abc",
  })) as ReadableStream<Uint8Array>;
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  /** The next SSE block (an event or a comment), or null once the stream ended. */
  const next = async (): Promise<string | null> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        return block;
      }
      const { done, value } = await reader.read();
      if (done) return null;
      buffer += value;
    }
  };
  return { stub, reader, next };
}

const admitted = async (stub: DurableObjectStub<LegacyClientDO>, request = false) =>
  stub.admit(SUBJECT, ENDPOINT, request);

async function until(check: () => Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("Outbox", () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it("refuses a push past its message or byte bound, and keeps what it holds", async () => {
    const outbox = new Outbox({ messages: 2, bytes: 10 }, () => undefined);
    expect(outbox.push(encode("aaaa"))).toBe("ok");
    expect(outbox.push(encode("bbbb"))).toBe("ok");
    expect(outbox.push(encode("c"))).toBe("full");
    const bytes = new Outbox({ messages: 10, bytes: 10 }, () => undefined);
    expect(bytes.push(encode("123456"))).toBe("ok");
    expect(bytes.push(encode("12345"))).toBe("full");
    expect(bytes.push(encode("1234"))).toBe("ok");
    expect(bytes.size).toBe(2);
  });

  it("hands out chunks only as they are read, and frees room as it does", async () => {
    const outbox = new Outbox({ messages: 1, bytes: 100 }, () => undefined);
    const reader = outbox.stream.getReader();
    expect(outbox.push(encode("one"))).toBe("ok");
    expect(outbox.push(encode("two"))).toBe("full");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("one");
    expect(outbox.push(encode("two"))).toBe("ok");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("two");
  });

  it("close() drains what is queued, then ends; pushes after it are refused", async () => {
    const outbox = new Outbox({ messages: 10, bytes: 100 }, () => undefined);
    const reader = outbox.stream.getReader();
    outbox.push(encode("last"));
    outbox.close();
    expect(outbox.push(encode("late"))).toBe("closed");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("last");
    expect((await reader.read()).done).toBe(true);
  });

  it("a reader's cancel drops the backlog and reports once; drop() ends the reader at once", async () => {
    let cancelled = 0;
    const outbox = new Outbox({ messages: 10, bytes: 100 }, () => cancelled++);
    outbox.push(encode("unread"));
    await outbox.stream.cancel();
    expect(cancelled).toBe(1);
    expect(outbox.open).toBe(false);
    expect(outbox.size).toBe(0);
    const dropping = new Outbox({ messages: 10, bytes: 100 }, () => undefined);
    const reader = dropping.stream.getReader();
    dropping.push(encode("dropped"));
    dropping.drop();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(dropping.push(encode("late"))).toBe("closed");
  });
});

describe("LegacyClientDO", () => {
  it("starts the stream with the endpoint event and writes delivered messages in order", async () => {
    const { stub, next } = await opened();
    expect(await next()).toBe("event: endpoint\ndata: /messages?sessionId=abc");
    expect(
      await stub.deliver([
        { jsonrpc: "2.0", id: 1, result: {} },
        { jsonrpc: "2.0", method: "n" },
      ]),
    ).toBe("ok");
    expect(await next()).toBe('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}');
    expect(await next()).toBe('event: message\ndata: {"jsonrpc":"2.0","method":"n"}');
  });

  it("admits only its own subject and endpoint, and returns the profile once initialized", async () => {
    const { stub } = await opened();
    expect(await stub.admit("someone-else", ENDPOINT, false)).toEqual({ ok: false, reason: "ended" });
    expect(await stub.admit(SUBJECT, "other-server", false)).toEqual({ ok: false, reason: "ended" });
    expect(await admitted(stub)).toEqual({ ok: true, profile: null, protocolVersion: null, ticket: null });
    expect(await stub.initialized("sampling", "2024-11-05")).toBe(true);
    expect(await stub.initialized("", "2025-11-25")).toBe(false);
    expect(await admitted(stub)).toMatchObject({ ok: true, profile: "sampling", protocolVersion: "2024-11-05" });
  });

  it("bounds requests in flight; a final answer with its ticket frees the slot, notifications take none", async () => {
    const { stub } = await opened();
    const tickets: string[] = [];
    for (let i = 0; i < LEGACY_MAX_IN_FLIGHT; i++) {
      const admission = await admitted(stub, true);
      if (!admission.ok || !admission.ticket) throw new Error("not admitted");
      tickets.push(admission.ticket);
    }
    expect(await admitted(stub, true)).toEqual({ ok: false, reason: "busy" });
    expect((await admitted(stub, false)).ok).toBe(true);
    expect(await stub.deliver([{ jsonrpc: "2.0", id: 1, result: {} }], tickets[0])).toBe("ok");
    expect((await admitted(stub, true)).ok).toBe(true);
    expect(await admitted(stub, true)).toEqual({ ok: false, reason: "busy" });
  });

  it("disconnects a client that stops reading once its backlog passes the bound", async () => {
    const { stub, reader } = await opened();
    const big = "x".repeat(64 * 1024);
    let answer: "ok" | "ended" = "ok";
    let delivered = 0;
    // Some of it sits in the RPC pipe rather than the outbox; the bound is reached all the same.
    while (answer === "ok" && delivered < 1000) {
      answer = await stub.deliver([{ jsonrpc: "2.0", method: "notifications/message", params: { data: big } }]);
      delivered++;
    }
    expect(answer).toBe("ended");
    expect(delivered).toBeGreaterThanOrEqual(Math.floor(LEGACY_MAX_QUEUED_BYTES / big.length) - 1);
    expect(await admitted(stub)).toEqual({ ok: false, reason: "ended" });
    expect(await stub.deliver([{ jsonrpc: "2.0", method: "late" }])).toBe("ended");
    // The backlog is dropped: the client reads at most what the pipe already held, then the end.
    let text = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    expect(text.split("event: message").length - 1).toBeLessThan(delivered);
  });

  it("writes a keep-alive comment on a quiet stream when its alarm fires, and schedules the next", async () => {
    const { stub, next } = await opened();
    await next();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await next()).toBe(": keep-alive");
    const alarm = await runInDurableObject(stub, (_instance: LegacyClientDO, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now());
    expect((await admitted(stub)).ok).toBe(true);
  });

  it("closes an idle session at its alarm: the stream ends and admissions are refused", async () => {
    const { stub, next } = await opened();
    await next();
    await runInDurableObject(stub, (instance: LegacyClientDO) => {
      (instance as unknown as { lastActive: number }).lastActive = Date.now() - LEGACY_IDLE_MS;
    });
    expect(await stub.deliver([{ jsonrpc: "2.0", method: "queued-before-idle" }])).toBe("ok");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // What was queued is still read, then the stream ends.
    expect(await next()).toContain("queued-before-idle");
    expect(await next()).toBeNull();
    expect(await admitted(stub)).toEqual({ ok: false, reason: "ended" });
    const alarm = await runInDurableObject(stub, (_instance: LegacyClientDO, state) => state.storage.getAlarm());
    expect(alarm).toBeNull();
  });

  it("closes at expiry", async () => {
    const { stub, next } = await opened(Date.now() + 50);
    await next();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await runDurableObjectAlarm(stub);
    expect(await next()).toBeNull();
    expect(await admitted(stub)).toEqual({ ok: false, reason: "ended" });
  });

  it("ends the session when the client leaves: the next write (a message or keep-alive) finds the reader gone", async () => {
    const { stub, reader } = await opened();
    await admitted(stub);
    await reader.cancel();
    // The runtime learns of a gone reader when it next writes to it; the keep-alive guarantees a write.
    await until(async () => {
      await runDurableObjectAlarm(stub);
      return (await stub.deliver([{ jsonrpc: "2.0", method: "probe" }])) === "ended";
    }, 20);
    expect(await admitted(stub)).toEqual({ ok: false, reason: "ended" });
  });

  it("end() closes the stream and refuses what follows; a key is never opened twice", async () => {
    const { stub, next } = await opened();
    await next();
    await stub.end();
    expect(await next()).toBeNull();
    expect(await stub.deliver([{ jsonrpc: "2.0", method: "late" }])).toBe("ended");
    expect(
      await stub.open({ subject: SUBJECT, endpoint: ENDPOINT, expiresAt: Date.now() + 1000, endpointUri: "/x" }),
    ).toBeNull();
  });
});

describe("legacy routes", () => {
  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    exports.default.fetch(`http://gateway.test${path}`, { method, headers });

  it("answers other methods with 405 naming the allowed one, and needs a token", async () => {
    const put = await call("PUT", "/sse");
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET");
    const get = await call("GET", "/messages");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await call("GET", "/sse")).status).toBe(401);
    expect((await call("GET", "/servers/no-such-server/sse")).status).toBe(404);
  });
});
