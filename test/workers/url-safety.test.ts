// Backend URL safety (pure logic): which literal addresses and names are refused, and DNS answers.
import { describe, expect, it } from "vitest";
import {
  checkBackendUrl,
  isBlockedHost,
  isBlockedIPv4,
  isBlockedIPv6,
  MAX_URL_LENGTH,
  parseHttpUrl,
  urlProblem,
} from "../../src/config/url-safety";

const noDns = async () => {
  throw new Error("no DNS in this test");
};

describe("url safety", () => {
  it.each([
    "127.0.0.1",
    "10.0.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
  ])("blocks IPv4 %s", (ip) => expect(isBlockedIPv4(ip)).toBe(true));

  it.each(["8.8.8.8", "172.32.0.1", "93.184.215.14", "1.1.1.1"])("allows IPv4 %s", (ip) => {
    expect(isBlockedIPv4(ip)).toBe(false);
  });

  it.each([
    "::1",
    "::",
    "fd00::1",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "64:ff9b::a00:1",
    "ff02::1",
    "fe80::1%eth0",
  ])("blocks IPv6 %s", (ip) => expect(isBlockedIPv6(ip)).toBe(true));

  // IPv6 forms that carry an IPv4 address: refused when the IPv4 part is not public.
  it.each([
    ["::ffff:0:127.0.0.1", "SIIT (RFC 6145) loopback"],
    ["::ffff:0:a00:1", "SIIT 10.0.0.1"],
    ["2002:7f00:1::", "6to4 of 127.0.0.1"],
    ["2002:a00:1::1", "6to4 of 10.0.0.1"],
    ["2002:c0a8:101::", "6to4 of 192.168.1.1"],
    ["2002:a9fe:a9fe::", "6to4 of the metadata address"],
    ["2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1 (obfuscated)"],
    ["2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo, client 10.0.0.1 (obfuscated)"],
    ["2001:0:a00:1:0:0:f7f7:f7f7", "Teredo, server 10.0.0.1"],
    ["64:ff9b:1::7f00:1", "local-use NAT64 (RFC 8215) of 127.0.0.1"],
    ["64:ff9b::169.254.169.254", "NAT64 of the metadata address"],
    ["::127.0.0.1", "IPv4-compatible loopback"],
    ["::10.0.0.1", "IPv4-compatible private"],
    ["2001:db8::1", "documentation"],
    ["100::1", "discard"],
    ["fec0::1", "deprecated site-local"],
  ])("blocks IPv6 %s (%s)", (ip) => expect(isBlockedIPv6(ip)).toBe(true));

  it.each([
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2001:4860:4860::8888",
    "2002:808:808::1",
    "::ffff:0:8.8.8.8",
    "64:ff9b::808:808",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
  ])("allows IPv6 %s", (ip) => {
    expect(isBlockedIPv6(ip)).toBe(false);
  });

  it.each([
    "localhost",
    "api.localhost",
    "printer.local",
    "metadata.google.internal",
    "router.home.arpa",
    "intranet",
    "LOCALHOST.",
    "printer.local.",
    "metadata.google.internal.",
  ])("blocks the name %s", (h) => expect(isBlockedHost(h)).toBe(true));

  // Lookalikes of the blocked names: each pattern matches the whole label or suffix, nothing more.
  it.each([
    "example.com",
    "example.com.",
    "a.notlocalhost",
    "localhost.example.com",
    "a.localhost.example.com",
    "printer.local.example.com",
    "x.internal.example.com",
    "router.home.arpa.example.com",
    "metadata.example.com",
    "cloud.metadata",
  ])("allows the name %s", (h) => expect(isBlockedHost(h)).toBe(false));

  it("answers false for what is not an address of the asked family", () => {
    expect(isBlockedIPv4("::1")).toBe(false);
    expect(isBlockedIPv4("0x7f.1")).toBe(false);
    expect(isBlockedIPv6("127.0.0.1")).toBe(false);
  });

  it("allows everything when private backends are allowed", async () => {
    expect(await checkBackendUrl("http://127.0.0.1:1/", true, noDns)).toEqual({ ok: true });
  });

  it("checks every resolved address of a DNS name", async () => {
    const resolveTo = (addrs: string[]) => async () => addrs;
    expect(await checkBackendUrl("https://mcp.example.com/", false, resolveTo(["93.184.215.14"]))).toEqual({
      ok: true,
    });
    const mixed = await checkBackendUrl("https://rebind.example.com/", false, resolveTo(["93.184.215.14", "10.0.0.5"]));
    expect(mixed.ok).toBe(false);
    for (const answer of ["::ffff:0:7f00:1", "2002:7f00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe", "not-an-ip"]) {
      const verdict = await checkBackendUrl("https://transition.example.com/", false, resolveTo([answer]));
      expect(verdict.ok, answer).toBe(false);
    }
  });

  it("says whether the URL's own host or the addresses its name resolves to were refused", async () => {
    expect(await checkBackendUrl("http://10.0.0.1/", false, noDns)).toEqual({
      ok: false,
      reason: "points to a loopback, private, link-local or metadata address",
    });
    expect(await checkBackendUrl("https://db.example.com/", false, async () => ["10.0.0.1"])).toEqual({
      ok: false,
      reason: "resolves to a loopback, private, link-local or metadata address",
    });
  });

  it("refuses literal transition addresses in URLs", async () => {
    for (const url of [
      "http://[::ffff:0:127.0.0.1]/",
      "http://[2002:7f00:1::]/",
      "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
      "http://[64:ff9b:1::a00:1]/",
      "http://[::127.0.0.1]/",
    ]) {
      expect((await checkBackendUrl(url, false, noDns)).ok, url).toBe(false);
    }
  });

  it("fails closed when a name does not resolve", async () => {
    expect((await checkBackendUrl("https://nx.example.com/", false, async () => [])).ok).toBe(false);
    expect((await checkBackendUrl("https://nx.example.com/", false, noDns)).ok).toBe(false);
  });
});

