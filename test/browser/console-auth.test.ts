// Console sign-in as a browser sees it: the session cookie out of the page's reach, the CSP stopping injected inline script, sign-out, and a revoked token's session ending.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCall } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";
import { launch, screenshot, seriousViolations, signIn, type TestBrowser } from "./browser";

let gateway: Gateway;
let browser: TestBrowser;

beforeAll(async () => {
  gateway = await startGateway();
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

async function freshPage(): Promise<Page> {
  await browser.context.clearCookies();
  return browser.context.newPage();
}

describe("console sign-in in the browser", () => {
  it("a wrong token is refused on the sign-in page, which has no serious accessibility violations", async () => {
    const page = await freshPage();
    await page.goto(`${gateway.url}/admin/backends`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByLabel(/Admin token/).fill("wrong-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
    expect(await page.getByLabel(/Admin token/).getAttribute("aria-invalid")).toBe("true");
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "login");
    await page.close();
  });

  it("keeps the session in an HttpOnly, Secure, SameSite=Strict cookie the page cannot read", async () => {
    const page = await freshPage();
    await signIn(page, gateway.url, gateway.adminToken);
    const [cookie] = (await browser.context.cookies()).filter((c) => c.name === "__Host-mcpgw-console");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    expect(cookie?.value).not.toContain(gateway.adminToken);
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await page.content()).not.toContain(gateway.adminToken);
    await page.close();
  });

  it("the Content-Security-Policy stops an injected inline script", async () => {
    const page = await freshPage();
    await signIn(page, gateway.url, gateway.adminToken);
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/.test(m.text())) violations.push(m.text());
    });
    await page.evaluate(`(() => {
      const s = document.createElement("script");
      s.textContent = "window.injected = true";
      document.body.append(s);
    })()`);
    expect(await page.evaluate("window.injected === true")).toBe(false);
    await eventually(async () => violations.length > 0, 5_000);
    await page.close();
  });

  it("signing out ends the session in this browser", async () => {
    const page = await freshPage();
    await signIn(page, gateway.url, gateway.adminToken);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${gateway.url}/admin/login`);
    expect((await browser.context.cookies()).some((c) => c.name === "__Host-mcpgw-console")).toBe(false);
    await page.goto(`${gateway.url}/admin/tokens`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    await page.close();
  });

  it("a session opened with an admin-scoped API token ends when the token is revoked", async () => {
    const created = (
      await adminCall(gateway.url, gateway.adminToken, "POST", "/api/tokens", { name: "ops", scopes: ["admin"] })
    ).json as { id: string; token: string };
    const page = await freshPage();
    await signIn(page, gateway.url, created.token);
    expect(await page.locator(".who").textContent()).toContain("ops (API token)");
    await page.getByRole("link", { name: "Backends" }).click();
    await page.getByRole("heading", { level: 1, name: "Backends" }).waitFor();

    const revoked = await adminCall(gateway.url, gateway.adminToken, "DELETE", `/api/tokens/${created.id}`);
    expect(revoked.status).toBe(204);
    // The console's next API call answers 401 (within the config cache's 2 s) and it returns to the sign-in page.
    await eventually(async () => {
      await page.getByRole("link", { name: "Tokens" }).click();
      await page.waitForTimeout(300);
      return new URL(page.url()).pathname === "/admin/login";
    }, 10_000);
    await page.close();
  });
});
