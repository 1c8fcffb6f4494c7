import { defineConfig } from "vitest/config";

/**
 * End-to-end tests in Node: the production bundle on workerd (Miniflare 5,
 * see test/helpers/gateway.ts), real MCP servers as backends
 * (test/fixtures/backends.ts) and the SDK's own client. Files run one after
 * another: each starts its own gateway, and the machines have two cores.
 */
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/e2e/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    pool: "forks",
  },
});
