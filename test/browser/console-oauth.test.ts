// Console sign-in through the built-in OAuth authorization server in Chromium: consent, the upstream OIDC provider's login (oidc-provider), back to the dashboard with the mapped roles; a user without a role is refused on the sign-in page.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OidcProvider, startOidcProvider } from "../fixtures/identity-providers";
import { type Gateway, startGateway } from "../helpers/gateway";
import { launch, screenshot, seriousViolations, type TestBrowser } from "./browser";

let gateway: Gateway;
let browser: TestBrowser;
let oidc: OidcProvider & { register(uri: string): void };

beforeAll(async () => {
  oidc = await startOidcProvider();
  gateway = await startGateway({
    vars: {
      OAUTH_LOGIN_ISSUER: oidc.issuer,
      OAUTH_LOGIN_CLIENT_ID: oidc.clientId,
      OAUTH_LOGIN_CLIENT_SECRET: oidc.clientSecret,
      OAUTH_LOGIN_MAPPING: JSON.stringify({ teamsClaim: "groups", teams: { ops: { role: "platform_admin" } } }),
    },
  });
  oidc.register(`${gateway.url}/oauth/callback`);
  oidc.accounts.set("olivia", { groups: ["ops"] });
  oidc.accounts.set("nobody", { groups: [] });
  const res = await fetch(`${gateway.url}/api/backends`, {
    method: "POST",
    headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "oauth-console-b", url: "http://127.0.0.1:9/mcp" }),
  });
  expect(res.status).toBe(201);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await oidc?.close();
});

/** From the console's sign-in page through consent and the provider's login, as `login`. */
async function signInWithProvider(page: Page, login: string): Promise<void> {
  await page.goto(`${gateway.url}/admin/login`);
  await page.getByRole("button", { name: "Sign in with your identity provider" }).click();
  // The gateway's consent screen names the console and the admin scope.
  await page.getByRole("heading", { name: /Allow MCP gateway console/ }).waitFor();
  expect(await page.content()).toContain("<code>admin</code>");
  await page.getByRole("button", { name: "Allow and sign in" }).click();
  // oidc-provider's development login and consent forms.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("x");
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click();
}

describe("console sign-in through OAuth", () => {
  it("the sign-in page offers the identity provider, without serious accessibility violations", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.goto(`${gateway.url}/admin/login`);
    await page.getByRole("button", { name: "Sign in with your identity provider" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.close();
  });

  it("a mapped platform admin lands on the dashboard and the console reads the API with that identity", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await signInWithProvider(page, "olivia");
    await page.waitForURL(`${gateway.url}/admin`);
    expect(await page.content()).toContain("olivia (OAuth)");
    const [cookie] = (await browser.context.cookies()).filter((c) => c.name === "__Host-mcpgw-console");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    await page.goto(`${gateway.url}/admin/backends`);
    await page.getByText("oauth-console-b").first().waitFor();
    await screenshot(page, "oauth-console-backends");
    await page.close();
  });

  it("a user without any role is sent back to the sign-in page with the reason, and gets no session", async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await signInWithProvider(page, "nobody");
    await page.getByRole("alert").filter({ hasText: "no role in any team" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/admin/login/callback");
    expect((await browser.context.cookies()).some((c) => c.name === "__Host-mcpgw-console")).toBe(false);
    await page.goto(`${gateway.url}/admin`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    await page.close();
  });

  it("the callback refuses a state it did not issue and an answer from another issuer (RFC 9207)", async () => {
    const start = await fetch(`${gateway.url}/admin/login/oauth`, { redirect: "manual" });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get("location") ?? "");
    expect(authorize.pathname).toBe("/authorize");
    expect(authorize.searchParams.get("resource")).toBe(`${gateway.url}/api`);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    const cookie = (start.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const state = authorize.searchParams.get("state") ?? "";
    const callback = (query: Record<string, string>) =>
      fetch(`${gateway.url}/admin/login/callback?${new URLSearchParams(query)}`, {
        headers: { cookie },
        redirect: "manual",
      });
    const forged = await callback({ state: "forged", code: "x", iss: gateway.url });
    expect(forged.status).toBe(401);
    expect(await forged.text()).toContain("did not start here");
    const otherIssuer = await callback({ state, code: "x", iss: "https://idp.attacker.example" });
    expect(otherIssuer.status).toBe(401);
    expect(await otherIssuer.text()).toContain("unexpected issuer");
    expect(otherIssuer.headers.getSetCookie().some((c) => c.startsWith("__Host-mcpgw-console="))).toBe(false);
  });
});
