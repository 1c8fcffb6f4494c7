/**
 * Virtual servers: each a subset of backends and tools at
 * `/servers/<name>/mcp`, with optional tool overrides (README, "Tool
 * overrides", entered as JSON); list, create and delete.
 */
import { ApiError, api } from "../api.js";
import { h } from "../dom.js";
import {
  busy,
  checkedValues,
  checkGroup,
  clearErrors,
  field,
  pageHeader,
  showErrors,
  statusLine,
  table,
} from "../ui.js";

/**
 * @typedef {{ tool: string, alias?: string, fixedArguments?: Record<string, unknown>, defaultArguments?: Record<string, unknown> }} ToolOverride
 * @typedef {{ name: string, backends: string[] | null, tools: string[] | null, prefix: boolean, auth: string, discovery: string, toolOverrides?: ToolOverride[] }} Server
 */

/**
 * @param {HTMLElement} root
 * @returns {Promise<() => void>}
 */
export async function render(root) {
  const status = statusLine();
  const listHost = h("div", { class: "card" });
  const formHost = h("div");

  const load = async () => {
    /** @type {[Server[], Array<{ name: string }>]} */
    const [servers, backends] = await Promise.all([api("GET", "/servers"), api("GET", "/backends")]);
    const rows = servers.map((server) => {
      const remove = h("button", { type: "button", class: "danger" }, "Delete");
      remove.addEventListener("click", () => {
        if (!confirm(`Delete server ${server.name}?`)) return;
        void busy(remove, "Deleting…", async () => {
          try {
            await api("DELETE", `/servers/${server.name}`);
            status.say(`${server.name} deleted.`);
            await load();
          } catch (err) {
            status.say(`${server.name} was not deleted: ${err instanceof Error ? err.message : err}`, true);
          }
        });
      });
      return h(
        "tr",
        null,
        h("td", null, h("strong", null, server.name), h("div", { class: "small mono" }, `/servers/${server.name}/mcp`)),
        h("td", null, server.backends ? server.backends.join(", ") : h("span", { class: "muted" }, "every enabled")),
        h("td", null, server.tools ? server.tools.join(", ") : h("span", { class: "muted" }, "all")),
        h("td", null, server.prefix ? "backend__name" : "as the backend names them"),
        h("td", null, server.auth === "none" ? "none (public)" : "API token"),
        h("td", null, server.discovery === "search" ? "search meta-tools" : "every tool"),
        h("td", null, overridesCell(server.toolOverrides ?? [])),
        h("td", null, remove),
      );
    });
    listHost.replaceChildren(
      table(
        "Virtual servers",
        ["Server", "Backends", "Tools", "Names", "Auth", "tools/list", "Overrides", "Actions"],
        rows,
        "No virtual servers yet.",
      ),
    );
    formHost.replaceChildren(createForm(backends.map((b) => b.name)));
  };

  const createForm = (/** @type {string[]} */ backendNames) => {
    const form = h(
      "form",
      { class: "card", novalidate: true, "aria-labelledby": "add-server" },
      h("h2", { id: "add-server" }, "Create a virtual server"),
      h(
        "div",
        { class: "fields" },
        field("name", "Name", h("input", { name: "name", required: true })),
        field(
          "auth",
          "Auth",
          h(
            "select",
            { name: "auth" },
            h("option", { value: "token" }, "API token"),
            h("option", { value: "none" }, "none (public)"),
          ),
        ),
        field(
          "prefix",
          "Prefix names with the backend",
          h("select", { name: "prefix" }, h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no")),
        ),
        field(
          "discovery",
          "tools/list shows",
          h(
            "select",
            { name: "discovery" },
            h("option", { value: "list" }, "every tool"),
            h("option", { value: "search" }, "search meta-tools (huge catalogs)"),
          ),
        ),
        backendNames.length > 0
          ? checkGroup("backends", "Backends (none checked: every enabled one)", backendNames, [], "server-backend")
          : null,
        field("tools", "Tools", h("textarea", { name: "tools", rows: "2" }), {
          help: "Public tool names, one per line; empty: every tool",
          wide: true,
        }),
        field("toolOverrides", "Tool overrides (JSON)", h("textarea", { name: "toolOverrides", rows: "3" }), {
          help: 'A JSON array, e.g. [{"tool": "github__search", "alias": "search", "fixedArguments": {"repo": "x"}}]; empty: none',
          wide: true,
        }),
      ),
      h("button", { type: "submit", class: "primary" }, "Create"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const chosen = checkedValues(form, "server-backend");
      const tools = String(data.get("tools") ?? "")
        .split("\n")
        .map((t) => t.trim())
        .filter(Boolean);
      const overridesText = String(data.get("toolOverrides") ?? "").trim();
      /** @type {unknown} */
      let toolOverrides;
      try {
        toolOverrides = overridesText ? JSON.parse(overridesText) : undefined;
      } catch {
        showErrors(
          form,
          new ApiError(400, "invalid_json", "Invalid JSON", [{ path: "toolOverrides", message: "is not valid JSON" }]),
        );
        return;
      }
      const body = {
        name: String(data.get("name") ?? "").trim(),
        auth: String(data.get("auth")),
        prefix: data.get("prefix") === "true",
        discovery: String(data.get("discovery")),
        ...(chosen.length > 0 && { backends: chosen }),
        ...(tools.length > 0 && { tools }),
        ...(toolOverrides !== undefined && { toolOverrides }),
      };
      const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
      await busy(button, "Creating…", async () => {
        try {
          await api("POST", "/servers", body);
          clearErrors(form);
          status.say(`${body.name} created.`);
          await load();
        } catch (err) {
          showErrors(form, err);
        }
      });
    });
    return form;
  };

  /** One line per override: `tool → alias`, and the arguments it fixes. */
  const overridesCell = (/** @type {ToolOverride[]} */ overrides) =>
    overrides.length === 0
      ? h("span", { class: "muted" }, "none")
      : h(
          "ul",
          { class: "small mono" },
          ...overrides.map((o) => {
            const fixed = Object.keys(o.fixedArguments ?? {});
            return h(
              "li",
              null,
              o.alias ? `${o.tool} → ${o.alias}` : o.tool,
              fixed.length > 0 ? ` (fixed: ${fixed.join(", ")})` : "",
            );
          }),
        );

  root.append(
    pageHeader("Virtual servers", "Named subsets of backends and tools, each with its own MCP endpoint."),
    status.el,
    listHost,
    formHost,
  );
  await load();
  return () => undefined;
}
