/**
 * A small DOM builder: `h("button", { class: "primary", onclick }, "Save")`.
 * Hand-written rather than a framework (about 50 lines): the console has no
 * build step, and a framework copied into the assets would outweigh the
 * whole client. Text always goes in as text nodes; nothing here parses HTML,
 * so a value from the API can never become markup.
 */

/** @typedef {Node | string | number | null | undefined | false | ChildList} Child */
/** @typedef {Child[]} ChildList */
/** @typedef {Record<string, unknown>} Props */

/**
 * @param {Element} el
 * @param {Props | null | undefined} props
 */
function apply(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "value" || key === "checked" || key === "selected") {
      /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el))[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(typeof child === "object" ? child : String(child));
  }
}

/**
 * An HTML element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props | null} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

/**
 * An SVG element.
 * @param {string} tag
 * @param {Props | null} [props]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function s(tag, props, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS("http://www.w3.org/2000/svg", tag));
  apply(el, props);
  append(el, children);
  return el;
}

let ids = 0;
/**
 * A document-unique id for label/field pairs.
 * @param {string} prefix
 */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}
