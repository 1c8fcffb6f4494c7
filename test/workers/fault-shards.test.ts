// A ShardDO failing or overloaded (issue 20): config still comes from D1 directly, and the breaker goes on from the isolate's own view.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admit, report } from "../../src/backends/breaker-client";
import { ConfigCache } from "../../src/config/cache";
import { readVersion } from "../../src/config/db";
import { shardConfigSource } from "../../src/config/shard-source";
import type { Bindings } from "../../src/env";
import { backend, deferred } from "./breaker-helpers";
import { type Fault, faultyNamespace, overloaded } from "./faults";

describe("a failing or overloaded ShardDO", () => {
  it("a cold isolate still loads its config, from D1 directly, and checks it there while the shard fails", async () => {
    const fault: Fault = { mode: "fail", hits: 0 };
    const broken = { ...env, SHARD: faultyNamespace(env.SHARD, fault, overloaded) };
    const cache = new ConfigCache({ now: () => clock });
    let clock = 0;
    const first = await cache.get(shardConfigSource(broken), () => undefined);
    expect(first.version).toBe(await readVersion(env.DB));
    expect(fault.hits).toBeGreaterThanOrEqual(1);
    await env.DB.prepare(
      "INSERT INTO config_meta (id, version, updated_at) VALUES (1, 1, '') ON CONFLICT (id) DO UPDATE SET version = version + 1",
    ).run();
    clock = 5_000; // too old to serve: the request waits for a check
    const next = await cache.get(shardConfigSource(broken), () => undefined);
    expect(next.version).toBe(await readVersion(env.DB));
    expect(next.version).toBe(first.version + 1);
  });

  it("the breaker admits a first call when its shard fails, and its own breaker still stops a failing backend", async () => {
    const fault: Fault = { mode: "fail", hits: 0 };
    const broken = { ...env, SHARD: faultyNamespace(env.SHARD, fault, overloaded) } as Bindings;
    const b = backend({ failureThreshold: 3 });
    const d = deferred();
    expect(await admit(broken, b, d.defer)).toEqual({ ok: true, trial: false });
    expect(fault.hits).toBe(1);
    for (let i = 0; i < 3; i++) report(broken, d.defer, b, "failure");
    expect(await admit(broken, b, d.defer)).toMatchObject({ ok: false, state: "open" });
    await d.settle(); // the report is lost, not an error
  });
});
