/**
 * Backends: live breaker state (polled every 2 seconds), last probe and its
 * latency, catalog counts; refresh, enable/disable and delete with visible
 * progress; and a form to register one.
 */
import { api } from "../api.js";
import { h } from "../dom.js";
import { ago, busy, clearErrors, field, millis, pageHeader, showErrors, statusLine, table } from "../ui.js";

const POLL_MS = 2_000;

/**
 * @typedef {{ name: string, url: string, transport: string, enabled: boolean, credentials: string, headers: Record<string, string> }} Backend
 * @typedef {{ breaker: string, healthy: boolean, lastCheckAt: string | null, lastLatencyMs: number | null, lastError: string | null, consecutiveFailures: number }} Health
 */

/**
 * The badge for a backend's state: green healthy, red down, amber recovering, grey disabled or unknown.
 * @param {Backend} backend
 * @param {Health | null | undefined} health
 */
function badge(backend, health) {
  if (!backend.enabled) return h("span", { class: "badge off" }, "Disabled");
  if (!health) return h("span", { class: "badge off" }, "Unknown");
  if (health.breaker === "open") return h("span", { class: "badge down" }, "Down");
  if (health.breaker === "half-open") return h("span", { class: "badge warn" }, "Recovering");
  if (!health.healthy) return h("span", { class: "badge down" }, "Failing");
  return h("span", { class: "badge ok" }, "Healthy");
}

/**
 * @param {{ tools: number, prompts: number, resources: number, resourceTemplates: number }} c
 */
function counts(c) {
  const n = (/** @type {number} */ k, /** @type {string} */ what) => `${k} ${what}${k === 1 ? "" : "s"}`;
  return `${n(c.tools, "tool")}, ${n(c.prompts, "prompt")}, ${n(c.resources + c.resourceTemplates, "resource")}`;
}

/**
 * Parses "Name: value" lines into headers.
 * @param {string} text
 */
function parseHeaders(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    out[at < 0 ? line.trim() : line.slice(0, at).trim()] = at < 0 ? "" : line.slice(at + 1).trim();
  }
  return out;
}

/**
 * @param {HTMLElement} root
 * @returns {Promise<() => void>}
 */
