/**
 * Plugins: the chain in execution order; create and edit with forms
 * generated from each kind's JSON Schema (`schema-form.js`), the API's field
 * errors shown beside the fields; delete.
 */
import { api } from "../api.js";
import { h, uid } from "../dom.js";
import { configFields, readConfig } from "../schema-form.js";
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
 * @typedef {import("../schema-form.js").JsonSchema} JsonSchema
 * @typedef {{ kind: string, description: string, hooks: string[], defaultHooks: string[], configSchema: JsonSchema }} Kind
 * @typedef {{ name: string, kind: string, mode: string, priority: number, hooks: string[], conditions: Array<Record<string, string[]>> | null, config: Record<string, unknown> }} Plugin
 */

const CONDITION_FIELDS = [
  ["serverIds", "Backends or servers"],
  ["tools", "Tools"],
  ["userPatterns", "Token names"],
];

/**
 * "a, b" → ["a", "b"].
 * @param {FormDataEntryValue | null} value
 */
function list(value) {
  return String(value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * The create/edit form for one kind; `plugin` given: editing it.
 * @param {Kind} kind
 * @param {Plugin | null} plugin
 * @param {(message: string) => Promise<void>} onSaved
 */
function pluginForm(kind, plugin, onSaved) {
  const prefix = uid("cfg");
  const condition = plugin?.conditions?.[0] ?? {};
  // The fields below edit one condition object; a plugin with several is edited as JSON, so none is lost.
  const asJson = (plugin?.conditions?.length ?? 0) > 1;
  const form = h(
    "form",
    { class: "card", novalidate: true, "aria-labelledby": `${prefix}-title`, "data-kind": kind.kind },
    h("h2", { id: `${prefix}-title` }, plugin ? `Edit ${plugin.name} (${kind.kind})` : `New ${kind.kind} plugin`),
    h("p", { class: "hint" }, kind.description),
    h(
      "div",
      { class: "fields" },
      plugin ? null : field("name", "Name", h("input", { name: "name", required: true })),
      field(
        "mode",
        "Mode",
        h(
          "select",
          { name: "mode" },
          ["enforce", "permissive", "disabled"].map((m) =>
            h("option", { value: m, selected: m === (plugin?.mode ?? "enforce") }, m),
          ),
        ),
        { help: "permissive: log violations, never block" },
      ),
      field(
        "priority",
        "Priority",
        h("input", { name: "priority", type: "number", value: String(plugin?.priority ?? 100) }),
        {
          help: "Lower runs first",
        },
      ),
      checkGroup("hooks", "Hooks", kind.hooks, plugin?.hooks ?? kind.defaultHooks, `${prefix}-hook`),
      asJson
        ? field(
            "conditions",
            "Conditions (JSON)",
            h("textarea", { name: "conditions-json", rows: "4", value: JSON.stringify(plugin?.conditions, null, 2) }),
            { help: "A list of objects: OR across objects, AND within one", wide: true },
          )
        : CONDITION_FIELDS.map(([key, text]) =>
            field(
              `conditions.0.${key}`,
              `Only for ${text.toLowerCase()}`,
              h("input", { name: `cond-${key}`, value: (condition[key] ?? []).join(", ") }),
              { help: "Comma-separated names or globs (* and ?); empty: all" },
            ),
          ),
    ),
    h("h3", null, "Settings"),
    h("div", { class: "fields" }, configFields(kind.configSchema, plugin?.config ?? {}, prefix)),
    h("button", { type: "submit", class: "primary" }, plugin ? "Save" : "Create plugin"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    /** @type {Record<string, string[]>} */
    const cond = {};
    for (const [key] of CONDITION_FIELDS) {
      const values = list(data.get(`cond-${key}`));
      if (values.length > 0) cond[key] = values;
    }
    /** @type {unknown} */
    let conditions = Object.keys(cond).length > 0 ? [cond] : null;
    if (asJson) {
      const text = String(data.get("conditions-json") ?? "").trim();
      try {
        conditions = text ? JSON.parse(text) : null;
      } catch {
        conditions = text; // not JSON: the API names the field
      }
    }
    const body = {
      ...(plugin ? {} : { name: String(data.get("name") ?? "").trim(), kind: kind.kind }),
      mode: String(data.get("mode")),
      priority: Number(data.get("priority")),
      hooks: checkedValues(form, `${prefix}-hook`),
      conditions,
      config: readConfig(form, kind.configSchema, prefix),
    };
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    await busy(button, plugin ? "Saving…" : "Creating…", async () => {
      try {
        const saved = plugin
          ? await api("PATCH", `/plugins/${plugin.name}`, body)
          : await api("POST", "/plugins", body);
        clearErrors(form);
        await onSaved(`${saved.name} ${plugin ? "saved" : "created"}.`);
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
  return form;
}

/**
 * @param {HTMLElement} root
 * @returns {Promise<() => void>}
 */
export async function render(root) {
  const status = statusLine();
  const listHost = h("div", { class: "card" });
  const editorHost = h("div");
  /** @type {Kind[]} */
  const kinds = await api("GET", "/plugins/kinds");
  const kindOf = (/** @type {string} */ name) => kinds.find((k) => k.kind === name);

  const saved = async (/** @type {string} */ message) => {
    editorHost.replaceChildren();
    status.say(message);
    await load();
  };

  const load = async () => {
    /** @type {Plugin[]} */
    const plugins = await api("GET", "/plugins");
    const rows = plugins.map((plugin) => {
      const edit = h("button", { type: "button" }, "Edit");
      const remove = h("button", { type: "button", class: "danger" }, "Delete");
      edit.addEventListener("click", () => {
        const kind = kindOf(plugin.kind);
        if (!kind) return;
        editorHost.replaceChildren(pluginForm(kind, plugin, saved));
        /** @type {HTMLElement | null} */ (editorHost.querySelector("select, input"))?.focus();
      });
      remove.addEventListener("click", () => {
        if (!confirm(`Delete plugin ${plugin.name}?`)) return;
        void busy(remove, "Deleting…", async () => {
          try {
            await api("DELETE", `/plugins/${plugin.name}`);
            await saved(`${plugin.name} deleted.`);
          } catch (err) {
            status.say(`${plugin.name} was not deleted: ${err instanceof Error ? err.message : err}`, true);
          }
        });
      });
      const conditions = plugin.conditions
        ? plugin.conditions
            .map((c) =>
              Object.entries(c)
                .map(([k, v]) => `${k}: ${v.join(", ")}`)
                .join("; "),
            )
            .join(" or ")
        : "always";
      return h(
        "tr",
        { "data-plugin": plugin.name },
        h("td", null, h("strong", null, plugin.name)),
        h("td", null, plugin.kind),
        h("td", null, plugin.mode),
        h("td", { class: "num" }, String(plugin.priority)),
        h("td", { class: "small" }, plugin.hooks.join(", ")),
        h("td", { class: "small" }, conditions),
        h("td", null, h("div", { class: "row" }, edit, remove)),
      );
    });
    listHost.replaceChildren(
      table(
        "Plugins in execution order",
        ["Plugin", "Kind", "Mode", "Priority", "Hooks", "Applies", "Actions"],
        rows,
        "No plugins yet.",
      ),
    );
  };

  const kindSelect = h(
    "select",
    { id: uid("kind") },
    kinds.map((k) => h("option", { value: k.kind }, k.kind)),
  );
  const add = h("button", { type: "button", class: "primary" }, "New plugin");
  add.addEventListener("click", () => {
    const kind = kindOf(kindSelect.value);
    if (!kind) return;
    editorHost.replaceChildren(pluginForm(kind, null, saved));
    /** @type {HTMLElement | null} */ (editorHost.querySelector("input"))?.focus();
  });

  root.append(
    pageHeader("Plugins", "The plugin chain: guardrails, masking, limits and caching, in execution order."),
    status.el,
    listHost,
    h("div", { class: "row card" }, h("label", { for: kindSelect.id }, "Kind"), kindSelect, add),
    editorHost,
  );
  await load();
  return () => undefined;
}
