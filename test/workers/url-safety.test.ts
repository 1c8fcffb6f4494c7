import { describe, expect, it } from "vitest";
import { checkBackendUrl, isBlockedHost, isBlockedIPv4, isBlockedIPv6 } from "../../src/config/url-safety";

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

  it.each(["2606:4700:4700::1111", "::ffff:8.8.8.8", "2001:4860:4860::8888"])("allows IPv6 %s", (ip) => {
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
  ])("blocks the name %s", (h) => expect(isBlockedHost(h)).toBe(true));

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
  });

  it("fails closed when a name does not resolve", async () => {
    expect((await checkBackendUrl("https://nx.example.com/", false, async () => [])).ok).toBe(false);
    expect((await checkBackendUrl("https://nx.example.com/", false, noDns)).ok).toBe(false);
  });
});
