/**
 * Virtual servers: each a subset of backends and tools at
 * `/servers/<name>/mcp`; list, create and delete.
 */
import { api } from "../api.js";
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
 * @typedef {{ name: string, backends: string[] | null, tools: string[] | null, prefix: boolean, auth: string }} Server
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
        h("td", null, remove),
      );
    });
    listHost.replaceChildren(
      table(
        "Virtual servers",
        ["Server", "Backends", "Tools", "Names", "Auth", "Actions"],
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
        backendNames.length > 0
          ? checkGroup("backends", "Backends (none checked: every enabled one)", backendNames, [], "server-backend")
          : null,
        field("tools", "Tools", h("textarea", { name: "tools", rows: "2" }), {
          help: "Public tool names, one per line; empty: every tool",
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
      const body = {
        name: String(data.get("name") ?? "").trim(),
        auth: String(data.get("auth")),
        prefix: data.get("prefix") === "true",
        ...(chosen.length > 0 && { backends: chosen }),
        ...(tools.length > 0 && { tools }),
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

  root.append(
    pageHeader("Virtual servers", "Named subsets of backends and tools, each with its own MCP endpoint."),
    status.el,
    listHost,
    formHost,
  );
  await load();
  return () => undefined;
}
