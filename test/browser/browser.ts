/**
 * Browser helpers for the console tests: Debian's Chromium launched headless
 * by playwright-core with a fresh profile and no background networking (the
 * machine has no internet; Chromium would otherwise keep trying), sign-in,
 * screenshots under test/browser/results/ (and, with UPDATE_SCREENSHOTS=1,
 * the README's copies under docs/screenshots/), and axe accessibility checks.
 */
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { PROJECT_ROOT } from "../helpers/gateway";

const RESULTS = path.join(PROJECT_ROOT, "test", "browser", "results");
const README_SHOTS = path.join(PROJECT_ROOT, "docs", "screenshots");

/** A browser with its own profile directory, removed on close. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium (CHROMIUM_PATH, set by scripts/test-browser.ts) headless with a fresh profile. */
export async function launch(): Promise<TestBrowser> {
  const executablePath = process.env.CHROMIUM_PATH;
  if (!executablePath) throw new Error("CHROMIUM_PATH is not set: run the browser tests with `npm run test:browser`");
  const profile = await mkdtemp(path.join(tmpdir(), "mcpgw-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in on the console's sign-in page with `token` and waits for the dashboard. */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/admin`);
  await page.getByLabel(/Admin token/).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/admin`);
}

/** Saves a full-page screenshot as results/<name>.png (and docs/screenshots/<name>.png when updating them). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === "1") {
    await mkdir(README_SHOTS, { recursive: true });
    await copyFile(file, path.join(README_SHOTS, `${name}.png`));
  }
  return file;
}

/** Serious and critical accessibility violations on the page as it is now (axe-core, WCAG 2.x A/AA rules). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
}
