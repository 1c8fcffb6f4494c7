/**
 * `npm run test:browser` (part of `npm test`): the admin console's browser
 * tests, run by vitest with Debian's Chromium. `npx playwright install`
 * downloads browsers from the internet; the Debian package needs only the
 * distribution's mirror, so that is what the tests use.
 *
 * Without Chromium the tests are skipped with a message naming the package,
 * never silently, except where they must run: with `CONSOLE_BROWSER_REQUIRED=1`
 * (set by `.ci/run`) a missing Chromium fails the run.
 * `CHROMIUM_PATH` points at another Chromium build.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

/** The first executable Chromium: CHROMIUM_PATH, then `chromium` or `chromium-browser` on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = env.CHROMIUM_PATH
    ? [env.CHROMIUM_PATH]
    : (env.PATH ?? "")
        .split(path.delimiter)
        .flatMap((dir) => [path.join(dir, "chromium"), path.join(dir, "chromium-browser")]);
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const MISSING =
  "Chromium not found: the admin console's browser tests need Debian's `chromium` package (sudo apt-get install -y chromium), or CHROMIUM_PATH pointing at a Chromium binary.";

if (import.meta.filename === process.argv[1]) {
  const chromium = findChromium();
  if (!chromium) {
    if (process.env.CONSOLE_BROWSER_REQUIRED === "1") {
      console.error(`${MISSING}\nCONSOLE_BROWSER_REQUIRED=1: failing instead of skipping.`);
      process.exit(1);
    }
    console.warn(`SKIPPED the console's browser tests. ${MISSING}`);
    process.exit(0);
  }
  const vitest = spawnSync("vitest", ["run", "--config", "vitest.browser.config.ts", ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, CHROMIUM_PATH: chromium },
  });
  process.exit(vitest.status ?? 1);
}
