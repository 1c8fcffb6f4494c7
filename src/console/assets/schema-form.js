/**
 * Form fields generated from a plugin kind's config JSON Schema (as
 * `GET /api/plugins/kinds` publishes it), and the config read back from
 * them. Each field carries the API path `config.<name>`, so the API's field
 * errors land beside it. Understood: strings (enum → select), integers and
 * numbers, booleans, arrays of enum values (checkboxes), arrays of strings
 * (one per line), string maps such as headers ("Name: value" lines); anything
 * else is edited as JSON.
 */
import { h } from "./dom.js";
import { checkedValues, checkGroup, field } from "./ui.js";

/** @typedef {{ type?: string | string[], enum?: unknown[], items?: JsonSchema, properties?: Record<string, JsonSchema>, additionalProperties?: boolean | JsonSchema, default?: unknown, description?: string, minimum?: number, maximum?: number, format?: string, required?: string[] }} JsonSchema */

/**
 * "windowSeconds" → "Window seconds".
 * @param {string} key
 */
function label(key) {
  const words = key.replace(/([A-Z])/g, " $1").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * What kind of control a property gets.
 * @param {JsonSchema} schema
 * @returns {"select" | "number" | "boolean" | "checks" | "lines" | "map" | "text" | "json"}
 */
function controlOf(schema) {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (schema.enum) return "select";
  if (type === "integer" || type === "number") return "number";
  if (type === "boolean") return "boolean";
  if (type === "array" && schema.items?.enum) return "checks";
  if (type === "array" && schema.items?.type === "string") return "lines";
  if (type === "object" && typeof schema.additionalProperties === "object") return "map";
  if (type === "string") return "text";
  return "json";
}

/**
 * @param {unknown} value
 * @param {"lines" | "map" | "json"} kind
 */
function toText(value, kind) {
  if (value === undefined || value === null) return "";
  if (kind === "lines" && Array.isArray(value)) return value.join("\n");
  if (kind === "map" && typeof value === "object") {
    return Object.entries(/** @type {Record<string, unknown>} */ (value))
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n");
  }
  return JSON.stringify(value, null, 2);
}

/**
 * The fields for a config schema, filled with `values` (or the schema's defaults).
 * @param {JsonSchema} schema
 * @param {Record<string, unknown>} values
 * @param {string} idPrefix
 */
export function configFields(schema, values, idPrefix) {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([key, prop]) => {
    const path = `config.${key}`;
    const value = values[key] ?? prop.default;
    const kind = controlOf(prop);
    const name = `${idPrefix}-${key}`;
    const text = `${label(key)}${required.has(key) ? " (required)" : ""}`;
    const options = { help: prop.description ?? "", wide: ["lines", "map", "json"].includes(kind) };
    if (kind === "checks") {
      const all = /** @type {string[]} */ ((prop.items?.enum ?? []).map(String));
      const checked = Array.isArray(value) ? value.map(String) : [];
      return checkGroup(path, text, all, checked, name);
    }
    /** @type {HTMLElement} */
    let control;
    if (kind === "select") {
      control = h(
        "select",
        { name, "data-kind": kind },
        required.has(key) ? null : h("option", { value: "" }, "(default)"),
        (prop.enum ?? []).map((v) => h("option", { value: String(v), selected: v === value }, String(v))),
      );
    } else if (kind === "boolean") {
      control = h(
        "select",
        { name, "data-kind": kind },
        h("option", { value: "true", selected: value === true }, "yes"),
        h("option", { value: "false", selected: value !== true }, "no"),
      );
    } else if (kind === "number") {
      control = h("input", {
        name,
        type: "number",
        "data-kind": kind,
        value: value === undefined ? "" : String(value),
        ...(prop.minimum !== undefined && { min: String(prop.minimum) }),
        ...(prop.maximum !== undefined && { max: String(prop.maximum) }),
      });
    } else if (kind === "text") {
      control = h("input", {
        name,
        type: prop.format === "uri" ? "url" : "text",
        "data-kind": kind,
        value: value === undefined ? "" : String(value),
      });
    } else {
      control = h("textarea", { name, rows: "3", "data-kind": kind, value: toText(value, kind) });
    }
    return field(path, text, control, options);
  });
}

/**
 * The config the fields describe; empty fields are left out (the kind's defaults apply). Unparseable
 * JSON is passed as text, so the API names the field.
 * @param {HTMLElement} form
 * @param {JsonSchema} schema
 * @param {string} idPrefix
 */
export function readConfig(form, schema, idPrefix) {
  /** @type {Record<string, unknown>} */
  const config = {};
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const name = `${idPrefix}-${key}`;
    const kind = controlOf(prop);
    if (kind === "checks") {
      config[key] = checkedValues(form, name);
      continue;
    }
    const control = /** @type {HTMLInputElement | null} */ (form.querySelector(`[name="${name}"]`));
    const raw = control?.value ?? "";
    if (raw.trim() === "") continue;
    if (kind === "number") config[key] = Number(raw);
    else if (kind === "boolean") config[key] = raw === "true";
    else if (kind === "lines")
      config[key] = raw
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
    else if (kind === "map") {
      /** @type {Record<string, string>} */
      const map = {};
      for (const line of raw.split("\n")) {
        if (!line.trim()) continue;
        const at = line.indexOf(":");
        map[at < 0 ? line.trim() : line.slice(0, at).trim()] = at < 0 ? "" : line.slice(at + 1).trim();
      }
      config[key] = map;
    } else if (kind === "json") {
      try {
        config[key] = JSON.parse(raw);
      } catch {
        config[key] = raw;
      }
    } else config[key] = raw;
  }
  return config;
}
