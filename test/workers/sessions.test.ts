// Client sessions in detail: capability profiles, expiry to the millisecond, how often the SessionDO is asked, upstream sessions (eras, ends, another isolate's session), the input bridge, a failing SessionDO.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionDO } from "../../durable-objects/session-do";
import { keyRing } from "../../src/auth/keys";
import { seal } from "../../src/auth/seal";
import type { BackendConfig } from "../../src/config/snapshot";
import { recheckEra } from "../../src/core/catalog";
import { failureReply } from "../../src/edge/errors";
import { createSession, openSession, SESSION_TTL_MS, type SessionClaims, SessionError } from "../../src/edge/sessions";
import type { Bindings } from "../../src/env";
import { ErrorCode, type JsonRpcRequest } from "../../src/protocol/jsonrpc";
import { ALL_PROFILES, capabilityProfile, profileCapabilities } from "../../src/protocol/profiles";
import { MODERN_PROTOCOL_VERSION } from "../../src/protocol/versions";
import { BackendFailure } from "../../src/upstream/failure";
import { type Fault, faultyNamespace } from "./faults";
import { uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend, route } from "./outbound";

const fakes: FakeBackend[] = [];
const closers: Array<() => void> = [];
afterEach(() => {
  vi.useRealTimers();
  for (const fake of fakes.splice(0)) fake.close();
  for (const close of closers.splice(0)) close();
});

/** The real SessionDO binding, wrapped to count the calls this isolate makes to it. */
function countingEnv(): { env: Bindings; calls: string[] } {
  const calls: string[] = [];
  const real = env.SESSION;
  const SESSION = {
    idFromName: (name: string) => real.idFromName(name),
    get(id: DurableObjectId) {
      const stub = real.get(id);
      const track =
        <A extends unknown[], R>(method: string, call: (...args: A) => R) =>
        (...args: A): R => {
          calls.push(method);
          return call(...args);
        };
      return {
        start: track("start", (record: Parameters<SessionDO["start"]>[0]) => stub.start(record)),
        status: track("status", () => stub.status()),
        upstream: track("upstream", (...args: Parameters<SessionDO["upstream"]>) => stub.upstream(...args)),
        opened: track("opened", () => stub.opened()),
        forget: track("forget", (b: string, id: string | null) => stub.forget(b, id)),
        end: track("end", () => stub.end()),
        awaitAnswer: track("awaitAnswer", (id: string, ms: number) => stub.awaitAnswer(id, ms)),
        deliverAnswer: track("deliverAnswer", (...args: Parameters<SessionDO["deliverAnswer"]>) =>
          stub.deliverAnswer(...args),
        ),
      };
    },
  };
  return { env: { ...env, SESSION } as unknown as Bindings, calls };
}

function backend(): { config: BackendConfig; fake: FakeBackend } {
  const name = uniqueName("sb");
  const fake = fakeBackend(`https://93.184.215.14/${name}/mcp`);
  fakes.push(fake);
  const config: BackendConfig = {
    name,
    url: fake.url,
    transport: "streamable-http",
    headers: {},
    timeoutMs: 1000,
    healthIntervalSeconds: 30,
    failureThreshold: 5,
    cooldownSeconds: 30,
    enabled: true,
  };
  return { config, fake };
}

async function started(testEnv: Bindings = env) {
  const { id, claims } = await createSession(testEnv, "admin", "*", "2025-11-25", { capabilities: {} });
  return { id, claims, session: await openSession(testEnv, id, "admin", "*") };
}

describe("capability profiles", () => {
  it("keep only what changes a backend's offer, in a fixed order, and turn back into capabilities", () => {
    expect(capabilityProfile({})).toBe("");
    expect(capabilityProfile({ roots: {}, tools: {}, sampling: {} })).toBe("sampling,roots");
    expect(capabilityProfile({ elicitation: {}, experimental: {} })).toBe("elicitation");
    expect(profileCapabilities("sampling,roots")).toEqual({ sampling: {}, roots: {} });
    expect(profileCapabilities("")).toEqual({});
    // MCP Apps: the UI extension counts (it changes which tools a backend registers); other extensions do not.
    const ui = { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } } };
    expect(capabilityProfile({ sampling: {}, ...ui })).toBe("sampling,ui");
    expect(capabilityProfile({ extensions: { "example.com/other": {} } })).toBe("");
    expect(capabilityProfile({ extensions: { "io.modelcontextprotocol/ui": true } })).toBe("");
    expect(profileCapabilities("ui")).toEqual(ui);
    expect(ALL_PROFILES).toHaveLength(16);
    for (const profile of ALL_PROFILES) expect(capabilityProfile(profileCapabilities(profile))).toBe(profile);
  });
});

