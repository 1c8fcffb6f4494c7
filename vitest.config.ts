import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Unit and integration tests run inside workerd with the real D1, Durable
 * Object and Queue bindings from wrangler.toml (local, in memory).
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ADMIN_TOKEN: "test-admin-token",
            ALLOW_PRIVATE_BACKENDS: "false",
            // Two trusted issuers whose keys the identity tests serve through the test fetch router
            // (test/workers/idp.ts): one with a JWKS URL, one found by OIDC discovery.
            OAUTH_ISSUERS: JSON.stringify([
              {
                name: "idp",
                issuer: "https://idp.test",
                jwksUri: "https://idp.test/jwks",
                teamsClaim: "groups",
                teams: {
                  "eng-admins": { team: "eng", role: "team_admin" },
                  "eng-devs": { team: "eng", role: "developer" },
                  "ops-devs": { team: "ops", role: "developer" },
                  root: { role: "platform_admin" },
                },
              },
              { name: "disc", issuer: "https://disc.test/tenant", grantScopes: ["mcp"] },
            ]),
            TEST_MIGRATIONS: migrations,
          },
        },
      }),
    ],
    test: {
      // `npm run test:mutation` runs each module's mutants against its own test files only (scripts/mutation.ts).
      include: process.env.MUTATION_TESTS ? process.env.MUTATION_TESTS.split(",") : ["test/workers/**/*.test.ts"],
      setupFiles: ["./test/workers/apply-migrations.ts", "./test/workers/outbound.ts"],
      // The fuzz properties' size and seed (FUZZ_RUNS, FUZZ_SEED, FUZZ_KNOWN=1 to send the known-defect inputs too) reach workerd through vitest's inject().
      provide: {
        fuzzRuns: Number(process.env.FUZZ_RUNS) || 0,
        fuzzSeed: Number(process.env.FUZZ_SEED) || 0,
        fuzzKnown: process.env.FUZZ_KNOWN === "1",
      },
    },
  };
});
