// The functions list: every function fetched once, filtered and paged in memory so 1,000+ stay fast; the
// invocations and errors of the last hour are counted from the REPORT lines of the visible rows' logs.
import { lambda, logs } from "./api.js";
import { h, mount, ago } from "./ui.js";

export const PAGE = 50;

export function functionRows(functions, stats = {}) {
  return functions.map((f) =>
    h("tr", {},
      h("td", {}, h("a", { href: `#/functions/${encodeURIComponent(f.FunctionName)}` }, f.FunctionName)),
      h("td", {}, f.Runtime || f.PackageType),
      h("td", {}, `${f.MemorySize} MB`),
      h("td", {}, ago(f.LastModified)),
      h("td", { "data-stat": "invocations", "data-fn": f.FunctionName }, stats[f.FunctionName]?.invocations ?? "–"),
      h("td", { "data-stat": "errors", "data-fn": f.FunctionName }, stats[f.FunctionName]?.errors ?? "–"),
    ),
  );
}

export async function hourStats(name) {
  const events = await logs.filter(name, Date.now() - 3600_000, '"REPORT RequestId"');
  return { invocations: events.length, errors: events.filter((e) => /Status: (error|timeout)/.test(e.message)).length };
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
    const todo = visible.filter((f) => !(f.FunctionName in stats));
    const worker = async () => {
      for (let f; (f = todo.shift()); ) {
        stats[f.FunctionName] = await hourStats(f.FunctionName).catch(() => ({ invocations: "?", errors: "?" }));
        for (const cell of body.querySelectorAll(`td[data-fn="${CSS.escape(f.FunctionName)}"]`)) cell.textContent = stats[f.FunctionName][cell.dataset.stat];
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
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
