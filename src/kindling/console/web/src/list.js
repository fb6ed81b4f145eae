// The functions list: every function fetched once, filtered and paged in memory so 1,000+ stay fast; the
// invocations (with a sparkline) and errors of the last hour come from one GetMetricData call per page.
import { lambda } from "./api.js";
import { onGrid, sparkline } from "./charts.js";
import { cloudwatch } from "./services.js";
import { h, mount, ago } from "./ui.js";

export const PAGE = 50;

function statCell(stat, which) {
  if (!stat) return ["–"];
  const text = String(stat[which]);
  return which === "invocations" && stat.points ? [text, sparkline(stat.points, `Invocations per 5 minutes: ${stat.points.map((v) => v || 0).join(", ")}`)] : [text];
}

export function functionRows(functions, stats = {}) {
  return functions.map((f) =>
    h("tr", {},
      h("td", {}, h("a", { href: `#/functions/${encodeURIComponent(f.FunctionName)}` }, f.FunctionName)),
      h("td", {}, f.Runtime || f.PackageType),
      h("td", {}, `${f.MemorySize} MB`),
      h("td", {}, ago(f.LastModified)),
      h("td", { "data-stat": "invocations", "data-fn": f.FunctionName }, ...statCell(stats[f.FunctionName], "invocations")),
      h("td", { "data-stat": "errors", "data-fn": f.FunctionName }, ...statCell(stats[f.FunctionName], "errors")),
    ),
  );
}

const STEP = 300; // five-minute points: twelve per sparkline

/** Invocations and errors of the last hour for each named function, in one call. */
export async function hourStats(names) {
  const end = Date.now() / 1000;
  const start = Math.floor(end / STEP) * STEP - 11 * STEP;
  const query = (id, metric, name) => ({ Id: id, MetricStat: { Metric: { Namespace: "AWS/Lambda", MetricName: metric, Dimensions: [{ Name: "FunctionName", Value: name }] }, Period: STEP, Stat: "Sum" } });
  const data = await cloudwatch.metricData(names.flatMap((name, i) => [query(`i${i}`, "Invocations", name), query(`e${i}`, "Errors", name)]), start, end + STEP);
  const sum = (values) => values.reduce((a, b) => a + (b || 0), 0);
  return Object.fromEntries(names.map((name, i) => {
    const points = onGrid(data[`i${i}`], start, STEP, 12);
    return [name, { invocations: sum(points), errors: sum(onGrid(data[`e${i}`], start, STEP, 12)), points }];
  }));
}

export async function listPage() {
  let all = [];
  let query = "";
  let page = 0;
  const stats = {};
  const search = h("input", { type: "search", placeholder: "Filter by attributes or search by keyword", "aria-label": "Filter functions", oninput: () => ((query = search.value.toLowerCase()), (page = 0), render()) });
  const body = h("tbody");
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const count = h("span", { class: "count" });
  const table = h("table", { class: "functions" },
    h("caption", {}, "Functions"),
    h("thead", {}, h("tr", {}, ...["Function name", "Runtime", "Memory", "Last modified", "Invocations (1 h)", "Errors (1 h)"].map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  mount(
    h("div", { class: "bar" }, h("h1", {}, "Functions ", count), h("a", { class: "button primary", href: "#/create" }, "Create function")),
    search, table, pager,
  );
  function render() {
    const shown = query ? all.filter((f) => f.FunctionName.toLowerCase().includes(query) || (f.Runtime || "").includes(query)) : all;
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(page, pages - 1);
    const visible = shown.slice(page * PAGE, (page + 1) * PAGE);
    body.replaceChildren(...functionRows(visible, stats));
    drawCount(shown.length, pages);
    fillStats(visible);
  }
  function drawCount(shown = all.length, pages = Math.max(1, Math.ceil(all.length / PAGE))) {
    count.textContent = `(${shown})`;
    pager.replaceChildren(
      h("button", { disabled: page === 0, onclick: () => (page--, render()), "aria-label": "Previous page" }, "‹"),
      h("span", {}, `Page ${page + 1} of ${pages}`),
      h("button", { disabled: page >= pages - 1, onclick: () => (page++, render()), "aria-label": "Next page" }, "›"),
    );
  }
  async function fillStats(visible) {
    const names = visible.map((f) => f.FunctionName).filter((n) => !(n in stats));
    if (!names.length) return;
    const found = await hourStats(names).catch(() => Object.fromEntries(names.map((n) => [n, { invocations: "?", errors: "?" }])));
    Object.assign(stats, found);
    for (const cell of body.querySelectorAll("td[data-fn]")) {
      const stat = stats[cell.dataset.fn];
      if (stat) cell.replaceChildren(...statCell(stat, cell.dataset.stat));
    }
  }
  // the first page shows at once; the rest arrive in the background and only the count and pager change
  let marker;
  let first = true;
  do {
    const answer = await lambda.list(marker);
    all = all.concat(answer.Functions);
    marker = answer.NextMarker;
    if (first || !marker || query) render();
    else drawCount();
    first = false;
  } while (marker && document.body.contains(body));
}
