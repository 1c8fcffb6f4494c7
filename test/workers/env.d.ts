import type { D1Migration } from "cloudflare:test";
import type { Bindings } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      TEST_MIGRATIONS: D1Migration[];
    }
    interface GlobalProps {
      mainModule: typeof import("../../src/index");
      durableNamespaces: "BackendDO" | "LegacyClientDO";
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    /** FUZZ_RUNS: cases per fuzz property (0: the file's default). */
    fuzzRuns: number;
    /** FUZZ_SEED: replays a reported seed (0: random). */
    fuzzSeed: number;
    /** FUZZ_KNOWN=1: do not skip the KNOWN_DEFECTS inputs (to check a fix). */
    fuzzKnown: boolean;
  }
}
