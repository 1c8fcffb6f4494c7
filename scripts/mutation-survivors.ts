/**
 * Why each surviving mutant that no test can or should kill survives, per
 * module of scripts/mutation-modules.ts. An entry names no path or line: it
 * matches a survivor of its module by mutator, a snippet of the original code
 * and the exact replacement (both whitespace-normalised) and, for mutants
 * whose code is too short to tell apart, code within two lines of it. An
 * entry that matches nothing is reported as stale, so the list cannot rot.
 *
 * Accepted reasons: the mutant is equivalent (no input tells it apart), it is
 * equivalent on every state the code can reach, or it changes only speed,
 * memory or the timing of background reads and reports (never an answer, nor
 * what reaches a Durable Object). Anything else gets a test.
 */
import type { Explanation } from "./mutation-modules.ts";

/** [mutator, original snippet, replacement, why, near?] */
type Entry = [string, string, string, string, string?];

const SPEED = "Speed only: a per-isolate cache; without it the same value is computed again, with the same result.";
const KEY_CACHE =
  "The key cache's bound (memory only): every value seals and opens the same with or without the cache.";
const BREAKER_STATES =
  "Equivalent on every breaker the transitions produce: an open breaker always has retryAt and openedAt, a closed or half-open one never has retryAt.";
const TRIAL_LEASE = "Equivalent: only a half-open breaker has trialUntil, and `null > now` is false.";
const BATCHES = "Equivalent for every batch an isolate sends: without successes, trailingFailures equals failures.";
const CLOSED_REJECTION =
  "Reached only in a race (a trial request fails while a background read finds the breaker closed); the mapping keeps 'closed' out of an unavailable error.";
const TTL_DRAW =
  "Timing only: the TTL is drawn per entry from ±20% around its base, and in whole milliseconds `>= ttl` is `> ttl - 1`, so the entry's background read starts one millisecond sooner, as with a draw one millisecond shorter; what is read and every answer stay the same.";
const SAME_INSTANT =
  "Only the timers: when the new flush is due at the very instant already scheduled, a second timer is set for it; the first to fire sends the batch and clears `flushAt`, and the second, finding `flushAt` no longer its own, sends nothing.";
const REPLACED_TIMER =
  "Only when a batch goes, never what reaches the breaker: a timer replaced by a sooner one runs too, at its own later time; it finds the batch the sooner one sent gone and sends nothing, unless outcomes arrived since (while the breaker is still closed), which it then sends before their own timer would. The breaker counts the same outcomes.";
const SORT =
  "Equivalent: plugin names are unique, and V8 sorts arrays this short by binary insertion, which only asks whether a comparison is negative.";

const PARSED =
  "Equivalent: reached only after `urlProblem` parsed the same string, so it parses again and has a hostname.";
const BRACKETS = "Equivalent: a URL hostname has brackets only around an IPv6 address, so only at both ends.";

const NEVER_TOO_LARGE =
  "Unreachable within the schema's bounds: RE2JS compiles the largest pattern list the schema accepts (100 globs of 256 characters, measured), so the compile check never finds a problem; it guards a change of bounds or engine.";

const SAME_SOURCE =
  "Equivalent for the gateway's source (the config shard, which always has `direct`): the flag decides only when a check goes direct, and a check that did not go direct runs only while the flag is already clear (a check from before a write returns before it).";

