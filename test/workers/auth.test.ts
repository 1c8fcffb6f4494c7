// Credentials in detail: bearer parsing, token expiry to the millisecond, sealing (formats, purposes, key material), base64url.
import { describe, expect, it } from "vitest";
import { authenticate, bearerSecret } from "../../src/auth/authenticate";
import { keyMaterials, ringOf } from "../../src/auth/keys";
import { seal, unseal } from "../../src/auth/seal";
import { newTokenSecret, sha256Hex } from "../../src/auth/secrets";
import type { ConfigSnapshot } from "../../src/config/snapshot";
import { base64url, fromBase64url } from "../../src/util/bytes";
import { api, errorOf, uniqueName } from "./helpers";

describe("bearer header parsing", () => {
  it("takes the whole header: one secret after the scheme, surrounding spaces allowed", () => {
    expect(bearerSecret("Bearer   abc")).toBe("abc");
    expect(bearerSecret("Bearer abc  ")).toBe("abc");
    expect(bearerSecret("Bearer abc def")).toBeNull();
    expect(bearerSecret("Token Bearer abc")).toBeNull();
    expect(bearerSecret("")).toBeNull();
    expect(bearerSecret(`Bearer ${"x".repeat(512)}`)).toBe("x".repeat(512));
    expect(bearerSecret(`Bearer ${"x".repeat(513)}`)).toBeNull();
  });
});

describe("token authentication", () => {
  it("a token expires at its expiry instant, not a millisecond later", async () => {
    const secret = newTokenSecret();
    const snap: ConfigSnapshot = {
      version: 1,
      backends: new Map(),
      servers: new Map(),
      plugins: [],
      tokensByHash: new Map([
        [await sha256Hex(secret), { id: "tok_1", name: "ci", scopes: ["mcp"], servers: ["a"], expiresAt: 2_000 }],
      ]),
    };
    expect(await authenticate(secret, "admin", snap, 1_999)).toEqual({
      kind: "token",
      id: "tok_1",
      name: "ci",
      scopes: ["mcp"],
      servers: ["a"],
    });
    expect(await authenticate(secret, "admin", snap, 2_000)).toBeNull();
  });

  it("the admin API names what is wrong with the credential", async () => {
    const missing = await api("GET", "/api/backends", { token: null });
    expect(errorOf(missing.body)).toMatchObject({ code: "unauthorized", message: "Missing bearer token" });
    const wrong = await api("GET", "/api/backends", { token: "wrong" });
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(errorOf(wrong.body)).toMatchObject({ code: "unauthorized", message: "Invalid or expired token" });
    const created = await api("POST", "/api/tokens", { body: { name: uniqueName("mcp"), scopes: ["mcp"] } });
    const forbidden = await api("GET", "/api/backends", { token: (created.body as { token: string }).token });
    expect(errorOf(forbidden.body)).toMatchObject({
      code: "forbidden",
      message: "This token does not have the admin scope",
    });
  });
});

describe("sealing", () => {
  it("opens only what it sealed, in the v2 format with nothing appended or missing", async () => {
    const ring = await ringOf(["material"]);
    const sealed = await seal({ a: 1 }, ring, "session");
    expect(await unseal(sealed, ring, "session")).toEqual({ a: 1 });
    const [, kid, iv, ct] = sealed.split(".");
    expect(kid).toBe(ring.current.id);
    for (const altered of [
      `v3.${kid}.${iv}.${ct}`,
      `${sealed}.extra`,
      `v2.${kid}..${ct}`,
      `v2.${kid}.${iv}.`,
      `v2.${kid}.${iv}`,
    ]) {
      await expect(unseal(altered, ring, "session")).rejects.toThrow("Unknown sealed format");
    }
  });

  it("derives one key per purpose and per key material", async () => {
    const ring = await ringOf(["material"]);
    const sealed = await seal({ a: 1 }, ring, "session");
    await expect(unseal(sealed, ring, "backend-headers")).rejects.toThrow();
    await expect(unseal(sealed, await ringOf(["other material"]), "session")).rejects.toThrow();
    // Many materials in one isolate (the key cache is bounded and cleared): every value still opens.
    const many = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const r = await ringOf([`m-${i}`]);
        return [r, i, await seal({ i }, r, "session")] as const;
      }),
    );
    for (const [r, i, value] of many) expect(await unseal(value, r, "session")).toEqual({ i });
  });

  it("uses ENCRYPTION_KEY, else ADMIN_TOKEN, and refuses to run without either", () => {
    expect(keyMaterials({ ENCRYPTION_KEY: "enc", ADMIN_TOKEN: "adm" })[0]).toBe("enc");
    expect(keyMaterials({ ADMIN_TOKEN: "adm" })).toEqual(["adm"]);
    expect(() => keyMaterials({})).toThrow("Neither ENCRYPTION_KEY nor ADMIN_TOKEN is configured");
    expect(() => keyMaterials({ ENCRYPTION_KEY: "", ADMIN_TOKEN: "" })).toThrow();
  });
});

describe("base64url", () => {
  it("encodes without padding and decodes with or without it", () => {
    expect(base64url(new Uint8Array([0xfb]))).toBe("-w");
    expect(base64url(new Uint8Array([0xff, 0xff]))).toBe("__8");
    expect(base64url(new Uint8Array([1, 2, 3]))).toBe("AQID");
    expect([...fromBase64url("-w")]).toEqual([0xfb]);
    expect([...fromBase64url("__8=")]).toEqual([0xff, 0xff]);
    expect([...fromBase64url("AQID")]).toEqual([1, 2, 3]);
    expect(fromBase64url("")).toHaveLength(0);
  });
});
