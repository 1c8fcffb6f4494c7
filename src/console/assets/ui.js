/**
 * Pieces every console page uses: labelled fields, the API's field errors
 * shown beside the fields they name, status messages read out by screen
 * readers, buttons that show their progress, and number and time formats.
 */
import { ApiError } from "./api.js";
import { h, uid } from "./dom.js";

/**
 * A labelled field. `path` is the API's name for it (e.g. `config.windowSeconds`), so an error naming
 * that path lands beside it.
 * @param {string} path
 * @param {string} label
 * @param {HTMLElement} control an input, select or textarea (gets an id)
 * @param {{ help?: string, wide?: boolean }} [options]
 */
export function field(path, label, control, options = {}) {
  const id = control.id || uid("f");
  control.id = id;
  const help = options.help ? h("p", { class: "help", id: `${id}-help` }, options.help) : null;
  if (help) control.setAttribute("aria-describedby", help.id);
  return h(
    "div",
    { class: options.wide ? "field wide" : "field", "data-path": path },
    h("label", { for: id }, label),
    control,
    help,
  );
}

/**
 * A group of checkboxes in a fieldset with a legend.
 * @param {string} path
 * @param {string} legend
 * @param {string[]} options
 * @param {string[]} checked
 * @param {string} name
 */
export function checkGroup(path, legend, options, checked, name) {
  return h(
    "fieldset",
    { class: "field", "data-path": path },
    h("legend", null, legend),
    h(
      "div",
      { class: "checks" },
      options.map((option) => {
        const id = uid(name);
        return h(
          "label",
          { for: id },
          h("input", { type: "checkbox", id, name, value: option, checked: checked.includes(option) }),
          ` ${option}`,
        );
      }),
    ),
  );
}

/**
 * The values of the checked boxes named `name` inside `root`.
 * @param {ParentNode} root
 * @param {string} name
 */
export function checkedValues(root, name) {
  return [...root.querySelectorAll(`input[type="checkbox"][name="${name}"]:checked`)].map(
    (el) => /** @type {HTMLInputElement} */ (el).value,
  );
}

/**
 * Removes the errors `showErrors` put into a form.
 * @param {HTMLElement} form
 */
export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error, .form-errors")) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute("aria-invalid");
    const help = el.id ? form.querySelector(`#${CSS.escape(el.id)}-help`) : null;
    if (help) el.setAttribute("aria-describedby", help.id);
    else el.removeAttribute("aria-describedby");
  }
}

/**
 * Shows an API error in a form: each invalid field's message beside the field whose `data-path` is the
 * longest prefix of the error's path; the rest (and non-field errors) at the top. Focuses the first one.
 * @param {HTMLElement} form
 * @param {unknown} error
 */
export function showErrors(form, error) {
  clearErrors(form);
  const fields = error instanceof ApiError ? error.fields : [];
  const leftovers = [];
  /** @type {HTMLElement | null} */
  let first = null;
  const wrappers = /** @type {HTMLElement[]} */ ([...form.querySelectorAll("[data-path]")]);
  for (const issue of fields) {
    const wrapper = wrappers
      .filter((w) => {
        const p = w.dataset.path ?? "";
        return issue.path === p || issue.path.startsWith(`${p}.`);
      })
      .sort((a, b) => (b.dataset.path ?? "").length - (a.dataset.path ?? "").length)[0];
    if (!wrapper) {
      leftovers.push(`${issue.path}: ${issue.message}`);
      continue;
    }
    const control = /** @type {HTMLElement | null} */ (wrapper.querySelector("input, select, textarea"));
    const id = uid("err");
    const name = (wrapper.querySelector("label, legend")?.textContent ?? issue.path).trim();
    const sub =
      issue.path === wrapper.dataset.path ? "" : ` (${issue.path.slice((wrapper.dataset.path ?? "").length + 1)})`;
    wrapper.append(h("p", { class: "field-error", id }, `${name}${sub}: ${issue.message}`));
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute(
        "aria-describedby",
        [control.getAttribute("aria-describedby"), id].filter(Boolean).join(" "),
      );
      first ??= control;
    }
  }
  const place = (/** @type {HTMLElement} */ el) => {
    const firstFields = form.querySelector(".fields");
    if (firstFields) firstFields.before(el);
    else form.prepend(el);
  };
  if (leftovers.length > 0 || fields.length === 0) {
    const message = error instanceof Error ? error.message : String(error);
    place(
      h(
        "div",
        { class: "form-errors", role: "alert" },
        h("p", null, h("strong", null, message)),
        leftovers.length > 0
          ? h(
              "ul",
              null,
              leftovers.map((l) => h("li", null, l)),
            )
          : null,
      ),
    );
  } else {
    form.prepend(
      h(
        "p",
        { class: "form-errors", role: "alert" },
        `${error instanceof Error ? error.message : ""}: see the fields marked below.`,
      ),
    );
  }
  first?.focus();
}

/** A live region for short messages ("Refreshed: 3 tools"). */
export function statusLine() {
  const el = h("p", { class: "status", role: "status", "aria-live": "polite" });
  return {
    el,
    /** @param {string} text @param {boolean} [isError] */
    say(text, isError = false) {
      el.textContent = text;
      el.classList.toggle("error", isError);
    },
  };
}

/**
 * Runs `work` while `button` shows it is busy (disabled, spinner, `busyText`); restores it afterwards.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {string} busyText
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function busy(button, busyText, work) {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = busyText;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = text;
  }
}

/**
 * "12 s ago", "3 min ago", or the date; "never" for null.
 * @param {string | null | undefined} iso
 */
export function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 0) return `in ${Math.abs(seconds)} s`;
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

/**
 * Milliseconds for people: "0.8 ms", "42 ms", "1.2 s"; "–" for null.
 * @param {number | null | undefined} ms
 */
export function millis(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A page heading with an optional line of explanation.
 * @param {string} title
 * @param {string} [intro]
 */
export function pageHeader(title, intro) {
  return h("div", { class: "page-header" }, h("h1", null, title), intro ? h("p", { class: "hint" }, intro) : null);
}

/**
 * A table with a caption (for screen readers), header cells and rows.
 * @param {string} caption
 * @param {string[]} columns
 * @param {HTMLTableRowElement[]} rows
 * @param {string} [empty] shown when there are no rows
 */
export function table(caption, columns, rows, empty = "Nothing here yet.") {
  return h(
    "table",
    null,
    h("caption", { class: "visually-hidden" }, caption),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.length > 0 ? rows : h("tr", null, h("td", { colspan: String(columns.length), class: "muted" }, empty)),
    ),
  );
}
