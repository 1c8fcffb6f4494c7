// The admin console in Chromium against the production bundle: what a person sees on each page (live backend state, progress, plugin field errors, a token shown once, spans, charts), screenshots, and no serious accessibility violations.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChaosBackend,
  type StatelessBackend,
  startChaosBackend,
  startStatelessBackend,
} from "../fixtures/backends";
import { adminCall, mcpPost, openSession } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";
import { launch, screenshot, seriousViolations, signIn, type TestBrowser } from "./browser";

let gateway: Gateway;
let flaky: ChaosBackend;
let steady: StatelessBackend;
let browser: TestBrowser;
let page: Page;

const admin = (method: string, route: string, body?: unknown) =>
  adminCall(gateway.url, gateway.adminToken, method, route, body);

/** Some traffic, so spans, rollups and a plugin's refusal exist. */
async function traffic(): Promise<void> {
  const token = (await admin("POST", "/api/tokens", { name: "traffic", scopes: ["mcp"] })).json as { token: string };
  const url = `${gateway.url}/mcp`;
  const session = await openSession(url, token.token);
  const call = (id: number, name: string, args: Record<string, unknown>) =>
    mcpPost(
      url,
      { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } },
      { token: token.token, session, protocolVersion: "2025-11-25" },
    );
  for (let i = 0; i < 6; i++) await call(10 + i, "steady__echo", { text: `hello ${i}` });
  await call(20, "steady__add", { a: 1, b: 2 });
  await call(21, "flaky__echo", { text: "hi" });
  await call(22, "steady__echo", { text: "this is forbidden" });
}

beforeAll(async () => {
  [gateway, flaky, steady] = await Promise.all([
    startGateway(),
    startChaosBackend("flaky"),
    startStatelessBackend("steady"),
  ]);
  const setup: Array<[string, string, unknown]> = [
    // flaky: probed every 5 s (±20%), its breaker opens on the first failure.
    [
      "POST",
      "/api/backends",
      { name: "flaky", url: flaky.url, healthIntervalSeconds: 5, failureThreshold: 1, cooldownSeconds: 300 },
    ],
    [
      "POST",
      "/api/backends",
      { name: "steady", url: steady.url, headers: { Authorization: "Bearer steady-upstream-secret" } },
    ],
    ["POST", "/api/plugins", { name: "no-forbidden", kind: "deny_list", config: { words: ["forbidden"] } }],
  ];
  for (const [method, route, body] of setup) expect((await admin(method, route, body)).status).toBe(201);
  await traffic();
  // Spans reach the rollups through the queue a few seconds later.
  await eventually(async () => {
    const stats = (await admin("GET", "/api/stats?by=backend")).json as { series: Array<{ backend: string }> };
    return stats.series.some((s) => s.backend === "steady");
  }, 30_000);
  browser = await launch();
  page = await browser.context.newPage();
  await signIn(page, gateway.url, gateway.adminToken);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([gateway?.stop(), flaky?.close(), steady?.close()]);
});

