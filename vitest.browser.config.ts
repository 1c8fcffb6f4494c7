import { defineConfig } from "vitest/config";

/**
 * The admin console in a real browser: Debian's Chromium (headless) driven by
 * playwright-core against the production bundle on workerd (the e2e
 * harness). Run through `npm run test:browser` (scripts/test-browser.ts),
 * which finds Chromium first.
 */
export default defineConfig({
  test: {
    environment: "node",
    include: ["test/browser/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    pool: "forks",
  },
});
