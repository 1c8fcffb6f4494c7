/**
 * Dashboard: calls, errors and p50/p99 latency per minute, per backend or
 * per tool, from `GET /api/stats` (the span consumer's rollups). Refreshes
 * every 15 seconds while shown.
 */
import { api } from "../api.js";
import { lineChart } from "../chart.js";
import { h, uid } from "../dom.js";
import { millis, pageHeader, statusLine } from "../ui.js";

const RANGES = [
  ["15", "Last 15 minutes"],
  ["60", "Last hour"],
  ["360", "Last 6 hours"],
  ["1440", "Last 24 hours"],
];

/**
 * @typedef {{ t: string, calls: number, errors: number, p50Ms: number | null, p99Ms: number | null }} Point
 * @typedef {{ backend: string, tool?: string, calls: number, errors: number, p50Ms: number | null, p99Ms: number | null, points: Point[] }} Series
 */

/**
 * One card with a series' totals and its two charts (minutes without calls count as 0 calls, no latency).
 * @param {Series} series
 * @param {number} from epoch minute
 * @param {number} to epoch minute
 */
function seriesCard(series, from, to) {
  const byMinute = new Map(series.points.map((p) => [Math.floor(Date.parse(p.t) / 60_000), p]));
  const minutes = [];
  for (let m = from; m <= to; m++) minutes.push(m);
  const times = minutes.map((m) => m * 60_000);
  const at = (/** @type {number} */ m) => byMinute.get(m);
  const name = series.tool ? `${series.tool} (${series.backend})` : series.backend;
  const errorRate = series.calls > 0 ? `${((100 * series.errors) / series.calls).toFixed(1)} %` : "–";
  return h(
    "section",
    { class: "card", "aria-label": name },
    h("h2", null, name),
    h(
      "p",
      { class: "totals" },
      h("span", null, h("strong", null, String(series.calls)), " calls"),
      h("span", null, h("strong", null, String(series.errors)), ` errors (${errorRate})`),
      h("span", null, "p50 ", h("strong", null, millis(series.p50Ms))),
      h("span", null, "p99 ", h("strong", null, millis(series.p99Ms))),
    ),
    lineChart({
      title: `Calls and errors per minute, ${name}`,
      description: `${series.calls} calls and ${series.errors} errors over the period.`,
      times,
      lines: [
        { key: "calls", label: "calls / min", values: minutes.map((m) => at(m)?.calls ?? 0) },
        { key: "errors", label: "errors / min", values: minutes.map((m) => at(m)?.errors ?? 0) },
      ],
    }),
    lineChart({
      title: `Latency per minute, ${name}`,
      description: `p50 ${millis(series.p50Ms)}, p99 ${millis(series.p99Ms)} over the period.`,
      times,
      unit: "ms",
      lines: [
        { key: "p50", label: "p50", values: minutes.map((m) => at(m)?.p50Ms ?? null) },
        { key: "p99", label: "p99", values: minutes.map((m) => at(m)?.p99Ms ?? null) },
      ],
    }),
  );
}

/**
 * @param {HTMLElement} root
 * @returns {Promise<() => void>}
 */
export async function render(root) {
  const by = h(
    "select",
    { id: uid("by") },
    h("option", { value: "backend" }, "per backend"),
    h("option", { value: "tool" }, "per tool"),
  );
  const range = h(
    "select",
    { id: uid("range") },
    RANGES.map(([value, label]) => h("option", { value, selected: value === "60" }, label)),
  );
  const status = statusLine();
  const cards = h("div", { class: "grid" });
  root.append(
    pageHeader(
      "Dashboard",
      "Backend calls per minute from the span rollups (spans arrive a few seconds after the calls).",
    ),
    h(
      "div",
      { class: "row card" },
      h("label", { for: by.id }, "Group"),
      by,
      h("label", { for: range.id }, "Period"),
      range,
      status.el,
    ),
    cards,
  );

  const load = async () => {
    const now = Date.now();
    const since = new Date(now - Number(range.value) * 60_000).toISOString();
    try {
      /** @type {{ series: Series[] }} */
      const answer = await api("GET", `/stats?by=${by.value}&since=${encodeURIComponent(since)}`);
      const from = Math.floor(Date.parse(since) / 60_000);
      const to = Math.floor(now / 60_000);
      const shown = answer.series.slice(0, 24);
      cards.replaceChildren(
        ...(shown.length > 0
          ? shown.map((s) => seriesCard(s, from, to))
          : [h("p", { class: "card muted" }, "No backend calls in this period yet.")]),
      );
      status.say(`Updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      status.say(`Could not load the statistics: ${err instanceof Error ? err.message : err}`, true);
    }
  };
  by.addEventListener("change", load);
  range.addEventListener("change", load);
  await load();
  const timer = setInterval(load, 15_000);
  return () => clearInterval(timer);
}
