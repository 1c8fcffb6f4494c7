/**
 * Backend URL safety: refuse backends on loopback, private, link-local,
 * shared (CGNAT), multicast, reserved or cloud-metadata addresses unless the
 * operator allows them (`ALLOW_PRIVATE_BACKENDS=true`, set by `npm start`).
 *
 * Pure logic; DNS resolution is injected so tests need no network. Literal
 * addresses in any form the URL parser accepts (`2130706433`, `0x7f.1`,
 * `[::ffff:127.0.0.1]`) arrive here already normalised by WHATWG URL parsing.
 */

/** Resolves a hostname to its A and AAAA addresses. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** Why a URL was refused, or null when it is allowed. */
export type UrlVerdict = { ok: true } | { ok: false; reason: string };

const BLOCKED_NAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /\.home\.arpa$/, /^metadata$/];

/** [network, prefix length] in IPv4. */
const BLOCKED_V4: Array<[string, number]> = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

function v4ToInt(ip: string): number | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** True for IPv4 addresses in a blocked range. */
export function isBlockedIPv4(ip: string): boolean {
  const n = v4ToInt(ip);
  if (n === null) return false;
  return BLOCKED_V4.some(([net, bits]) => {
    const base = v4ToInt(net) ?? 0;
    const size = 2 ** (32 - bits);
    return n >= base && n < base + size;
  });
}

/** Expands an IPv6 address to eight 16-bit groups, or null if it is not one. */
function v6Groups(ip: string): number[] | null {
  let s = ip.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted IPv4 part (e.g. ::ffff:1.2.3.4) becomes two groups.
  const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4?.[1]) {
    const n = v4ToInt(v4[1]);
    if (n === null) return null;
    s = `${s.slice(0, -v4[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) =>
    part ? part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN)) : [];
  const head = parse(halves[0] ?? "");
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(fill, 0)).fill(0), ...tail];
  if (groups.length !== 8 || groups.some(Number.isNaN)) return null;
  return groups;
}

/** True for IPv6 addresses that are loopback, unspecified, ULA, link-local, multicast or embed a blocked IPv4. */
export function isBlockedIPv6(ip: string): boolean {
  const g = v6Groups(ip);
  if (!g) return false;
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = g;
  const allZeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (allZeroTo(7) && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  if ((g0 & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((g0 & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return true; // documentation
  const embedded = `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64)
  if (allZeroTo(5) && (g5 === 0xffff || g5 === 0)) return isBlockedIPv4(embedded);
  if (g0 === 0x64 && g1 === 0xff9b) return isBlockedIPv4(embedded);
  return false;
}

/** True when `host` (a URL hostname, IPv6 without brackets) is a blocked literal address or name. */
export function isBlockedHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (v4ToInt(h) !== null) return isBlockedIPv4(h);
  if (h.includes(":")) return isBlockedIPv6(h);
  if (BLOCKED_NAMES.some((re) => re.test(h))) return true;
  // metadata.google.internal is covered by .internal; single-label names are intranet names.
  return !h.includes(".");
}

/**
 * Decides whether a backend URL may be stored. Literal hosts are checked
 * directly; DNS names are resolved and refused if any address is blocked or
 * the name does not resolve (fail closed).
 */
export async function checkBackendUrl(rawUrl: string, allowPrivate: boolean, resolve: Resolver): Promise<UrlVerdict> {
  if (allowPrivate) return { ok: true };
  const host = new URL(rawUrl).hostname.replace(/^\[|\]$/g, "");
  if (isBlockedHost(host))
    return { ok: false, reason: "points to a loopback, private, link-local or metadata address" };
  if (v4ToInt(host) !== null || host.includes(":")) return { ok: true };
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return { ok: false, reason: "could not be resolved" };
  }
  if (addresses.length === 0) return { ok: false, reason: "could not be resolved" };
  if (addresses.some((a) => isBlockedHost(a))) {
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