const ENTRIES: Record<string, Entry[]> = {
  "auth and principal checks": [
    [
      "ConditionalExpression",
      "has !== undefined",
      "true",
      "Equivalent: a team the caller is not in ranks `undefined`, and `undefined >= n` is false.",
    ],
    ["ConditionalExpression", "team !== null", "true", "Equivalent: `hasRole` answers false for a null team itself."],
    [
      "ConditionalExpression",
      "principal.platformAdmin",
      "false",
      "Speed only: `canSee` and `canUse` grant a platform admin everything, so the loop keeps every backend and the endpoint comes back unchanged.",
      "return endpoint;",
    ],
    [
      "ConditionalExpression",
      "!header",
      "false",
      "Equivalent: a missing or empty header fails the pattern just the same.",
    ],
    ["ConditionalExpression", "server !== null", "true", "Equivalent: `servers` holds names, never null."],
    ["ConditionalExpression", "expectedDigest?.secret !== expected", "true", SPEED],
  ],
  "session sealing and liveness": [
    ["ConditionalExpression", "!key", "true", SPEED],
    [
      "BooleanLiteral",
      "false",
      "true",
      "The derived key never leaves this module, so whether it could be exported is unobservable.",
      '{ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]',
    ],
    [
      "BooleanLiteral",
      "false",
      "true",
      "The derived key never leaves this module, so whether it could be exported is unobservable.",
      '{ name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign"]',
    ],
    ["ConditionalExpression", "derived.size > 64", "true", KEY_CACHE],
    ["ConditionalExpression", "derived.size > 64", "false", KEY_CACHE],
    ["EqualityOperator", "derived.size > 64", "derived.size >= 64", KEY_CACHE],
    ["EqualityOperator", "derived.size > 64", "derived.size <= 64", KEY_CACHE],
    ["CallExpression", "derived.clear();", ";", KEY_CACHE],
    ["CallExpression", "derived.set(cacheKey, key);", ";", SPEED],
    ["ConditionalExpression", "ivKeys.size > 32", "true", KEY_CACHE],
    ["ConditionalExpression", "ivKeys.size > 32", "false", KEY_CACHE],
    ["EqualityOperator", "ivKeys.size > 32", "ivKeys.size >= 32", KEY_CACHE],
    ["EqualityOperator", "ivKeys.size > 32", "ivKeys.size <= 32", KEY_CACHE],
    ["CallExpression", "ivKeys.clear();", ";", KEY_CACHE],
    ["CallExpression", "ivKeys.set(cacheKey, key);", ";", SPEED],
    [
      "BlockStatement",
      'throw new UnsealError("Unknown sealed format");',
      "{}",
      "Equivalent: without it, a value of neither format leaves `iv` and `ct` unset, and the next line throws the same UnsealError.",
      "} else {",
    ],
    ["ConditionalExpression", "known?.ring === ring.fingerprint", "false", SPEED],
    ["ObjectLiteral", "{ ring: ring.fingerprint, claims }", "{}", SPEED],
  ],
  "circuit breaker": [
    [
      "LogicalOperator",
      'b.state === "half-open" && b.trialUntil !== null',
      'b.state === "half-open" || b.trialUntil !== null',
      TRIAL_LEASE,
    ],
    [
      "LogicalOperator",
      'b.state === "open" && b.retryAt !== null',
      'b.state === "open" || b.retryAt !== null',
      BREAKER_STATES,
    ],
    [
      "ConditionalExpression",
      'b.state === "open"',
      "true",
      BREAKER_STATES,
      'b.state === "open" && b.retryAt !== null && now',
    ],
    [
      "ConditionalExpression",
      "b.retryAt !== null",
      "true",
      BREAKER_STATES,
      'b.state === "open" && b.retryAt !== null && now',
    ],
    ["ConditionalExpression", 'b.state === "half-open" && b.trialUntil !== null', "true", TRIAL_LEASE],
    [
      "ConditionalExpression",
      'b.state === "half-open"',
      "true",
      TRIAL_LEASE,
      "b.trialUntil !== null && b.trialUntil > now) {",
    ],
    [
      "ConditionalExpression",
      "b.trialUntil !== null",
      "true",
      TRIAL_LEASE,
      "b.trialUntil !== null && b.trialUntil > now) {",
    ],
    [
      "LogicalOperator",
      'b.state !== "open" || b.retryAt === null',
      'b.state !== "open" && b.retryAt === null',
      BREAKER_STATES,
    ],
    [
      "ConditionalExpression",
      'b.state !== "open"',
      "false",
      BREAKER_STATES,
      'b.state !== "open" || b.retryAt === null',
    ],
    [
      "ConditionalExpression",
      "b.retryAt === null",
      "false",
      BREAKER_STATES,
      'b.state !== "open" || b.retryAt === null',
    ],
    ["ConditionalExpression", "b.openedAt === null", "false", BREAKER_STATES],
    ["ConditionalExpression", "batch.successes > 0", "true", BATCHES, "const failures = batch.successes > 0"],
    [
      "EqualityOperator",
      "batch.successes > 0",
      "batch.successes >= 0",
      BATCHES,
      "const failures = batch.successes > 0",
    ],
    [
      "ConditionalExpression",
      "b.trialUntil !== null",
      "true",
      TRIAL_LEASE,
      "return b.trialUntil !== null && b.trialUntil > now",
    ],
    [
      "EqualityOperator",
      "b.trialUntil > now",
      "b.trialUntil >= now",
      "Equivalent: when they are equal, both branches answer the same time.",
    ],
    [
      "ConditionalExpression",
      'snap.state === "closed"',
      "false",
      CLOSED_REJECTION,
      'return { ok: false, state: snap.state === "closed"',
    ],
    ["StringLiteral", '"closed"', '""', CLOSED_REJECTION, 'return { ok: false, state: snap.state === "closed"'],
    ["StringLiteral", '"open"', '""', CLOSED_REJECTION, 'return { ok: false, state: snap.state === "closed"'],
    ["ArrowFunction", "() => null", "() => undefined", "Equivalent: both answers are falsy, and only that is checked."],
    [
      "EqualityOperator",
      "now - entry.view.learnedAt > ttlOf(entry, now)",
      "now - entry.view.learnedAt >= ttlOf(entry, now)",
      TTL_DRAW,
    ],
    ["EqualityOperator", "entry.flushAt <= at", "entry.flushAt < at", SAME_INSTANT],
    ["ConditionalExpression", "entry.flushAt !== at", "false", REPLACED_TIMER],
    [
      "ConditionalExpression",
      "entry.loading !== undefined",
      "true",
      "Equivalent: waiting for no read resolves at once.",
    ],
  ],
  "plugin bands and executor": [
    ["EqualityOperator", "a.name < b.name", "a.name <= b.name", SORT],
    ["ConditionalExpression", "a.name > b.name", "true", SORT],
    ["ConditionalExpression", "a.name > b.name", "false", SORT],
    ["EqualityOperator", "a.name > b.name", "a.name >= b.name", SORT],
    ["EqualityOperator", "a.name > b.name", "a.name <= b.name", SORT],
    ["EqualityOperator", "a.plugin.name < b.plugin.name", "a.plugin.name <= b.plugin.name", SORT],
    ["ConditionalExpression", "a.plugin.name > b.plugin.name", "true", SORT],
    ["ConditionalExpression", "a.plugin.name > b.plugin.name", "false", SORT],
    ["EqualityOperator", "a.plugin.name > b.plugin.name", "a.plugin.name >= b.plugin.name", SORT],
    ["EqualityOperator", "a.plugin.name > b.plugin.name", "a.plugin.name <= b.plugin.name", SORT],
    [
      "ArrayDeclaration",
      "[]",
      '["Stryker was here"]',
      "Equivalent: Promise.all of a list holding a string resolves just like the empty list.",
      "pending ??=",
    ],
    [
      "ConditionalExpression",
      "!isPromise(out)",
      "false",
      "Speed only: a synchronous result then goes through the timeout race and settles the same way, a microtask later.",
    ],
    [
      "ConditionalExpression",
      "timer !== undefined",
      "true",
      "Equivalent: the timer is always set (the promise executor runs at once), and clearing an unset one does nothing.",
    ],
  ],
  "plugin conditions": [
    ["BlockStatement", "if (patterns.length > 100) return;", "{}", NEVER_TOO_LARGE],
    ["ConditionalExpression", "patterns.length > 100", "true", NEVER_TOO_LARGE],
    ["ConditionalExpression", "patterns.length > 100", "false", NEVER_TOO_LARGE],
    ["EqualityOperator", "patterns.length > 100", "patterns.length >= 100", NEVER_TOO_LARGE],
    ["EqualityOperator", "patterns.length > 100", "patterns.length <= 100", NEVER_TOO_LARGE],
    ["ObjectLiteral", '{ code: "custom", message: problem }', "{}", NEVER_TOO_LARGE],
    ["StringLiteral", '"custom"', '""', NEVER_TOO_LARGE],
    ["ConditionalExpression", "problem", "false", NEVER_TOO_LARGE, "ctx.addIssue"],
    ["BlockStatement", "compileMatcher(patterns); return null;", "{}", NEVER_TOO_LARGE],
    ["CallExpression", "compileMatcher(patterns);", ";", NEVER_TOO_LARGE],
    ["BlockStatement", 'return "are too many or too long to compile";', "{}", NEVER_TOO_LARGE],
    ["StringLiteral", '"are too many or too long to compile"', '""', NEVER_TOO_LARGE],
  ],
  "URL safety": [
    [
      "EqualityOperator",
      "i < raw.length",
      "i <= raw.length",
      "Equivalent: `charCodeAt` past the end is NaN, which no comparison in the loop accepts.",
    ],
    [
      "ConditionalExpression",
      "default: return null;",
      "default:",
      "Equivalent: falling out of the switch returns undefined, which the caller treats like null.",
    ],
    ["StringLiteral", '""', '"Stryker was here!"', PARSED, "parseUrl(rawUrl)?.hostname"],
    ["OptionalChaining", "parseUrl(rawUrl)?.hostname", "parseUrl(rawUrl).hostname", PARSED],
    ["Regex", "/^\\[|\\]$/g", "/\\[|\\]$/g", BRACKETS],
    ["Regex", "/^\\[|\\]$/g", "/^\\[|\\]/g", BRACKETS],
    [
      "StringLiteral",
      "resolver answered",
      "``",
      'Unobservable: the error is caught where the lookup is awaited and becomes "could not be resolved"; its message is never shown or logged.',
    ],
    [
      "ArrayDeclaration",
      "[]",
      '["Stryker was here"]',
      "Equivalent: a string has no DNS record type, so the filter drops it and the answer is empty just the same.",
      "body.Answer ?? []",
    ],
  ],
  "config cache": [
    [
      "ConditionalExpression",
      "current !== undefined",
      "true",
      "Equivalent: without a snapshot every step ends in the branch that loads one, whatever the step says.",
    ],
    ["ConditionalExpression", "from.direct !== undefined", "true", SAME_SOURCE],
    ["ConditionalExpression", "direct", "true", SAME_SOURCE, "this.bypass = false"],
    [
      "UpdateOperator",
      "this.generation++",
      "this.generation--",
      "Equivalent: only whether the generation changed matters.",
    ],
    [
      "EqualityOperator",
      "next.version >= this.current.version",
      "next.version > this.current.version",
      "Equivalent: a snapshot of the same version has the same content.",
    ],
  ],
};

/** The explanations of one module. */
export function explained(module: string): Explanation[] {
  return (ENTRIES[module] ?? []).map(([mutator, original, replacement, why, near]) => ({
    mutator,
    original,
    replacement,
    why,
    ...(near !== undefined && { near }),
  }));
}
