/**
 * Backend URL safety: parse configured URLs without ever throwing, and refuse
 * backends (and webhook endpoints) on loopback, private, link-local, shared
 * (CGNAT), multicast, reserved or cloud-metadata addresses unless the
 * operator allows them (`ALLOW_PRIVATE_BACKENDS=true`, set by `npm start`).
 *
 * Pure logic; DNS resolution is injected so tests need no network. Literal
 * addresses in any form the URL parser accepts (`2130706433`, `0x7f.1`,
 * `[::ffff:127.0.0.1]`) arrive here already normalised by WHATWG URL parsing.
 * Addresses are classified with ipaddr.js (its maintained special-range
 * tables) rather than hand-kept CIDR lists. IPv6 forms that carry an IPv4
 * address (mapped, SIIT, NAT64, 6to4, Teredo, IPv4-compatible) are judged by
 * that IPv4 address: a tunnel or translator would deliver to it.
 */
import ipaddr from "ipaddr.js";

/** Resolves a hostname to its A and AAAA addresses. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** Why a URL was refused, or null when it is allowed. */
export type UrlVerdict = { ok: true } | { ok: false; reason: string };

/** Longest URL accepted in configuration. */
export const MAX_URL_LENGTH = 2048;

/**
 * The one place configuration URLs are parsed. `new URL` throws on bad input
 * (and zod runs refinements even after its own `.url()` check failed), so
 * every caller goes through this and gets null instead of an exception.
 */
export function parseUrl(raw: string): URL | null {
  return URL.parse(raw);
}

// The WHATWG parser silently strips leading/trailing C0 controls and spaces and
// drops tabs and newlines anywhere; a stored URL must be exactly what is fetched.
function hasControlOrSpace(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** What is wrong with a configured backend or webhook URL, or null if it is a usable http(s) URL. */
export function urlProblem(raw: string): string | null {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (hasControlOrSpace(raw)) return "must not contain spaces or control characters";
  const url = parseUrl(raw);
  if (!url) return "must be a valid absolute URL";
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http or https URL";
  if (url.username || url.password) return "must not contain credentials; use headers";
  return null;
}

/** The parsed URL when `urlProblem` finds nothing wrong, else null. */
export function parseHttpUrl(raw: string): URL | null {
  return urlProblem(raw) === null ? parseUrl(raw) : null;
}

const BLOCKED_NAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /\.home\.arpa$/, /^metadata$/];

/** A literal address, or null when `text` is not one (zone ids such as `%eth0` are accepted). */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  return ipaddr.isValid(text) ? ipaddr.parse(text) : null;
}

/** True unless the IPv4 address is global unicast (ipaddr.js names every special range). */
function blockedV4(ip: ipaddr.IPv4): boolean {
  return ip.range() !== "unicast";
}

/** IPv4 from four bytes of an IPv6 address, optionally XORed (Teredo obfuscates its client address). */
function v4At(bytes: number[], start: number, xor = 0): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes.slice(start, start + 4).map((b) => b ^ xor));
}

/**
 * The IPv4 addresses an IPv6 address delivers to, or null when it embeds none.
 * ipv4Mapped (::ffff:0:0/96), SIIT (RFC 6145, ::ffff:0:0:0/96) and NAT64
 * (RFC 6052 64:ff9b::/96, RFC 8215 64:ff9b:1::/48): the last 4 bytes. 6to4
 * (RFC 3056, 2002::/16): bytes 2-5. Teredo (RFC 4380, 2001::/32): the server
 * in bytes 4-7 and the client in the last 4 bytes, XORed with 0xff.
 * IPv4-compatible (::a.b.c.d, RFC 4291 2.5.5.1, deprecated) is "unicast" to
 * ipaddr.js and is recognised by its 96 zero bits.
 */