export async function render(root) {
  const status = statusLine();
  const listHost = h("div", { class: "card" });
  /** @type {Map<string, { backend: Backend, row: HTMLTableRowElement, state: HTMLElement, probe: HTMLElement, latency: HTMLElement, catalog: HTMLElement }>} */
  const rows = new Map();

  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": "add-backend" },
    h("h2", { id: "add-backend" }, "Register a backend"),
    h(
      "div",
      { class: "fields" },
      field("name", "Name", h("input", { name: "name", required: true, placeholder: "github" }), {
        help: "a-z, 0-9 and -, at most 32",
      }),
      field("url", "MCP endpoint URL", h("input", { name: "url", type: "url", required: true })),
      field(
        "transport",
        "Transport",
        h(
          "select",
          { name: "transport" },
          h("option", { value: "streamable-http" }, "Streamable HTTP"),
          h("option", { value: "sse" }, "HTTP+SSE (legacy)"),
          h("option", { value: "openapi" }, "REST API (OpenAPI)"),
        ),
      ),
      field(
        "openapi",
        "OpenAPI document URL",
        h("input", { name: "openapiUrl", type: "url", placeholder: "https://api.example.com/openapi.json" }),
        { help: "REST API only: its operations become tools, and the URL above is the API's base URL." },
      ),
      field("timeoutMs", "Timeout (ms)", h("input", { name: "timeoutMs", type: "number", value: "30000" })),
      field(
        "headers",
        "Headers",
        h("textarea", { name: "headers", rows: "2", placeholder: "Authorization: Bearer …" }),
        { help: "One per line, Name: value. Encrypted at rest and never shown again.", wide: true },
      ),
    ),
    h("button", { type: "submit", class: "primary" }, "Register"),
  );

  const loadHealth = async (/** @type {string} */ name) => {
    const entry = rows.get(name);
    if (!entry) return;
    /** @type {Health | null} */
    let health = null;
    if (entry.backend.enabled) {
      try {
        health = await api("GET", `/backends/${name}/health`);
      } catch {
        health = null;
      }
    }
    entry.state.replaceChildren(badge(entry.backend, health));
    entry.row.classList.toggle("is-down", health?.breaker === "open");
    entry.probe.replaceChildren(health ? ago(health.lastCheckAt) : "–");
    if (health?.lastError) entry.probe.append(h("div", { class: "small muted" }, health.lastError));
    entry.latency.textContent = millis(health?.lastLatencyMs);
  };

  const loadCatalog = async (/** @type {string} */ name) => {
    const entry = rows.get(name);
    if (!entry?.backend.enabled) return;
    try {
      entry.catalog.textContent = counts(await api("GET", `/backends/${name}/catalog`));
    } catch {
      entry.catalog.textContent = "not available";
    }
  };

  const load = async () => {
    /** @type {Backend[]} */
    const backends = await api("GET", "/backends");
    rows.clear();
    const trs = backends.map((backend) => {
      const state = h("td", null, badge(backend, undefined));
      const probe = h("td", null, "–");
      const latency = h("td", { class: "num" }, "–");
      const catalog = h("td", null, backend.enabled ? "…" : "–");
      const refresh = h("button", { type: "button" }, "Refresh");
      const toggle = h("button", { type: "button" }, backend.enabled ? "Disable" : "Enable");
      const remove = h("button", { type: "button", class: "danger" }, "Delete");
      refresh.addEventListener("click", () =>
        busy(refresh, "Refreshing…", async () => {
          try {
            const answer = await api("POST", `/backends/${backend.name}/refresh`);
            catalog.textContent = counts(answer);
            status.say(`${backend.name} refreshed: ${counts(answer)}.`);
          } catch (err) {
            status.say(`${backend.name} could not be refreshed: ${err instanceof Error ? err.message : err}`, true);
          }
          await loadHealth(backend.name);
        }),
      );
      toggle.addEventListener("click", () =>
        busy(toggle, backend.enabled ? "Disabling…" : "Enabling…", async () => {
          try {
            await api("PATCH", `/backends/${backend.name}`, { enabled: !backend.enabled });
            status.say(`${backend.name} ${backend.enabled ? "disabled" : "enabled"}.`);
            await load();
          } catch (err) {
            status.say(`${backend.name}: ${err instanceof Error ? err.message : err}`, true);
          }
        }),
      );
      remove.addEventListener("click", () => {
        if (!confirm(`Delete backend ${backend.name}?`)) return;
        void busy(remove, "Deleting…", async () => {
          try {
            await api("DELETE", `/backends/${backend.name}`);
            status.say(`${backend.name} deleted.`);
            await load();
          } catch (err) {
            status.say(`${backend.name} was not deleted: ${err instanceof Error ? err.message : err}`, true);
          }
        });
      });
      const row = h(
        "tr",
        { "data-backend": backend.name },
        h(
          "td",
          null,
          h("strong", null, backend.name),
          h("div", { class: "small muted mono" }, backend.url),
          backend.credentials === "unreadable"
            ? h("div", { class: "small field-error" }, "Stored headers cannot be decrypted: re-enter them")
            : null,
        ),
        state,
        probe,
        latency,
        catalog,
        h("td", null, h("div", { class: "row" }, refresh, toggle, remove)),
      );
      rows.set(backend.name, { backend, row, state, probe, latency, catalog });
      return row;
    });
    listHost.replaceChildren(
      table("Backends", ["Backend", "State", "Last probe", "Latency", "Catalog", "Actions"], trs, "No backends yet."),
    );
    await Promise.all([...rows.keys()].flatMap((name) => [loadHealth(name), loadCatalog(name)]));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    const headers = parseHeaders(String(data.get("headers") ?? ""));
    const body = {
      name: String(data.get("name") ?? "").trim(),
      url: String(data.get("url") ?? "").trim(),
      transport: String(data.get("transport")),
      ...(data.get("transport") === "openapi" && {
        openapi: { document: { url: String(data.get("openapiUrl") ?? "").trim() } },
      }),
      ...(data.get("timeoutMs") !== "" && { timeoutMs: Number(data.get("timeoutMs")) }),
      ...(Object.keys(headers).length > 0 && { headers }),
    };
    await busy(button, "Registering…", async () => {
      try {
        await api("POST", "/backends", body);
        clearErrors(form);
        form.reset();
        status.say(`${body.name} registered.`);
        await load();
      } catch (err) {
        showErrors(form, err);
      }
    });
  });

  root.append(
    pageHeader("Backends", "Upstream MCP servers, their circuit breakers and health probes. States update live."),
    status.el,
    listHost,
    form,
  );
  await load();
  const timer = setInterval(() => {
    for (const name of rows.keys()) void loadHealth(name);
  }, POLL_MS);
  return () => clearInterval(timer);
}