describe("opening a session id", () => {
  it("names what is wrong, and expires at its sealed instant exactly", async () => {
    await expect(openSession(env, undefined, "admin", "*")).rejects.toMatchObject({
      status: 400,
      message: "Bad Request: Mcp-Session-Id header is required",
    });
    await expect(openSession(env, "v1.AAAA.BBBB", "admin", "*")).rejects.toMatchObject({
      name: "SessionError",
      status: 404,
      message: "Session not found",
    });
    const { id, claims } = await started();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(claims.exp - 1);
    expect((await openSession(env, id, "admin", "*")).claims.sid).toBe(claims.sid);
    vi.setSystemTime(claims.exp);
    await expect(openSession(env, id, "admin", "*")).rejects.toMatchObject({
      status: 404,
      message: "Session not found",
    });
  });

  it("maps to JSON-RPC errors: 404 is SessionNotFound, anything else a server error", () => {
    expect(failureReply(new SessionError(404, "gone"), 1)).toMatchObject({
      id: 1,
      error: { code: ErrorCode.SessionNotFound, message: "gone" },
    });
    expect(failureReply(new SessionError(400, "bad"), 1).error.code).toBe(ErrorCode.ServerError);
  });
});

describe("a session's Durable Object and the per-call path", () => {
  it("liveness is asked on every request, so an end elsewhere is seen at once (hardening issue, defect 5)", async () => {
    const counted = countingEnv();
    const { session } = await started(counted.env);
    await session.assertLive();
    await session.assertLive();
    await session.assertLive();
    expect(counted.calls.filter((c) => c === "status")).toHaveLength(3);
  });

  it("opens a backend's upstream session once and then reuses it from memory", async () => {
    const counted = countingEnv();
    const { config, fake } = backend();
    const { session } = await started(counted.env);
    const first = await session.open(config);
    // (The backend's era probe and catalog fetch open a session of their own the first time.)
    const initializes = fake.received.filter((m) => m === "initialize").length;
    expect(await session.open(config)).toBe(first);
    expect(counted.calls.filter((c) => c === "upstream")).toHaveLength(1);
    expect(fake.received.filter((m) => m === "initialize")).toHaveLength(initializes);
    expect(first.sessionId).toMatch(/^s-/);
  });
});

describe("upstream sessions", () => {
  it("a backend failing to initialize is a backend failure naming it", async () => {
    const { config, fake } = backend();
    fake.mode = "down";
    const { session } = await started();
    const err = await session.open(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendFailure);
    expect((err as BackendFailure).message).toContain(config.name);
  });

  it("an end seen by an upstream request applies at once: liveness is asked again", async () => {
    const one = backend();
    const two = backend();
    const { claims, session } = await started();
    await session.open(one.config);
    await session.assertLive();
    await env.SESSION.get(env.SESSION.idFromName(claims.sid)).end();
    await expect(session.open(two.config)).rejects.toMatchObject({ status: 404, message: "Session not found" });
    await expect(session.assertLive()).rejects.toMatchObject({ status: 404, message: "Session not found" });
  });

  it("an end seen by the stream applies at once: liveness is asked again", async () => {
    const { claims, session } = await started();
    await session.assertLive();
    await env.SESSION.get(env.SESSION.idFromName(claims.sid)).end();
    expect(await session.openedUpstreams()).toBeNull();
    await expect(session.assertLive()).rejects.toMatchObject({ status: 404, message: "Session not found" });
  });

  it("lists opened upstreams, forgets one so the next call opens another, and closes them at the end", async () => {
    const { config, fake } = backend();
    const { session } = await started();
    const first = await session.open(config);
    expect(await session.openedUpstreams()).toEqual(
      new Map([[config.name, { sessionId: first.sessionId, protocolVersion: first.protocolVersion }]]),
    );
    const initializes = fake.received.filter((m) => m === "initialize").length;
    await session.forget(config.name, first);
    const second = await session.open(config);
    expect(second.sessionId).not.toBe(first.sessionId);
    expect(fake.received.filter((m) => m === "initialize")).toHaveLength(initializes + 1);
    const deferred: Promise<unknown>[] = [];
    await session.end(new Map([[config.name, config]]), (work) => deferred.push(work));
    await Promise.all(deferred);
    expect(fake.received.at(-1)).toBe("DELETE");
  });
});