/** Opens a console page and waits for its heading. */
async function open(path: string, heading: string): Promise<void> {
  await page.goto(`${gateway.url}/admin${path}`);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

describe("admin console pages", () => {
  it("dashboard: charts of calls, errors and p50/p99 per backend and per tool", async () => {
    await open("", "Dashboard");
    const steadyCard = page.getByRole("region", { name: "steady" });
    await steadyCard.waitFor();
    expect(await steadyCard.locator("svg.chart").count()).toBe(2);
    expect(await steadyCard.locator(".totals").textContent()).toMatch(/\d+ calls/);
    expect(await steadyCard.getByRole("img", { name: /Latency per minute/ }).count()).toBe(1);
    await page.getByLabel("Period").selectOption("15");
    await page.waitForLoadState("networkidle");
    await screenshot(page, "dashboard");
    await page.getByLabel("Group").selectOption("tool");
    await page.getByRole("region", { name: "echo (steady)" }).waitFor();
  });

  it("backends: a backend going down turns red within a few seconds", async () => {
    await open("/backends", "Backends");
    const badge = page.locator('tr[data-backend="flaky"] .badge');
    await page.locator('tr[data-backend="flaky"] .badge', { hasText: "Healthy" }).waitFor({ timeout: 15_000 });
    await page.locator('tr[data-backend="steady"] td', { hasText: /2 tools/ }).waitFor();
    expect(await page.content()).not.toContain("steady-upstream-secret");
    await screenshot(page, "backends");

    flaky.mode = "down";
    // The next health probe (every 5 s ±20%) fails, the breaker opens, the page polls every 2 s.
    await page.locator('tr[data-backend="flaky"] .badge', { hasText: "Down" }).waitFor({ timeout: 20_000 });
    expect(await badge.evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).backgroundColor)).toBe(
      "rgb(180, 35, 24)",
    );
    expect(await page.locator('tr[data-backend="flaky"]').getAttribute("class")).toContain("is-down");
    await screenshot(page, "backends-down");
    flaky.mode = "up";
  });

  it("backends: refresh and disable show their progress, then the outcome", async () => {
    await open("/backends", "Backends");
    const row = page.locator('tr[data-backend="steady"]');
    // Hold the refresh request until the button's progress has been seen.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route("**/api/backends/steady/refresh", async (route) => {
      await held;
      await route.continue();
    });
    await row.getByRole("button", { name: "Refresh" }).click();
    const refreshing = row.getByRole("button", { name: "Refreshing…" });
    await refreshing.waitFor();
    expect(await refreshing.isDisabled()).toBe(true);
    expect(await refreshing.getAttribute("aria-busy")).toBe("true");
    release();
    await page.getByRole("status").filter({ hasText: "steady refreshed: 2 tools" }).waitFor();
    await page.unroute("**/api/backends/steady/refresh");

    await row.getByRole("button", { name: "Disable" }).click();
    await page.locator('tr[data-backend="steady"] .badge', { hasText: "Disabled" }).waitFor();
    expect((await admin("GET", "/api/backends/steady")).json).toMatchObject({ enabled: false });
    await page.locator('tr[data-backend="steady"]').getByRole("button", { name: "Enable" }).click();
    await page.locator('tr[data-backend="steady"] .badge', { hasText: "Healthy" }).waitFor();
  });

  it("plugins: the generated form rejects a bad value with the field named, then creates the plugin", async () => {
    await open("/plugins", "Plugins");
    await page.getByLabel("Kind", { exact: true }).selectOption("rate_limit");
    await page.getByRole("button", { name: "New plugin" }).click();
    const form = page.locator('form[data-kind="rate_limit"]');
    await form.getByLabel("Name", { exact: true }).fill("limit-calls");
    await form.getByLabel("Limit (required)").fill("10");
    await form.getByLabel("Window seconds (required)").fill("0");
    await form.getByRole("button", { name: "Create plugin" }).click();

    const error = form.locator('[data-path="config.windowSeconds"] .field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^Window seconds \(required\): .*>=\s*1/);
    expect(await form.getByLabel("Window seconds (required)").getAttribute("aria-invalid")).toBe("true");
    expect(await form.locator(".field-error").count()).toBe(1);
    await screenshot(page, "plugin-form-error");
    expect(await seriousViolations(page)).toEqual([]);

    await form.getByLabel("Window seconds (required)").fill("60");
    await form.getByRole("button", { name: "Create plugin" }).click();
    await page.locator('tr[data-plugin="limit-calls"]').waitFor();
    expect((await admin("GET", "/api/plugins/limit-calls")).json).toMatchObject({
      kind: "rate_limit",
      config: { limit: 10, windowSeconds: 60 },
    });
    await screenshot(page, "plugins");
  });

  it("plugins: editing keeps what the form does not show field by field (several conditions)", async () => {
    const conditions = [{ serverIds: ["steady"] }, { tools: ["flaky__*"], userPatterns: ["ci-*"] }];
    const created = await admin("POST", "/api/plugins", {
      name: "two-rules",
      kind: "secrets_detection",
      conditions,
    });
    expect(created.status).toBe(201);
    await open("/plugins", "Plugins");
    await page.locator('tr[data-plugin="two-rules"]').getByRole("button", { name: "Edit" }).click();
    const form = page.locator('form[data-kind="secrets_detection"]');
    expect(JSON.parse(await form.getByLabel("Conditions (JSON)").inputValue())).toEqual(conditions);
    await form.getByLabel("Priority").fill("7");
    await form.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "two-rules saved." }).waitFor();
    expect((await admin("GET", "/api/plugins/two-rules")).json).toMatchObject({ priority: 7, conditions });
  });

  it("tokens: a created token's secret is shown once, with a copy button", async () => {
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gateway.url });
    await open("/tokens", "API tokens");
    await page.getByLabel("Name", { exact: true }).fill("laptop");
    await page.getByRole("button", { name: "Create token" }).click();
    const secretField = page.getByLabel("Secret");
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^mcpgw_[\w-]{40,}$/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(secret);
    await screenshot(page, "token-created");

    await page.getByRole("button", { name: "Done, I have stored it" }).click();
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.locator('tr[data-token="laptop"]').waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(await page.locator('tr[data-token="laptop"]').textContent()).toContain(`${secret.slice(0, 12)}…`);
    // The secret shown was the real one: it opens an MCP session.
    expect(await openSession(`${gateway.url}/mcp`, secret)).toMatch(/\S/);
  });

  it("servers: lists and creates virtual servers", async () => {
    await open("/servers", "Virtual servers");
    await page.getByLabel("Name", { exact: true }).fill("web");
    await page.getByLabel("steady").check();
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("cell", { name: /\/servers\/web\/mcp/ }).waitFor();
    expect((await admin("GET", "/api/servers/web")).json).toMatchObject({ backends: ["steady"] });
    await screenshot(page, "servers");
  });

  it("spans: filters, and a trace as a tree that names the plugin that blocked a call", async () => {
    await open("/spans", "Spans");
    await page.locator("tr[data-span]").first().waitFor();
    await page.getByLabel("Status").selectOption("error");
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "spans shown" }).waitFor();
    // The list re-renders once the filtered answer arrives: wait for it rather than read the previous one.
    await expect
      .poll(async () => [...new Set(await page.locator("tr[data-span] .badge").allTextContents())], { timeout: 10_000 })
      .toEqual(["error"]);
    const blocked = page.locator("tr[data-span]", { hasText: "violation=DENIED_CONTENT" }).first();
    await blocked.getByRole("button", { name: /Show trace/ }).click();
    const tree = page.locator("ul.trace");
    await tree.waitFor();
    expect(await tree.locator(":scope > li > .span-line strong").first().textContent()).toBe("request");
    expect(await tree.locator("ul.trace-children .span-line", { hasText: "plugin=no-forbidden" }).count()).toBe(1);
    await screenshot(page, "spans");
  });

  it("every page has no serious or critical accessibility violations", async () => {
    const pages: Array<[string, string]> = [
      ["", "Dashboard"],
      ["/backends", "Backends"],
      ["/servers", "Virtual servers"],
      ["/tokens", "API tokens"],
      ["/plugins", "Plugins"],
      ["/spans", "Spans"],
    ];
    const found: string[] = [];
    for (const [path, heading] of pages) {
      await open(path, heading);
      await page.waitForLoadState("networkidle").catch(() => undefined);
      found.push(...(await seriousViolations(page)).map((v) => `${path || "/"}: ${v}`));
    }
    await page.goto(`${gateway.url}/admin/login`);
    expect(found).toEqual([]);
  });
});
