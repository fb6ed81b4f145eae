// The Monitor tab: the function's CloudWatch metrics of the last hour (GetMetricData on the same port), per
// minute, and a log viewer with a CloudWatch filter pattern and a live tail.
import { logs } from "./api.js";
import { chart, onGrid } from "./charts.js";
import { cloudwatch } from "./services.js";
import { field, h } from "./ui.js";

const PERIOD = 60;
const SLOTS = 60;
// the hour's percentiles in one bucket: periods are aligned on multiples of themselves, so a day-long one holds
// the whole hour (but in the hour after midnight UTC, when the later of two buckets is shown)
const DAY = 86400;

const metric = (id, name, stat, fn, period = PERIOD) => ({
  Id: id,
  MetricStat: { Metric: { Namespace: "AWS/Lambda", MetricName: name, Dimensions: [{ Name: "FunctionName", Value: fn }] }, Period: period, Stat: stat },
});

export async function functionMetrics(fn, now = Date.now() / 1000) {
  const start = Math.floor(now / PERIOD) * PERIOD - (SLOTS - 1) * PERIOD;
  const data = await cloudwatch.metricData([
    metric("invocations", "Invocations", "Sum", fn),
    metric("errors", "Errors", "Sum", fn),
    metric("throttles", "Throttles", "Sum", fn),
    metric("concurrency", "ConcurrentExecutions", "Maximum", fn),
    metric("p50", "Duration", "p50", fn),
    metric("p99", "Duration", "p99", fn),
    metric("hourp50", "Duration", "p50", fn, DAY),
    metric("hourp99", "Duration", "p99", fn, DAY),
  ], start, now + PERIOD);
  const grid = (id) => onGrid(data[id], start, PERIOD, SLOTS);
  const total = (values) => values.reduce((a, b) => a + (b || 0), 0);
  const last = (id) => data[id]?.values.at(-1);
  const series = { invocations: grid("invocations"), errors: grid("errors"), throttles: grid("throttles"), concurrency: grid("concurrency"), p50: grid("p50"), p99: grid("p99") };
  return {
    series,
    totals: {
      invocations: total(series.invocations), errors: total(series.errors), throttles: total(series.throttles),
      concurrency: Math.max(0, ...series.concurrency.map((v) => v || 0)), p50: last("hourp50"), p99: last("hourp99"),
    },
  };
}

const ms = (v) => (v === undefined || v === null ? "–" : `${v.toFixed(2)} ms`);

function metricsSection(m) {
  const count = (title, values, color) => chart(title, [{ name: title, values, color }], { label: `${title}: ${values.reduce((a, b) => a + (b || 0), 0)} in the last hour` });
  return h("section", { "aria-label": "Metrics" },
    h("dl", { class: "summary" },
      h("dt", {}, "Invocations"), h("dd", { "data-metric": "invocations" }, String(m.totals.invocations)),
      h("dt", {}, "Errors"), h("dd", { "data-metric": "errors" }, String(m.totals.errors)),
      h("dt", {}, "Throttles"), h("dd", { "data-metric": "throttles" }, String(m.totals.throttles)),
      h("dt", {}, "Concurrent executions (max)"), h("dd", { "data-metric": "concurrency" }, String(m.totals.concurrency)),
      h("dt", {}, "Duration p50"), h("dd", { "data-metric": "p50" }, ms(m.totals.p50)),
      h("dt", {}, "Duration p99"), h("dd", { "data-metric": "p99" }, ms(m.totals.p99))),
    h("div", { class: "charts" },
      count("Invocations", m.series.invocations, "#0972d3"),
      count("Errors", m.series.errors, "#d91515"),
      chart("Duration", [{ name: "p50", values: m.series.p50, color: "#0972d3" }, { name: "p99", values: m.series.p99, color: "#8d6605" }],
        { kind: "line", unit: "ms", label: `Duration p50 ${ms(m.totals.p50)}, p99 ${ms(m.totals.p99)}` }),
      count("Throttles", m.series.throttles, "#8d6605"),
      chart("Concurrent executions", [{ name: "Maximum", values: m.series.concurrency, color: "#037f0c" }], { label: `Concurrent executions: at most ${m.totals.concurrency}` })));
}

const line = (e) => `${new Date(e.timestamp).toISOString()}  ${e.message.trimEnd()}`;

function logViewer(name, start) {
  const filter = h("input", { type: "search", placeholder: "Filter pattern, e.g. ERROR or \"Hello\"" });
  const lines = h("pre", { class: "logs", "aria-label": "Log events", tabIndex: 0 });
  const state = h("span", { class: "hint", role: "status" });
  let session = null; // the live tail's AbortController
  async function showLogs() {
    const events = await logs.filter(name, start, filter.value.trim(), 500).catch((e) => [{ timestamp: Date.now(), message: e.message }]);
    lines.textContent = events.map(line).join("\n") || "No log events in the last hour.";
  }
  // live tail: a StartLiveTail event stream, whose updates (every second) are appended while the box is
  // ticked and the tab is open; a group that does not exist yet (never invoked) is asked for again
  const live = h("input", { type: "checkbox", onchange: () => (live.checked ? tail() : stop()) });
  const stop = () => {
    session?.abort();
    session = null;
    state.textContent = "";
  };
  async function tail() {
    stop();
    const mine = (session = new AbortController());
    while (session === mine && document.body.contains(lines)) {
      // the last hour is read once the session is positioned, so no event falls between the two; an event
      // in both is shown once
      const seen = new Set();
      const shown = [];
      const add = (events) => {
        for (const e of events) {
          const key = `${e.logStreamName}\u0000${e.timestamp}\u0000${e.message}`;
          if (seen.has(key)) continue;
          seen.add(key);
          shown.push(e);
        }
        shown.sort((a, b) => a.timestamp - b.timestamp);
        lines.textContent = shown.map(line).join("\n") || "No log events in the last hour.";
      };
      try {
        state.textContent = "Tailing…";
        let first = true;
        for await (const results of logs.liveTail(name, filter.value.trim(), mine.signal)) {
          if (!document.body.contains(lines)) return mine.abort();
          if (first) add(await logs.filter(name, start, filter.value.trim(), 500));
          first = false;
          add(results);
        }
      } catch (error) {
        if (mine.signal.aborted) return;
        state.textContent = error.type?.includes("ResourceNotFound") ? "Waiting for the first log events…" : `Live tail: ${error.message}`;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }
  const form = h("form", { class: "bar", onsubmit: (e) => (e.preventDefault(), live.checked ? tail() : showLogs()) }, field("Filter log events", filter),
    h("button", { type: "submit" }, "Search"), h("label", { class: "inline" }, live, "Live tail"), state);
  return { nodes: [form, lines], showLogs };
}

export async function monitorTab(panel, detail) {
  const name = detail.Configuration.FunctionName;
  const metrics = h("div", {}, h("p", {}, "Loading metrics…"));
  const refresh = h("button", { onclick: () => drawMetrics() }, "Refresh metrics");
  const viewer = logViewer(name, Date.now() - 3600_000);
  async function drawMetrics() {
    try {
      metrics.replaceChildren(metricsSection(await functionMetrics(name)));
    } catch (error) {
      metrics.replaceChildren(h("p", { class: "failed", role: "alert" }, `Metrics: ${error.message}`));
    }
  }
  panel.replaceChildren(h("div", { class: "bar" }, h("h2", {}, "Metrics (last hour, per minute)"), refresh), metrics, h("h2", {}, "Logs"), ...viewer.nodes);
  await Promise.all([drawMetrics(), viewer.showLogs()]);
}
