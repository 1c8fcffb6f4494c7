// Client sessions in detail: capability profiles, expiry to the millisecond, how often the SessionDO is asked, upstream sessions.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionDO } from "../../durable-objects/session-do";
import type { BackendConfig } from "../../src/config/snapshot";
import { failureReply } from "../../src/edge/errors";
import { createSession, openSession, SessionError } from "../../src/edge/sessions";
import type { Bindings } from "../../src/env";
import { ErrorCode } from "../../src/protocol/jsonrpc";
import { ALL_PROFILES, capabilityProfile, profileCapabilities } from "../../src/protocol/profiles";
import { BackendFailure } from "../../src/upstream/failure";
import { uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

const fakes: FakeBackend[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const fake of fakes.splice(0)) fake.close();
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
