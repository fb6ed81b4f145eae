// The Configuration tab's Triggers and Layers sections: event source mappings (add, enable/disable, delete),
// the services the resource policy lets invoke, function URL, schedules, route tables; the function's layers (add a layer version, remove one).
import { lambda } from "./api.js";
import { field, h, toast } from "./ui.js";

const quiet = (promise, fallback) => promise.catch(() => fallback);

async function act(message, work, reload) {
  try {
    await work();
    toast(message);
    reload();
  } catch (error) {
    toast(error.message, "error");
  }
}

const table = (headings, rows) =>
  h("table", {}, h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, ...rows));

function mappingsTable(mappings, reload) {
  if (!mappings.length) return h("p", {}, "No event source mappings.");
  return table(["Event source", "State", "Batch size", "UUID", "Actions"], mappings.map((m) => {
    const enabled = m.State === "Enabled" || m.State === "Enabling";
    return h("tr", {}, h("td", { class: "mono" }, m.EventSourceArn), h("td", {}, m.State), h("td", {}, String(m.BatchSize ?? "")), h("td", { class: "mono" }, m.UUID),
      h("td", {},
        h("button", { "aria-label": `${enabled ? "Disable" : "Enable"} ${m.EventSourceArn}`, onclick: () =>
          act(`Event source mapping ${enabled ? "disabled" : "enabled"}.`, () => lambda.updateMapping(m.UUID, { Enabled: !enabled }), reload) }, enabled ? "Disable" : "Enable"),
        h("button", { class: "danger", "aria-label": `Delete ${m.EventSourceArn}`, onclick: () =>
          window.confirm(`Delete the trigger ${m.EventSourceArn}?`) && act("Event source mapping deleted.", () => lambda.deleteMapping(m.UUID), reload) }, "Delete")));
  }));
}

export async function triggersSection(config, reload) {
  const name = config.FunctionName;
  const [url, mapped, schedules, apis, policy] = await Promise.all([
    quiet(lambda.url(name), null), quiet(lambda.mappings(name), {}), quiet(lambda.schedules(), {}), quiet(lambda.routeTables(), {}),
    quiet(lambda.policy(name), null),
  ]);
  // a service that pushes events (an S3 bucket, an SNS topic, an EventBridge rule) shows in the resource policy
  const pushed = (policy ? JSON.parse(policy.Policy).Statement : []).filter((st) => st.Principal?.Service)
    .map((st) => ({ service: st.Principal.Service, source: st.Condition?.ArnLike?.["AWS:SourceArn"] || st.Condition?.ArnEquals?.["AWS:SourceArn"] || "any", sid: st.Sid }));
  const source = h("input", { placeholder: "arn:aws:sqs:us-east-1:000000000000:my-queue", autocomplete: "off" });
  const batch = h("input", { type: "number", min: 1, max: 10000, value: 10 });
  const mine = (schedules.Schedules || []).filter((s) => s.FunctionName === name || String(s.FunctionArn || s.Target || "").includes(`:${name}`));
  const routes = (apis.Items || []).filter((item) => JSON.stringify(item).includes(name));
  return h("div", {},
    h("h3", {}, "Event source mappings"),
    mappingsTable(mapped.EventSourceMappings || [], reload),
    h("form", { class: "panel", onsubmit: (e) => {
      e.preventDefault();
      act("Trigger added.", () => lambda.createMapping({ FunctionName: name, EventSourceArn: source.value.trim(), BatchSize: Number(batch.value) }), reload);
    } }, h("h4", {}, "Add trigger"), field("Event source ARN", source, "An SQS queue, a Kinesis stream or a DynamoDB stream."), field("Batch size", batch),
    h("button", { type: "submit" }, "Add trigger")),
    h("h3", {}, "Services that invoke the function"),
    pushed.length ? table(["Service", "Source", "Statement ID"], pushed.map((p) => h("tr", {}, h("td", {}, p.service), h("td", { class: "mono" }, p.source), h("td", {}, p.sid))))
      : h("p", {}, "No service may invoke the function (AddPermission lets one)."),
    h("h3", {}, "Function URL"),
    url ? h("p", {}, h("a", { href: url.FunctionUrl }, url.FunctionUrl), ` (auth: ${url.AuthType})`)
      : h("button", { onclick: () => act("Function URL created.", () => lambda.createUrl(name), reload) }, "Create function URL"),
    h("h3", {}, "Schedules"),
    mine.length ? table(["Name", "Schedule expression", "State"], mine.map((s) => h("tr", {}, h("td", {}, s.Name), h("td", { class: "mono" }, s.ScheduleExpression), h("td", {}, s.State))))
      : h("p", {}, "No schedules."),
    h("h3", {}, "Route tables"),
    routes.length ? h("pre", { class: "mono" }, JSON.stringify(routes, null, 2)) : h("p", {}, "No route tables."));
}

export async function layersSection(config, reload) {
  const name = config.FunctionName;
  const current = (config.Layers || []).map((l) => l.Arn);
  const save = (arns, message) => act(message, () => lambda.updateConfiguration(name, { Layers: arns }), reload);
  const { Layers = [] } = await quiet(lambda.layers(), {});
  const version = h("select");
  const layer = h("select", { onchange: () => versions() }, h("option", { value: "" }, "Choose a layer"), ...Layers.map((l) => h("option", { value: l.LayerName }, l.LayerName)));
  const arn = h("input", { placeholder: "arn:aws:lambda:us-east-1:000000000000:layer:name:1", autocomplete: "off" });
  async function versions() {
    const { LayerVersions = [] } = layer.value ? await quiet(lambda.layerVersions(layer.value), {}) : {};
    version.replaceChildren(...LayerVersions.map((v) => h("option", { value: v.LayerVersionArn }, String(v.Version))));
  }
  const rows = (config.Layers || []).map((l) =>
    h("tr", {}, h("td", { class: "mono" }, l.Arn), h("td", {}, `${l.CodeSize ?? "?"} bytes`),
      h("td", {}, h("button", { class: "danger", "aria-label": `Remove ${l.Arn}`, onclick: () => save(current.filter((a) => a !== l.Arn), "Layer removed.") }, "Remove"))));
  return h("div", {},
    rows.length ? table(["Layer version ARN", "Size", "Actions"], rows) : h("p", {}, "This function has no layers."),
    h("form", { class: "panel", onsubmit: (e) => {
      e.preventDefault();
      const chosen = arn.value.trim() || version.value;
      if (!chosen) return toast("Choose a layer and a version, or enter a layer version ARN.", "error");
      save([...current, chosen], "Layer added.");
    } }, h("h4", {}, "Add a layer"), field("Layer", layer), field("Version", version), field("Layer version ARN", arn, "Or enter the ARN of a layer version."),
    h("button", { type: "submit" }, "Add")));
}
