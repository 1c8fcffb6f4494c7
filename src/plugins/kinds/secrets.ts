/**
 * `secrets_detection`: finds credentials (cloud and SaaS API keys, private
 * keys, JWTs, this gateway's own tokens) in arguments and results, and blocks
 * the request or masks them. Every pattern is anchored on a fixed prefix and
 * bounded, so scanning is linear.
 */
import { z } from "zod";
import { TOKEN_PREFIX } from "../../auth/secrets";
import { commonSettings } from "../settings";
import { defineKind, HOOKS } from "../types";
import { mapStrings, someString } from "../walk";

export const SECRET_PATTERNS = {
  aws_access_key: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])/g,
  aws_secret_key: /aws.{0,20}secret.{0,20}[:=]\s{0,5}["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi,
  github_token: /(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})(?![\w])/g,
  slack_token: /(?<![\w-])xox[abposr]-[A-Za-z0-9-]{10,250}/g,
  stripe_key: /(?<![\w])[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}(?![\w])/g,
  google_api_key: /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g,
  llm_api_key: /(?<![\w-])sk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,512}/g,
  jwt: /(?<![\w-])eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,4096}/g,
  private_key:
    /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,16384}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)?/g,
  gateway_token: new RegExp(`(?<![\\w-])${TOKEN_PREFIX}[A-Za-z0-9_-]{43}(?![\\w-])`, "g"),
} as const;

export type SecretType = keyof typeof SECRET_PATTERNS;
export const SECRET_TYPES = Object.keys(SECRET_PATTERNS) as [SecretType, ...SecretType[]];

const schema = z.strictObject({
  types: z.array(z.enum(SECRET_TYPES)).min(1).default(SECRET_TYPES).describe("What to look for"),
  action: z.enum(["block", "mask"]).default("block").describe("block the request, or mask: [REDACTED_SECRET:<type>]"),
  ...commonSettings(),
});

export const secretsDetection = defineKind({
  kind: "secrets_detection",
  description: "Blocks or masks API keys, private keys, JWTs and tokens in arguments and results.",
  hooks: HOOKS,
  defaultHooks: ["tool_pre_invoke", "tool_post_invoke", "prompt_pre_fetch", "prompt_post_fetch", "resource_post_fetch"],
  schema,
  create(config) {
    const patterns = config.types.map((type) => ({ type, re: SECRET_PATTERNS[type] }));
    const mask = config.action === "mask";
    return {
      modifies: () => mask,
      run(_hook, value) {
        if (mask) {
          const out = mapStrings(value, (s) => {
            let r = s;
            for (const p of patterns) r = r.replace(p.re, `[REDACTED_SECRET:${p.type}]`);
            return r;
          });
          return out === value ? undefined : { modified: out };
        }
        const found = new Set<SecretType>();
        someString(value, (s) => {
          for (const p of patterns) {
            p.re.lastIndex = 0;
            if (p.re.test(s)) found.add(p.type);
          }
          return false;
        });
        if (found.size === 0) return undefined;
        return {
          violation: {
            code: "SECRET_DETECTED",
            description: "The payload contains a credential",
            details: { types: [...found].sort() },
          },
        };
      },
    };
  },
});