describe("upstream sessions across eras, ends and isolates", () => {
  it("a session another isolate started opens each upstream once here too, then serves it from memory", async () => {
    const counted = countingEnv();
    const { config } = backend();
    // What another isolate's initialize leaves behind: the SessionDO started and a sealed id; nothing in this isolate.
    const claims: SessionClaims = {
      sid: uniqueName("other-isolate"),
      sub: "admin",
      ep: "*",
      pv: "2025-11-25",
      prof: "",
      exp: Date.now() + SESSION_TTL_MS,
    };
    await env.SESSION.get(env.SESSION.idFromName(claims.sid)).start({
      init: { capabilities: {} },
      expiresAt: claims.exp,
    });
    const id = await seal(claims, await keyRing(env), "session");
    const session = await openSession(counted.env, id, "admin", "*");
    const first = await session.open(config);
    expect(first.sessionId).toMatch(/^s-/);
    expect(await session.open(config)).toBe(first);
    expect(counted.calls.filter((c) => c === "upstream")).toHaveLength(1);
  });

  it("once an end is seen, by the liveness check or by an upstream request, no upstream session is served from memory", async () => {
    const one = backend();
    const two = backend();
    for (const seeEnd of ["liveness", "upstream"] as const) {
      const { claims, session } = await started();
      await session.open(one.config);
      await env.SESSION.get(env.SESSION.idFromName(claims.sid)).end();
      const seen = seeEnd === "liveness" ? session.assertLive() : session.open(two.config);
      await expect(seen).rejects.toMatchObject({ status: 404, message: "Session not found" });
      await expect(session.open(one.config), seeEnd).rejects.toMatchObject({ status: 404 });
    }
  });

  it("a backend that moved to 2026-07-28 gets the stateless pseudo-session, not the 2025 one opened before", async () => {
    const counted = countingEnv();
    const { config } = backend();
    const { session } = await started(counted.env);
    const legacy = await session.open(config);
    expect(legacy.protocolVersion).toBe("2025-11-25");
    // The backend now speaks 2026-07-28 only, and a version error made the gateway look at its era again.
    closers.push(
      route(config.url, async (request) => {
        const m = (await request.json()) as { id?: unknown; method?: string };
        const result =
          m.method === "server/discover"
            ? { resultType: "complete", supportedVersions: [MODERN_PROTOCOL_VERSION], capabilities: { tools: {} } }
            : { resultType: "complete", tools: [], ttlMs: 0, cacheScope: "public" };
        return Response.json({ jsonrpc: "2.0", id: m.id, result });
      }),
    );
    expect(await recheckEra(env, config, session.claims.prof)).toBe("modern");
    const modern = await session.open(config);
    expect(modern).toMatchObject({ sessionId: null, protocolVersion: MODERN_PROTOCOL_VERSION });
    // The pseudo-session is kept like any other: asked for once.
    expect(await session.open(config)).toBe(modern);
    expect(counted.calls.filter((c) => c === "upstream")).toHaveLength(2);
  });
});

describe("the input bridge's rendezvous", () => {
  const answer = (id: string) => ({ jsonrpc: "2.0" as const, id, result: { action: "accept" } });

  it("hands a client's answer to the request waiting for it, through the session's object", async () => {
    const counted = countingEnv();
    const { session } = await started(counted.env);
    const waiting = session.awaitAnswer("mcpgw-in:one", 5_000);
    expect(await session.deliverAnswer("mcpgw-in:one", answer("mcpgw-in:one"))).toBe(true);
    expect(await waiting).toEqual(answer("mcpgw-in:one"));
    expect(counted.calls).toEqual(expect.arrayContaining(["awaitAnswer", "deliverAnswer"]));
    // 2025 sessions send every call as a plain POST: no bridged transport.
    const request: JsonRpcRequest = { jsonrpc: "2.0", id: 1, method: "tools/call" };
    const upstream = { sessionId: "s-1", protocolVersion: "2025-11-25" };
    const options = { signal: new AbortController().signal, traceparent: "" };
    expect(session.bridge(backend().config, request, upstream, options)).toBeNull();
  });
});

describe("a SessionDO that cannot be reached", () => {
  it("is a retryable 503 for the session, a -32010 naming the backend for its upstream, and no answer for a waiter", async () => {
    const { id } = await started();
    const { config } = backend();
    const fault: Fault = { mode: "fail", hits: 0 };
    const failing = { ...env, SESSION: faultyNamespace(env.SESSION, fault) } as Bindings;
    const session = await openSession(failing, id, "admin", "*");
    const unavailable = { status: 503, message: "Session state is unavailable right now; retry the request" };
    await expect(session.assertLive()).rejects.toMatchObject(unavailable);
    await expect(session.deliverAnswer("mcpgw-in:x", { jsonrpc: "2.0", id: "mcpgw-in:x", result: {} })).rejects.toThrow(
      SessionError,
    );
    expect(await session.awaitAnswer("mcpgw-in:x", 1_000)).toBeNull();
    const failure = await session.open(config).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BackendFailure);
    expect(failure).toMatchObject({
      backend: config.name,
      kind: "unavailable",
      message: `Backend '${config.name}' is unavailable: this session's state could not be reached; retry the call`,
    });
    await expect(createSession(failing, "admin", "*", "2025-11-25", { capabilities: {} })).rejects.toMatchObject(
      unavailable,
    );
    expect(fault.hits).toBe(5);
  });
});