describe("URL parsing never throws", () => {
  const BAD = [
    "not a url",
    "http://",
    "",
    " ",
    "//example.com",
    "http://:80/",
    "http://exa mple.com/",
    "http://[::1",
    "https://example.com:99999/",
    "https://[fe80::1%25eth0]/",
    "http://\u0000/",
    " https://example.com/",
    "https://example.com/\n",
  ];

  it.each(BAD)("names the problem of %j", async (raw) => {
    expect(urlProblem(raw)).toEqual(expect.any(String));
    expect(parseHttpUrl(raw)).toBeNull();
    expect((await checkBackendUrl(raw, false, noDns)).ok).toBe(false);
    expect((await checkBackendUrl(raw, true, noDns)).ok).toBe(false);
  });

  it("refuses other schemes and credentials, accepts http(s)", () => {
    expect(urlProblem("ftp://example.com/")).toMatch(/http/);
    expect(urlProblem("https://user:pw@example.com/")).toMatch(/credentials/);
    expect(urlProblem("https://example.com:8443/mcp?x=1")).toBeNull();
    expect(parseHttpUrl("http://[::1]:8080/")?.hostname).toBe("[::1]");
  });

  it("refuses a user name or a password alone", () => {
    expect(urlProblem("https://user@example.com/")).toMatch(/credentials/);
    expect(urlProblem("https://:pw@example.com/")).toMatch(/credentials/);
  });

  it("refuses DEL, which the parser would percent-encode instead of refusing", () => {
    expect(urlProblem("https://example.com/\u007f")).toMatch(/control/);
  });

  it("accepts a URL of exactly MAX_URL_LENGTH characters, and not one more", () => {
    const base = "https://example.com/";
    const url = base + "a".repeat(MAX_URL_LENGTH - base.length);
    expect(urlProblem(url)).toBeNull();
    expect(urlProblem(`${url}a`)).toMatch(/at most/);
  });
});
