// The Test tab: saved test events (kept per function in this browser's localStorage), templates, and the
// execution result as the AWS console shows it: status, response, log output, request id and REPORT figures.
import { lambda, parseReport } from "./api.js";
import { EVENT_TEMPLATES } from "./templates.js";
import { field, h, toast } from "./ui.js";

const storeKey = (arn) => `kindling.console.events.${arn}`;
const load = (arn) => JSON.parse(localStorage.getItem(storeKey(arn)) || "{}");
const store = (arn, events) => localStorage.setItem(storeKey(arn), JSON.stringify(events));

export function testTab(panel, detail) {
  const config = detail.Configuration;
  const arn = config.FunctionArn;
  let events = load(arn);
  const saved = h("select", { onchange: () => pick(saved.value) });
  const eventName = h("input", { placeholder: "MyEventName", maxLength: 25 });
  const template = h("select", { onchange: () => (json.value = JSON.stringify(EVENT_TEMPLATES[template.value], null, 2)) },
    ...Object.keys(EVENT_TEMPLATES).map((t) => h("option", { value: t }, t)));
  const json = h("textarea", { rows: 12, spellcheck: false, class: "mono" });
  const result = h("section", { class: "result", "aria-live": "polite", "aria-label": "Execution result" });
  const run = h("button", { class: "primary", onclick: test }, "Test");
  function drawSaved(selected) {
    saved.replaceChildren(h("option", { value: "" }, "New event"), ...Object.keys(events).sort().map((n) => h("option", { value: n, selected: n === selected }, n)));
  }
  function pick(n) {
    eventName.value = n;
    json.value = n ? events[n] : JSON.stringify(EVENT_TEMPLATES["hello-world"], null, 2);
  }
  function parsed() {
    try {
      return JSON.stringify(JSON.parse(json.value || "{}"));
    } catch (error) {
      toast(`Event JSON is not valid JSON: ${error.message}`, "error");
      return null;
    }
  }
  function save() {
    const n = eventName.value.trim();
    if (!/^[A-Za-z0-9_.-]{1,25}$/.test(n)) return toast("Event name: 1 to 25 letters, numbers, periods, hyphens or underscores.", "error");
    if (parsed() === null) return;
    events[n] = json.value;
    store(arn, events);
    drawSaved(n);
    toast(`The test event ${n} was successfully saved.`);
  }
  function remove() {
    const n = saved.value;
    if (!n) return;
    delete events[n];
    store(arn, events);
    drawSaved("");
    pick("");
  }
  async function test() {
    const payload = parsed();
    if (payload === null) return;
    run.disabled = true;
    result.replaceChildren(h("p", {}, "Executing function…"));
    try {
      const res = await lambda.invoke(config.FunctionName, payload);
      const text = await res.text();
      const failed = !res.ok || res.headers.has("x-amz-function-error");
      const logText = res.headers.get("x-amz-log-result") ? new TextDecoder().decode(Uint8Array.from(atob(res.headers.get("x-amz-log-result")), (c) => c.charCodeAt(0))) : "";
      const report = parseReport(logText.split("\n").find((l) => l.startsWith("REPORT")) || "");
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {}
      const row = (k, v) => (v === undefined ? null : [h("dt", {}, k), h("dd", {}, v)]);
      result.replaceChildren(
        h("h3", { class: failed ? "failed" : "succeeded" }, `Executing function: ${failed ? "failed" : "succeeded"}`),
        h("p", { class: "status" }, `Status: ${failed ? "Failed" : "Succeeded"}`),
        h("h4", {}, "Response"), h("pre", { class: "response" }, pretty),
        h("h4", {}, "Summary"),
        h("dl", { class: "summary" },
          row("Request ID", report.requestId || res.headers.get("x-amzn-requestid")),
          row("Duration", report.duration !== undefined ? `${report.duration} ms` : undefined),
          row("Billed duration", report.billed !== undefined ? `${report.billed} ms` : undefined),
          row("Resources configured", report.memorySize !== undefined ? `${report.memorySize} MB` : undefined),
          row("Max memory used", report.maxMemory !== undefined ? `${report.maxMemory} MB` : undefined),
          row("Init duration", report.init !== undefined ? `${report.init} ms` : undefined)),
        h("h4", {}, "Function Logs"), h("pre", { class: "logs" }, logText),
      );
    } catch (error) {
      result.replaceChildren(h("p", { class: "failed" }, error.message));
    } finally {
      run.disabled = false;
    }
  }
  drawSaved(Object.keys(events)[0]);
  pick(Object.keys(events).sort()[0] || "");
  panel.replaceChildren(
    h("div", { class: "bar" }, h("h2", {}, "Test event"), h("button", { onclick: save }, "Save"), run),
    h("section", { class: "panel" },
      field("Saved events", saved), h("button", { onclick: remove }, "Delete saved event"),
      field("Event name", eventName), field("Template", template), field("Event JSON", json)),
    result,
  );
}
