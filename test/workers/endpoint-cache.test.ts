// Endpoints resolved once per config snapshot (issue 15): the same snapshot answers the same endpoint, another snapshot its own backends, unknown names stay unknown.
import { describe, expect, it } from "vitest";
import type { BackendConfig, ConfigSnapshot } from "../../src/config/snapshot";
import { resolveEndpoint } from "../../src/core/federation";

function backend(name: string, enabled = true): BackendConfig {
  return {
    name,
    url: `https://93.184.215.14/${name}/mcp`,
    transport: "streamable-http",
    headers: {},
    timeoutMs: 1_000,
    healthIntervalSeconds: 60,
    failureThreshold: 5,
    cooldownSeconds: 30,
    enabled,
  };
}

function snapshot(version: number, backends: BackendConfig[], serverBackends: string[] | null): ConfigSnapshot {
  return {
    version,
    backends: new Map(backends.map((b) => [b.name, b])),
    servers: new Map([
      [
        "s",
        {
          name: "s",
          backends: serverBackends,
          tools: null,
          prefix: true,
          auth: "token",
          discovery: "list",
          toolOverrides: [],
        },
      ],
    ]),
    plugins: [],
    tokensByHash: new Map(),
  };
}

const names = (snap: ConfigSnapshot, server: string | null) =>
  resolveEndpoint(snap, server)?.backends.map((b) => b.name);

describe("resolveEndpoint", () => {
  it("answers the same endpoint object for the same snapshot", () => {
    const snap = snapshot(1, [backend("a"), backend("b")], ["a"]);
    expect(resolveEndpoint(snap, "s")).toBe(resolveEndpoint(snap, "s"));
    expect(resolveEndpoint(snap, null)).toBe(resolveEndpoint(snap, null));
    expect(names(snap, "s")).toEqual(["a"]);
    expect(names(snap, null)).toEqual(["a", "b"]);
  });

  it("follows every new snapshot: a server's backends, disabled backends", () => {
    const first = snapshot(2, [backend("a"), backend("b")], ["a"]);
    expect(names(first, "s")).toEqual(["a"]);
    const edited = snapshot(3, [backend("a", false), backend("b")], ["a", "b"]);
    expect(names(edited, "s")).toEqual(["b"]);
    expect(names(edited, null)).toEqual(["b"]);
    // The older snapshot keeps its own answer (a request that loaded it finishes with it).
    expect(names(first, "s")).toEqual(["a"]);
  });

  it("answers null for a server the snapshot does not have, every time", () => {
    const snap = snapshot(4, [backend("a")], null);
    expect(resolveEndpoint(snap, "nope")).toBeNull();
    expect(resolveEndpoint(snap, "nope")).toBeNull();
    expect(names(snap, "s")).toEqual(["a"]);
  });
});
