// The Monitor tab: charts of the last hour counted from the function's REPORT lines (until CloudWatch metrics
// exist) and a log viewer with a filter pattern.
import { logs, parseReport } from "./api.js";
import { field, h } from "./ui.js";

function bars(title, buckets, color) {
  const max = Math.max(1, ...buckets);
  const w = 6;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${buckets.length * w} 60`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${buckets.reduce((a, b) => a + b, 0)} in the last hour`);
  buckets.forEach((n, i) => {
    const r = document.createElementNS(svg.namespaceURI, "rect");
    const height = (n / max) * 56;
    Object.entries({ x: i * w + 1, y: 60 - height, width: w - 2, height, fill: color }).forEach(([k, v]) => r.setAttribute(k, v));
    svg.append(r);
  });
  return h("figure", { class: "chart" }, h("figcaption", {}, title), svg);
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);

export async function monitorTab(panel, detail) {
  const name = detail.Configuration.FunctionName;
  const start = Date.now() - 3600_000;
  const reports = (await logs.filter(name, start, '"REPORT RequestId"')).map((e) => ({ t: e.timestamp, ...parseReport(e.message) }));
  const minute = (t) => Math.min(59, Math.floor((t - start) / 60_000));
  const invocations = Array(60).fill(0);
  const errors = Array(60).fill(0);
  for (const r of reports) {
    invocations[minute(r.t)]++;
    if (r.failed) errors[minute(r.t)]++;
  }
  const durations = reports.map((r) => r.duration).filter((d) => d !== undefined).sort((a, b) => a - b);
  const filter = h("input", { type: "search", placeholder: "Filter pattern, e.g. ERROR or \"Hello\"" });
  const lines = h("pre", { class: "logs", "aria-label": "Log events", tabIndex: 0 });
  async function showLogs() {
    const events = await logs.filter(name, start, filter.value.trim(), 500).catch((e) => [{ timestamp: Date.now(), message: e.message }]);
    lines.textContent = events.map((e) => `${new Date(e.timestamp).toISOString()}  ${e.message.trimEnd()}`).join("\n") || "No log events in the last hour.";
  }
  // live tail: the filter runs again every 2 seconds while the box is ticked and the tab is open
  const live = h("input", { type: "checkbox", onchange: () => live.checked && tail() });
  async function tail() {
    while (live.checked && document.body.contains(lines)) {
      await showLogs();
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  panel.replaceChildren(
    h("h2", {}, "Metrics (last hour)"),
    h("div", { class: "charts" }, bars("Invocations", invocations, "#0972d3"), bars("Errors", errors, "#d91515")),
    h("dl", { class: "summary" }, h("dt", {}, "Invocations"), h("dd", { "data-metric": "invocations" }, String(reports.length)),
      h("dt", {}, "Errors"), h("dd", { "data-metric": "errors" }, String(reports.filter((r) => r.failed).length)),
      h("dt", {}, "Duration p50"), h("dd", {}, `${percentile(durations, 50).toFixed(2)} ms`),
      h("dt", {}, "Duration p99"), h("dd", {}, `${percentile(durations, 99).toFixed(2)} ms`)),
    h("h2", {}, "Logs"),
    h("form", { class: "bar", onsubmit: (e) => (e.preventDefault(), showLogs()) }, field("Filter log events", filter), h("button", { type: "submit" }, "Search"),
      h("label", { class: "inline" }, live, "Live tail")),
    lines,
  );
  await showLogs();
}
