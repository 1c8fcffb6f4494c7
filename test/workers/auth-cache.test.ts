// Bearer secrets remembered per isolate (issue 15): one resolution per config snapshot and admin token, expiry on every use, revocation through any config change.
import { describe, expect, it } from "vitest";
import { newTokenSecret, sha256Hex } from "../../src/auth/secrets";
import type { ConfigSnapshot } from "../../src/config/snapshot";
import { authenticateCached } from "../../src/edge/auth-cache";

async function snapshot(version: number, tokens: Array<[string, number | null]>): Promise<ConfigSnapshot> {
  return {
    version,
    backends: new Map(),
    servers: new Map(),
    plugins: [],
    tokensByHash: new Map(
      await Promise.all(
        tokens.map(
          async ([secret, expiresAt], i) =>
            [
              await sha256Hex(secret),
              { id: `tok_${version}_${i}`, name: "ci", scopes: ["mcp"], servers: null, expiresAt },
            ] as const,
        ),
      ),
    ),
  };
}

describe("authenticateCached", () => {
  it("resolves a secret once per snapshot: the same snapshot answers from memory", async () => {
    const secret = newTokenSecret();
    const snap = await snapshot(1, [[secret, null]]);
    const first = await authenticateCached(secret, "admin", snap, 1_000);
    expect(first).toMatchObject({ kind: "token", tokenId: "tok_1_0" });
    // Snapshots are immutable in the gateway; emptying this one shows the second answer is the remembered one.
    (snap.tokensByHash as Map<string, unknown>).clear();
    expect(await authenticateCached(secret, "admin", snap, 1_001)).toEqual(first);
  });

  it("checks a remembered token's expiry on every use, to the millisecond", async () => {
    const secret = newTokenSecret();
    const snap = await snapshot(2, [[secret, 5_000]]);
    expect(await authenticateCached(secret, "admin", snap, 4_000)).toMatchObject({ tokenId: "tok_2_0" });
    expect(await authenticateCached(secret, "admin", snap, 4_999)).toMatchObject({ tokenId: "tok_2_0" });
    expect(await authenticateCached(secret, "admin", snap, 5_000)).toBeNull();
  });

  it("misses on any other snapshot, so a revoked token stops at the next config version", async () => {
    const secret = newTokenSecret();
    const before = await snapshot(3, [[secret, null]]);
    expect(await authenticateCached(secret, "admin", before, 1_000)).toMatchObject({ tokenId: "tok_3_0" });
    const revoked = await snapshot(4, []);
    expect(await authenticateCached(secret, "admin", revoked, 1_000)).toBeNull();
    // A failure is not remembered: the next snapshot that has the token resolves it again.
    const again = await snapshot(5, [[secret, null]]);
    expect(await authenticateCached(secret, "admin", again, 1_000)).toMatchObject({ tokenId: "tok_5_0" });
  });

  it("misses when ADMIN_TOKEN changes: the old admin secret stops working at once", async () => {
    const snap = await snapshot(6, []);
    const admin = `admin-${newTokenSecret()}`;
    expect(await authenticateCached(admin, admin, snap, 1_000)).toMatchObject({ kind: "admin" });
    expect(await authenticateCached(admin, "rotated", snap, 1_000)).toBeNull();
  });
});
