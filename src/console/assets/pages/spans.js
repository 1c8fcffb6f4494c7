/**
 * Spans: recent spans with filters (tool, backend, status, period), newest
 * first, paged by cursor; a trace's spans as a tree with their timing.
 * Plugin spans say which plugin blocked what (`violation`).
 */
import { api } from "../api.js";
import { h, uid } from "../dom.js";
import { field, millis, pageHeader, statusLine, table } from "../ui.js";

/**
 * @typedef {{ traceId: string, spanId: string, parentSpanId: string | null, name: string, start: string, durationMs: number, status: string, attributes: Record<string, string | number | boolean> }} Span
 */

/**
 * The attributes worth a glance, in a fixed order.
 * @param {Span} span
 */
function summary(span) {
  const a = span.attributes;
  return ["method", "tool", "prompt", "resource", "plugin", "violation", "token", "http.status", "rpc.error", "error"]
    .filter((k) => a[k] !== undefined)
    .map((k) => `${k}=${a[k]}`)
    .join("  ");
}

/**
 * A trace's spans as nested lists, each with a bar placed on the trace's time line.
 * @param {Span[]} spans oldest first
 */
function traceTree(spans) {
  const start = Math.min(...spans.map((s) => Date.parse(s.start)));
  const end = Math.max(...spans.map((s) => Date.parse(s.start) + s.durationMs));
  const total = Math.max(1, end - start);
  /** @type {Map<string | null, Span[]>} */
  const children = new Map();
  const ids = new Set(spans.map((s) => s.spanId));
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  /**
   * @param {string | null} parent
   * @returns {HTMLLIElement[]}
   */
  const branch = (parent) =>
    (children.get(parent) ?? []).map((span) => {
      const bar = h("span", { class: span.status === "error" ? "bar error" : "bar" });
      bar.style.left = `${(100 * (Date.parse(span.start) - start)) / total}%`;
      bar.style.width = `${(100 * span.durationMs) / total}%`;
      const kids = children.get(span.spanId);
      return h(
        "li",
        null,
        h(
          "div",
          { class: "span-line" },
          h("span", null, h("strong", null, span.name), " ", h("span", { class: "small muted" }, summary(span))),
          h("span", { class: "bar-track", "aria-hidden": "true" }, bar),
          h("span", { class: "num" }, millis(span.durationMs), span.status === "error" ? " ✕" : ""),
        ),
        kids ? h("ul", { class: "trace-children" }, branch(span.spanId)) : null,
      );
    });
  return h("ul", { class: "trace" }, branch(null));
}

/**
 * @param {HTMLElement} root
 * @returns {Promise<() => void>}
 */
export async function render(root) {
  const status = statusLine();
  const traceHost = h("div");
  const listHost = h("div", { class: "card" });
  const more = h("button", { type: "button", hidden: true }, "Older spans");
  /** @type {Span[]} */
  let shown = [];
  /** @type {string | null} */
  let cursor = null;

  const form = h(
    "form",
    { class: "card", "aria-label": "Filter spans" },
    h(
      "div",
      { class: "fields" },
      field("tool", "Tool", h("input", { name: "tool", id: uid("tool") })),
      field("backend", "Backend", h("input", { name: "backend", id: uid("backend") })),
      field(
        "status",
        "Status",
        h(
          "select",
          { name: "status" },
          h("option", { value: "" }, "any"),
          h("option", { value: "ok" }, "ok"),
          h("option", { value: "error" }, "error"),
        ),
      ),
      field(
        "since",
        "Period",
        h(
          "select",
          { name: "since" },
          h("option", { value: "15" }, "last 15 minutes"),
          h("option", { value: "60", selected: true }, "last hour"),
          h("option", { value: "1440" }, "last 24 hours"),
        ),
      ),
    ),
    h("button", { type: "submit", class: "primary" }, "Show"),
  );

  const showTrace = async (/** @type {string} */ traceId) => {
    try {
      /** @type {Span[]} */
      const spans = await api("GET", `/spans/${traceId}`);
      traceHost.replaceChildren(
        h(
          "section",
          { class: "card", "aria-labelledby": "trace-title" },
          h("h2", { id: "trace-title", tabindex: "-1" }, "Trace ", h("span", { class: "mono" }, traceId)),
          traceTree(spans),
        ),
      );
      /** @type {HTMLElement | null} */ (traceHost.querySelector("#trace-title"))?.focus();
    } catch (err) {
      status.say(`Trace ${traceId}: ${err instanceof Error ? err.message : err}`, true);
    }
  };

  const draw = () => {
    const rows = shown.map((span) => {
      const open = h("button", { type: "button", "aria-label": `Show trace ${span.traceId}` }, "Trace");
      open.addEventListener("click", () => showTrace(span.traceId));
      return h(
        "tr",
        { "data-span": span.spanId },
        h("td", { class: "small" }, new Date(span.start).toLocaleTimeString()),
        h("td", null, span.name),
        h("td", { class: "small" }, summary(span)),
        h("td", null, String(span.attributes.backend ?? "")),
        h("td", { class: "num" }, millis(span.durationMs)),
        h("td", null, h("span", { class: span.status === "error" ? "badge down" : "badge ok" }, span.status)),
        h("td", null, open),
      );
    });
    listHost.replaceChildren(
      table(
        "Spans, newest first",
        ["Time", "Span", "Details", "Backend", "Duration", "Status", ""],
        rows,
        "No spans match.",
      ),
      more,
    );
    more.hidden = cursor === null;
  };

  const load = async (/** @type {boolean} */ append) => {
    const data = new FormData(form);
    const q = new URLSearchParams({ limit: "50" });
    for (const key of ["tool", "backend", "status"]) {
      const value = String(data.get(key) ?? "").trim();
      if (value) q.set(key, value);
    }
    q.set("since", new Date(Date.now() - Number(data.get("since")) * 60_000).toISOString());
    if (append && cursor) q.set("cursor", cursor);
    try {
      /** @type {{ spans: Span[], nextCursor: string | null }} */
      const page = await api("GET", `/spans?${q}`);
      shown = append ? [...shown, ...page.spans] : page.spans;
      cursor = page.nextCursor;
      draw();
      status.say(`${shown.length} spans shown.`);
    } catch (err) {
      status.say(`Could not load spans: ${err instanceof Error ? err.message : err}`, true);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void load(false);
  });
  more.addEventListener("click", () => load(true));
  root.append(
    pageHeader("Spans", "What each request did: the request, its backend call and every plugin that ran."),
    form,
    status.el,
    traceHost,
    listHost,
  );
  await load(false);
  return () => undefined;
}