function embeddedV4(ip: ipaddr.IPv6): ipaddr.IPv4[] | null {
  const bytes = ip.toByteArray();
  switch (ip.range()) {
    case "ipv4Mapped":
    case "rfc6145":
    case "rfc6052":
      return [v4At(bytes, 12)];
    case "6to4":
      return [v4At(bytes, 2)];
    case "teredo":
      return [v4At(bytes, 4), v4At(bytes, 12, 0xff)];
    case "unicast":
      return bytes.slice(0, 12).every((b) => b === 0) ? [v4At(bytes, 12)] : null;
    default:
      return null;
  }
}

/** Global unicast IPv6 is allowed; an embedded IPv4 address must itself be allowed. */
function blockedV6(ip: ipaddr.IPv6): boolean {
  const embedded = embeddedV4(ip);
  if (embedded) return embedded.some(blockedV4);
  return ip.range() !== "unicast";
}

/** True for IPv4 addresses in a blocked range (false for anything that is not an IPv4 address). */
export function isBlockedIPv4(ip: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(ip) && blockedV4(ipaddr.IPv4.parse(ip));
}

/** True for IPv6 addresses that are not global unicast, or that carry a blocked IPv4 address. */
export function isBlockedIPv6(ip: string): boolean {
  return ipaddr.IPv6.isValid(ip) && blockedV6(ipaddr.IPv6.parse(ip));
}

/** True for a literal address that is blocked, and for anything that is not an address (DNS answers). */
function isBlockedAddress(text: string): boolean {
  const ip = parseAddress(text);
  if (!ip) return true;
  return ip instanceof ipaddr.IPv4 ? blockedV4(ip) : blockedV6(ip);
}

/** True when `host` (a URL hostname, IPv6 without brackets) is a blocked literal address or name. */
export function isBlockedHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (parseAddress(h)) return isBlockedAddress(h);
  if (BLOCKED_NAMES.some((re) => re.test(h))) return true;
  // metadata.google.internal is covered by .internal; single-label names are intranet names.
  return !h.includes(".");
}

/**
 * Decides whether a backend URL may be stored. A URL that does not parse is
 * refused whatever the setting. Literal hosts are checked directly; DNS names
 * are resolved and refused if any address is blocked or is not an address, or
 * the name does not resolve (fail closed).
 */
export async function checkBackendUrl(rawUrl: string, allowPrivate: boolean, resolve: Resolver): Promise<UrlVerdict> {
  const problem = urlProblem(rawUrl);
  if (problem) return { ok: false, reason: problem };
  if (allowPrivate) return { ok: true };
  const host = (parseUrl(rawUrl)?.hostname ?? "").replace(/^\[|\]$/g, "");
  if (isBlockedHost(host))
    return { ok: false, reason: "points to a loopback, private, link-local or metadata address" };
  if (parseAddress(host)) return { ok: true };
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { ok: false, reason: "could not be resolved" };
  }
  if (addresses.length === 0) return { ok: false, reason: "could not be resolved" };
  if (addresses.some(isBlockedAddress)) {
    return { ok: false, reason: "resolves to a loopback, private, link-local or metadata address" };
  }
  return { ok: true };
}

/** A DNS-over-HTTPS (JSON API) resolver with a timeout. */
export function dohResolver(endpoint: string, timeoutMs = 3000): Resolver {
  return async (hostname) => {
    const lookups = ["A", "AAAA"].map(async (type) => {
      const url = `${endpoint}?name=${encodeURIComponent(hostname)}&type=${type}`;
      const res = await fetch(url, {
        headers: { accept: "application/dns-json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`resolver answered ${res.status}`);
      const body = (await res.json()) as { Answer?: Array<{ type: number; data: string }> };
      // Type 1 = A, 28 = AAAA; CNAME records (5) are followed by the resolver.
      return (body.Answer ?? []).filter((a) => a.type === 1 || a.type === 28).map((a) => a.data);
    });
    return (await Promise.all(lookups)).flat();
  };
}
