// Sealed values in detail: which key a v2 value may open under, the exact v1 shape, how a refusal names itself, and stable (synthetic-IV) seals.
import { describe, expect, it } from "vitest";
import { ringOf } from "../../src/auth/keys";
import { open, seal, UnsealError } from "../../src/auth/seal";
import { base64url, fromBase64url } from "../../src/util/bytes";

const encoder = new TextEncoder();

/** A key derived the way seal.ts documents it (HKDF-SHA-256, empty salt, `info`), computed independently here. */
async function derive(material: string, info: string, algorithm: SubtleCryptoImportKeyAlgorithm, usage: string) {
  const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(info) },
    base,
    algorithm,
    false,
    [usage],
  );
}

/** A v1 value (from before key ids) sealed with `material` for the session purpose. */
async function v1Of(material: string, value: unknown): Promise<string> {
  const key = await derive(material, "mcp-gateway/session/v1", { name: "AES-GCM", length: 256 }, "encrypt");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, encoder.encode(JSON.stringify(value)));
  return `v1.${base64url(iv)}.${base64url(new Uint8Array(ct))}`;
}

describe("which key opens a sealed value", () => {
  it("a v2 value opens only under the key its id names, even when another key of the ring could open it", async () => {
    const ring = await ringOf(["current-key", "previous-key"]);
    const previous = ring.keys[1];
    const sealed = await seal({ a: 1 }, await ringOf(["previous-key"]), "session");
    expect(await open(sealed, ring, "session")).toEqual({ value: { a: 1 }, keyId: previous?.id });
    const [, , iv, ct] = sealed.split(".");
    // Relabelled with the current key's id, or with an id the ring does not have: refused, not tried key by key.
    for (const kid of [ring.current.id, "0123456789abcdef"]) {
      await expect(open(`v2.${kid}.${iv}.${ct}`, ring, "session")).rejects.toThrow(UnsealError);
    }
  });

  it("a v1 value has exactly three parts", async () => {
    const ring = await ringOf(["k2", "legacy"]);
    const v1 = await v1Of("legacy", { b: 2 });
    expect(await open(v1, ring, "session")).toEqual({ value: { b: 2 }, keyId: ring.keys[1]?.id });
    const [, iv, ct] = v1.split(".");
    for (const altered of [`${v1}.extra`, `${v1}.`, `v1.${iv}`, `v1.${iv}.${ct}.${ct}`]) {
      await expect(open(altered, ring, "session"), altered).rejects.toThrow("Unknown sealed format");
    }
  });

  it("a value no key opens is refused by an UnsealError that says so", async () => {
    const sealed = await seal("x", await ringOf(["one"]), "session");
    const refusal = await open(sealed, await ringOf(["two"]), "session").catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(UnsealError);
    expect(refusal).toMatchObject({
      name: "UnsealError",
      message: "Sealed value cannot be opened with the configured keys",
    });
  });
});

describe("stable seals (synthetic IV)", () => {
  it("seal the same value to the same text, with a 96-bit IV that is the HMAC of the plaintext under its own derived key", async () => {
    // Two materials and two purposes in one isolate: each stable seal uses the IV key of its own pair.
    for (const [material, purpose] of [
      ["stable-key", "task-id"],
      ["other-stable-key", "task-cursor"],
    ] as const) {
      const ring = await ringOf([material]);
      const value = { task: "t-1", owner: "admin" };
      const first = await seal(value, ring, purpose, { stable: true });
      expect(await seal(value, ring, purpose, { stable: true })).toBe(first);
      expect(await seal({ ...value, task: "t-2" }, ring, purpose, { stable: true })).not.toBe(first);
      expect(await open(first, ring, purpose)).toEqual({ value, keyId: ring.current.id });
      const [, kid, iv] = first.split(".");
      expect(kid).toBe(ring.current.id);
      const hmac = { name: "HMAC", hash: "SHA-256", length: 256 };
      const macKey = await derive(material, `mcp-gateway/${purpose}/iv/v1`, hmac, "sign");
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", macKey, encoder.encode(JSON.stringify(value))));
      expect(iv, purpose).toBe(base64url(mac.slice(0, 12)));
    }
  });

  it("without `stable`, the same value seals differently each time, always with a 96-bit IV", async () => {
    const ring = await ringOf(["random-key"]);
    const one = await seal("same", ring, "task-id");
    const two = await seal("same", ring, "task-id");
    expect(one).not.toBe(two);
    for (const sealed of [one, two]) {
      expect(fromBase64url(sealed.split(".")[2] ?? "")).toHaveLength(12);
      expect(await open(sealed, ring, "task-id")).toEqual({ value: "same", keyId: ring.current.id });
    }
  });
});
