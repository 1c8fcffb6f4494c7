/**
 * What `npm run test:mutation` mutates, grouped into the modules its report
 * scores.
 *
 * Paths live only here, one list per module: when files move, update the
 * list (the run stops with "not found" for a path that no longer exists,
 * never silently skipping it). The explanations (scripts/mutation-survivors.ts)
 * name no path or line, so they survive moves and unrelated edits.
 */

import { explained } from "./mutation-survivors.ts";

/** A survivor that is accepted, and why (equivalent, or not observable by any test). */
export interface Explanation {
  /** Stryker mutator name, e.g. `EqualityOperator`, `ConditionalExpression`. */
  mutator: string;
  /** A snippet of the original code at the mutant (whitespace-normalised match). */
  original: string;
  /** The mutant's replacement code, exactly (whitespace-normalised). */
  replacement: string;
  /** Code within two lines of the mutant, for mutants whose own code is too short to tell apart (e.g. `false`). */
  near?: string;
  /** Why no test kills it. */
  why: string;
}

/** One scored module: its files and its accepted survivors. */
export interface MutationModule {
  name: string;
  files: string[];
  /**
   * The test files (test/workers) that claim to test the module: its mutants
   * run against these only, so a mutant is killed by the tests meant to
   * catch it, and a run costs seconds per mutant instead of the whole suite.
   */
  tests: string[];
  explained: Explanation[];
}

/** Score every module must reach (killed + timed out over all mutants that ran). */
export const MIN_SCORE = 85;

export const MODULES: MutationModule[] = [
  {
    name: "auth and principal checks",
    files: [
      "src/auth/principal.ts",
      "src/auth/authenticate.ts",
      "src/auth/caller.ts",
      "src/auth/access.ts",
      "src/edge/caller-access.ts",
      "src/auth/require-admin.ts",
      "src/auth/secrets.ts",
    ],
    tests: [
      "test/workers/auth.test.ts",
      "test/workers/access.test.ts",
      "test/workers/auth-boundaries.test.ts",
      "test/workers/identity-cimd.test.ts",
      "test/workers/api-auth.test.ts",
      "test/workers/auth-cache.test.ts",
      "test/workers/secrets.test.ts",
      "test/workers/identity-teams.test.ts",
      "test/workers/identity-resource.test.ts",
      "test/workers/identity-downstream.test.ts",
      "test/workers/api-config-ownership.test.ts",
      "test/workers/console-auth.test.ts",
      "test/workers/api-tokens.test.ts",
    ],
    explained: explained("auth and principal checks"),
  },
  {
    name: "session sealing and liveness",
    files: ["src/auth/seal.ts", "src/edge/sessions.ts"],
    tests: [
      "test/workers/sessions.test.ts",
      "test/workers/seal.test.ts",
      "test/workers/mcp-transport.test.ts",
      "test/workers/secrets.test.ts",
      "test/workers/auth.test.ts",
    ],
    explained: explained("session sealing and liveness"),
  },
  {
    name: "circuit breaker",
    files: ["src/backends/breaker.ts", "src/backends/breaker-client.ts"],
    tests: [
      "test/workers/breaker.test.ts",
      "test/workers/breaker-client.test.ts",
      "test/workers/breaker-timing.test.ts",
      "test/workers/breaker-local.test.ts",
      "test/workers/breaker-reports.test.ts",
      "test/workers/backend-retry.test.ts",
      "test/workers/fault-shards.test.ts",
    ],
    explained: explained("circuit breaker"),
  },
  {
    name: "plugin conditions",
    files: ["src/plugins/conditions.ts"],
    tests: [
      "test/workers/plugin-conditions.test.ts",
      "test/workers/plugins-core.test.ts",
      "test/workers/plugins-regex.test.ts",
      "test/workers/tool-overrides.test.ts",
    ],
    explained: explained("plugin conditions"),
  },
  {
    name: "plugin bands and executor",
    files: ["src/plugins/bands.ts", "src/plugins/executor.ts"],
    tests: [
      "test/workers/plugin-executor.test.ts",
      "test/workers/plugins-core.test.ts",
      "test/workers/plugins-kinds.test.ts",
    ],
    explained: explained("plugin bands and executor"),
  },
  {
    name: "names mapping",
    files: ["src/core/names.ts"],
    tests: ["test/workers/mcp-names.test.ts", "test/workers/api-naming.test.ts"],
    explained: explained("names mapping"),
  },
  {
    name: "config cache",
    files: ["src/config/cache.ts"],
    tests: [
      "test/workers/config-cache.test.ts",
      "test/workers/config-store.test.ts",
      "test/workers/fault-d1.test.ts",
      "test/workers/fault-shards.test.ts",
      "test/workers/endpoint-cache.test.ts",
    ],
    explained: explained("config cache"),
  },
  {
    name: "URL safety",
    files: ["src/config/url-safety.ts"],
    tests: ["test/workers/url-safety.test.ts", "test/workers/api-url-input.test.ts"],
    explained: explained("URL safety"),
  },
];
