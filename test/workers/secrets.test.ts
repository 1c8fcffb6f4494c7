import { describe, expect, it } from "vitest";
import { authenticate, bearerSecret } from "../../src/auth/authenticate";
import { newTokenSecret, secretsEqual, sha256Hex } from "../../src/auth/secrets";
import { decryptHeaders, encryptHeaders } from "../../src/config/header-crypto";
import type { ConfigSnapshot } from "../../src/config/snapshot";

describe("secrets", () => {
  it("generates distinct, prefixed token secrets", () => {
    const a = newTokenSecret();
    const b = newTokenSecret();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^mcpgw_/);
  });

  it("compares secrets by value", async () => {
    expect(await secretsEqual("abc", "abc")).toBe(true);
    expect(await secretsEqual("abc", "abd")).toBe(false);
    expect(await secretsEqual("abc", "abcd")).toBe(false);
  });

  it("encrypts headers so that only the right key decrypts them", async () => {
    const sealed = await encryptHeaders({ Authorization: "Bearer x" }, "key-one");
    expect(sealed).not.toContain("Bearer");
    expect(await decryptHeaders(sealed, "key-one")).toEqual({ Authorization: "Bearer x" });
    await expect(decryptHeaders(sealed, "key-two")).rejects.toThrow();
    const tampered = `${sealed.slice(0, -2)}AA`;
    await expect(decryptHeaders(tampered, "key-one")).rejects.toThrow();
  });

  it("parses bearer headers strictly", () => {
    expect(bearerSecret("Bearer abc")).toBe("abc");
    expect(bearerSecret("bearer abc")).toBe("abc");
    expect(bearerSecret("Basic abc")).toBeNull();
    expect(bearerSecret("Bearer")).toBeNull();
    expect(bearerSecret(undefined)).toBeNull();
  });

  it("authenticates tokens by hash and honours expiry", async () => {
    const secret = newTokenSecret();
    const snap: ConfigSnapshot = {
      version: 1,
      backends: new Map(),
      servers: new Map(),
      plugins: [],
      tokensByHash: new Map([
        [await sha256Hex(secret), { id: "tok_1", name: "ci", scopes: ["mcp"], servers: null, expiresAt: 2_000 }],
      ]),
    };
    expect(await authenticate(secret, "admin", snap, 1_000)).toMatchObject({ kind: "token", name: "ci" });
    expect(await authenticate(secret, "admin", snap, 3_000)).toBeNull();
    expect(await authenticate("admin", "admin", snap)).toEqual({ kind: "admin", name: "admin" });
    expect(await authenticate("admin", undefined, snap)).toBeNull();
  });
});
