/**
 * `pii_filter`: finds e-mail addresses, phone numbers, US social security
 * numbers, payment card numbers (Luhn-checked), IBANs (mod-97-checked) and
 * IP addresses in every string of the payload, and masks them, masks them
 * partially, or blocks the request.
 *
 * Every pattern is linear or bounded (no nested unbounded quantifiers);
 * candidates are confirmed by checksums where the format has one, which keeps
 * order numbers and timestamps from being flagged as cards.
 */
import { z } from "zod";
import { commonSettings } from "../settings";
import { defineKind, HOOKS, type HookName, type PluginResult } from "../types";
import { mapStrings, someString } from "../walk";

export const PII_TYPES = ["credit_card", "iban", "ssn", "email", "ip_address", "phone"] as const;
export type PiiType = (typeof PII_TYPES)[number];

/** Luhn checksum of a digit string (payment cards). */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits) || /^0+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: country, 2 check digits, BBAN; mod 97 of the rearranged number is 1. */
export function ibanValid(candidate: string): boolean {
  const iban = candidate.replace(/ /g, "");
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) rest = (rest * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

function ipv6Valid(candidate: string): boolean {
  const colons = candidate.split(":").length - 1;
  if (!candidate.includes("::") && colons !== 7) return false;
  if (candidate.replace(/:/g, "").length < 2) return false;
  try {
    new URL(`http://[${candidate}]/`);
    return true;
  } catch {
    return false;
  }
}

const starDigits = (s: string, keepLast: number) => {
  const total = s.replace(/\D/g, "").length;
  let seen = 0;
  return s.replace(/\d/g, (d) => (++seen > total - keepLast ? d : "*"));
};

interface Detector {
  type: PiiType;
  pattern: RegExp;
  valid?: (match: string) => boolean;
  partial: (match: string) => string;
}

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

/** In replacement order: cards and IBANs before the shorter number formats they contain. */
const DETECTORS: readonly Detector[] = [
  {
    type: "credit_card",
    pattern: /(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}|\d{4}([ -])\d{6}\2\d{5})(?![\w-])/g,
    valid: (m) => luhnValid(m.replace(/\D/g, "")),
    partial: (m) => starDigits(m, 4),
  },
  {
    type: "iban",
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g,
    valid: ibanValid,
    partial: (m) => {
      // Country code and the last 4 characters stay.
      const total = m.replace(/ /g, "").length;
      let seen = 0;
      return m.replace(/[A-Z0-9]/g, (c) => (++seen <= 2 || seen > total - 4 ? c : "*"));
    },
  },
  {
    type: "ssn",
    pattern: /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g,
    partial: (m) => `***-**-${m.slice(-4)}`,
  },
  {
    type: "email",
    pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])/g,
    partial: (m) => {
      const at = m.indexOf("@");
      return `${m[0]}***${m.slice(at)}`;
    },
  },
  {
    type: "ip_address",
    pattern: new RegExp(
      `(?<![\\w.:])(?:(?:${OCTET}\\.){3}${OCTET}(?![\\w]|\\.\\d)|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\\w:]|\\.\\w))`,
      "g",
    ),
    valid: (m) => !m.includes(":") || ipv6Valid(m),
    partial: (m) => {
      if (!m.includes(":")) return m.split(".").slice(0, 2).concat("*", "*").join(".");
      return `${m.split(":").slice(0, 2).join(":")}:*`;
    },
  },
  {
    type: "phone",
    pattern:
      /(?<![\w+])(?:\+[1-9](?:[ .-]?\d){7,14}|(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-]?)[2-9]\d{2}[ .-]?\d{4})(?!\w)/g,
    partial: (m) => starDigits(m, 4),
  },
];

const LABELS: Record<PiiType, string> = {
  credit_card: "[REDACTED_CREDIT_CARD]",
  iban: "[REDACTED_IBAN]",
  ssn: "[REDACTED_SSN]",
  email: "[REDACTED_EMAIL]",
  ip_address: "[REDACTED_IP_ADDRESS]",
  phone: "[REDACTED_PHONE]",
};

export interface PiiOptions {
  types: readonly PiiType[];
  strategy: "mask" | "partial" | "block";
  allow?: readonly string[];
}

/** A compiled scanner for a set of PII types (exported for tests and reuse). */
export function piiScanner(options: PiiOptions) {
  const wanted = new Set(options.types);
  const detectors = DETECTORS.filter((d) => wanted.has(d.type));
  const allow = new Set(options.allow ?? []);
  const hit = (d: Detector, m: string) => !allow.has(m) && (!d.valid || d.valid(m));

  /** The types found in `s`. */
  const find = (s: string, into: Set<PiiType>): void => {
    for (const d of detectors) {
      if (into.has(d.type)) continue;
      d.pattern.lastIndex = 0;
      for (const m of s.matchAll(d.pattern)) {
        if (hit(d, m[0])) {
          into.add(d.type);
          break;
        }
      }
    }
  };
  /** `s` with every finding masked (fully or partially). */
  const redact = (s: string): string => {
    let out = s;
    for (const d of detectors) {
      out = out.replace(d.pattern, (m: string) =>
        hit(d, m) ? (options.strategy === "partial" ? d.partial(m) : LABELS[d.type]) : m,
      );
    }
    return out;
  };
  return { find, redact };
}

const schema = z.strictObject({
  types: z
    .array(z.enum(PII_TYPES))
    .min(1)
    .default([...PII_TYPES])
    .describe("What to look for"),
  strategy: z
    .enum(["mask", "partial", "block"])
    .default("mask")
    .describe("mask: [REDACTED_<TYPE>]; partial: keep a recognisable part (last 4 digits, e-mail domain); block"),
  allow: z.array(z.string().max(256)).max(1000).default([]).describe("Exact values never treated as PII"),
  ...commonSettings(),
});

export const piiFilter = defineKind({
  kind: "pii_filter",
  description:
    "Masks (fully or partially) or blocks e-mail addresses, phone numbers, SSNs, payment cards (Luhn), IBANs and IP addresses.",
  hooks: HOOKS,
  defaultHooks: ["tool_pre_invoke", "tool_post_invoke", "prompt_pre_fetch", "prompt_post_fetch", "resource_post_fetch"],
  schema,
  create(config) {
    const scanner = piiScanner(config);
    const block = config.strategy === "block";
    return {
      modifies: (_hook: HookName) => !block,
      run(_hook, value): PluginResult | undefined {
        if (block) {
          const found = new Set<PiiType>();
          someString(value, (s) => {
            scanner.find(s, found);
            return false;
          });
          if (found.size === 0) return undefined;
          return {
            violation: {
              code: "PII_DETECTED",
              description: "The payload contains personal data",
              details: { types: PII_TYPES.filter((t) => found.has(t)) },
            },
          };
        }
        const redacted = mapStrings(value, scanner.redact);
        return redacted === value ? undefined : { modified: redacted };
      },
    };
  },
});
