// Covers token secrets, bearer parsing, and the key ring with sealed values (rotation, legacy v1, forgeries).
import { describe, expect, it } from "vitest";
import { authenticate, bearerSecret } from "../../src/auth/authenticate";
import { keyMaterials, MissingKeyError, ringOf } from "../../src/auth/keys";
import { open, seal, UnsealError } from "../../src/auth/seal";
import { newTokenSecret, secretsEqual, sha256Hex } from "../../src/auth/secrets";
import { decryptHeaders, encryptHeaders } from "../../src/config/header-crypto";
import type { ConfigSnapshot } from "../../src/config/snapshot";
import { base64url } from "../../src/util/bytes";

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
    const one = await ringOf(["key-one"]);
    const sealed = await encryptHeaders({ Authorization: "Bearer x" }, one);
    expect(sealed).not.toContain("Bearer");
    expect(await decryptHeaders(sealed, one)).toEqual({ Authorization: "Bearer x" });
    await expect(decryptHeaders(sealed, await ringOf(["key-two"]))).rejects.toThrow(UnsealError);
    const tampered = `${sealed.slice(0, -2)}AA`;
    await expect(decryptHeaders(tampered, one)).rejects.toThrow(UnsealError);
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
    expect(await authenticate("admin", "admin", snap)).toMatchObject({
      kind: "admin",
      name: "admin",
      platformAdmin: true,
    });
    expect(await authenticate("admin", undefined, snap)).toBeNull();
  });
});

describe("key ring and sealed values", () => {
  it("orders keys current, previous, then the admin token, without duplicates", () => {
    expect(keyMaterials({ ENCRYPTION_KEY: "k2", ENCRYPTION_KEY_PREVIOUS: "k1, k0", ADMIN_TOKEN: "adm" })).toEqual([
      "k2",
      "k1",
      "k0",
      "adm",
    ]);
    expect(keyMaterials({ ADMIN_TOKEN: "adm" })).toEqual(["adm"]);
    expect(keyMaterials({ ENCRYPTION_KEY: "k", ADMIN_TOKEN: "k" })).toEqual(["k"]);
    expect(() => keyMaterials({})).toThrow(MissingKeyError);
  });

  it("names the sealing key, opens with a previous key, and refuses once that key is gone", async () => {
    const old = await ringOf(["key-material-one"]);
    const rotated = await ringOf(["k2", "key-material-one"]);
    const sealed = await seal({ a: 1 }, old, "session");
    expect(sealed.split(".")[1]).toBe(old.current.id);
    expect(old.current.id).toMatch(/^[0-9a-f]{16}$/);
    expect(sealed).not.toContain("key-material-one");
    expect(await open(sealed, rotated, "session")).toEqual({ value: { a: 1 }, keyId: old.current.id });
    await expect(open(sealed, await ringOf(["k2"]), "session")).rejects.toThrow(UnsealError);
    // A value sealed for one purpose never opens as another.
    await expect(open(sealed, old, "backend-headers")).rejects.toThrow(UnsealError);
  });

  it("opens v1 values (sealed before key ids) with any key of the ring", async () => {
    const ring = await ringOf(["k2", "legacy"]);
    const key = await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new Uint8Array(0),
        info: new TextEncoder().encode("mcp-gateway/backend-headers/v1"),
      },
      await crypto.subtle.importKey("raw", new TextEncoder().encode("legacy"), "HKDF", false, ["deriveKey"]),
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt"],
    );
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode('{"h":"v"}'));
    const v1 = `v1.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
    expect(await open(v1, ring, "backend-headers")).toEqual({ value: { h: "v" }, keyId: ring.keys[1]?.id });
  });

  it("answers every forged or malformed value with UnsealError, never another error", async () => {
    const ring = await ringOf(["k"]);
    const good = await seal("x", ring, "session");
    const forged = [
      "",
      "v2",
      "v1.",
      "v2...",
      "v2.x.y.z",
      `v2.${ring.current.id}.!!!.???`,
      `v2.${ring.current.id}.AAAA.AAAA`,
      good.replace(/^v2/, "v3"),
      `${good}.extra`,
      "v1.%%%.%%%",
      "\u0000".repeat(10),
    ];
    for (const value of forged) await expect(open(value, ring, "session"), value).rejects.toThrow(UnsealError);
  });
});
