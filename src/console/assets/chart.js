/**
 * Line charts as SVG, drawn with DOM calls (no inline markup, so the
 * Content-Security-Policy needs no exception). Each chart has a text
 * alternative (`role="img"`, a title and a description with the totals).
 */
import { h, s, uid } from "./dom.js";

const WIDTH = 560;
const HEIGHT = 170;
const PAD = { left: 46, right: 10, top: 10, bottom: 24 };

/** @typedef {{ key: string, label: string, values: Array<number | null> }} Line */

/**
 * A "nice" upper bound for the y axis.
 * @param {number} max
 */
function niceMax(max) {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (max <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

/**
 * @param {number} value
 * @param {string} unit
 */
function tick(value, unit) {
  if (unit === "ms" && value >= 1000) return `${value / 1000} s`;
  return unit ? `${value} ${unit}` : String(value);
}

/**
 * A line chart over `times` (epoch ms, one per value). Null values leave a gap.
 * @param {{ title: string, description: string, times: number[], lines: Line[], unit?: string }} options
 */
export function lineChart({ title, description, times, lines, unit = "" }) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...lines.flatMap((l) => l.values.filter((v) => v !== null))));
  const n = Math.max(1, times.length - 1);
  const x = (/** @type {number} */ i) => PAD.left + (plotW * i) / n;
  const y = (/** @type {number} */ v) => PAD.top + plotH - (plotH * v) / max;
  const titleId = uid("chart-title");
  const descId = uid("chart-desc");
  const grid = [0, 0.5, 1].map((f) =>
    s(
      "g",
      null,
      s("line", { class: "grid-line", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(max * f), y2: y(max * f) }),
      s("text", { x: PAD.left - 6, y: y(max * f) + 4, "text-anchor": "end" }, tick(max * f, unit)),
    ),
  );
  const labelAt = [0, Math.floor((times.length - 1) / 2), times.length - 1].filter(
    (i, k, all) => i >= 0 && all.indexOf(i) === k,
  );
  const xLabels = labelAt.map((i) =>
    s(
      "text",
      { x: x(i), y: HEIGHT - 6, "text-anchor": i === 0 ? "start" : i === times.length - 1 ? "end" : "middle" },
      new Date(times[i] ?? 0).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
    ),
  );
  const paths = lines.map((line) => {
    let d = "";
    let pen = false;
    line.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    // A value with no neighbour draws no line: mark it with a dot so it shows.
    const dots = line.values.flatMap((v, i) =>
      v !== null && (line.values[i - 1] ?? null) === null && (line.values[i + 1] ?? null) === null
        ? [s("circle", { class: `${line.key} dot`, cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3 })]
        : [],
    );
    return s("g", null, s("path", { class: line.key, d: d || "M0,0" }), dots);
  });
  const svg = s(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-labelledby": titleId,
      "aria-describedby": descId,
    },
    s("title", { id: titleId }, title),
    s("desc", { id: descId }, description),
    grid,
    s("line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }),
    xLabels,
    paths,
  );
  const legend = h(
    "ul",
    { class: "legend" },
    lines.map((l) => h("li", null, h("span", { class: `swatch ${l.key}`, "aria-hidden": "true" }), l.label)),
  );
  return h("figure", { class: "chart-figure" }, svg, legend);
}
