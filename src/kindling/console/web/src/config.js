// The Configuration tab and the Versions tab: each section reads and writes through the public API.
import { lambda } from "./api.js";
import { layersSection, triggersSection } from "./triggers.js";
import { field, h, tabs, toast } from "./ui.js";

const SECTIONS = ["General configuration", "Environment variables", "Triggers", "Permissions", "Concurrency", "Asynchronous invocation", "Tags", "Layers"];
const show = (value) => h("pre", { class: "mono" }, JSON.stringify(value, null, 2));
const quiet = (promise, fallback) => promise.catch(() => fallback);

async function saveConfig(name, params, reload) {
  try {
    await lambda.updateConfiguration(name, params);
    toast(`Successfully updated the function ${name}.`);
    reload();
  } catch (error) {
    toast(error.message, "error");
  }
}

async function provisionedSection(config, reload) {
  const { ProvisionedConcurrencyConfigs = [] } = await quiet(lambda.provisioned(config.FunctionName), {});
  const qualifier = h("input", { placeholder: "alias or version" });
  const count = h("input", { type: "number", min: 1, value: 1 });
  const rows = ProvisionedConcurrencyConfigs.map((c) =>
    h("tr", {}, h("td", {}, c.FunctionArn.split(":").pop()), h("td", {}, String(c.RequestedProvisionedConcurrentExecutions)), h("td", {}, c.Status)));
  return h("div", {}, h("h3", {}, "Provisioned concurrency configurations"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Qualifier"), h("th", {}, "Provisioned concurrency"), h("th", {}, "Status"))), h("tbody", {}, ...rows)),
    field("Qualifier", qualifier), field("Provisioned concurrency", count),
    h("button", { type: "button", onclick: async () => {
      try {
        await lambda.putProvisioned(config.FunctionName, qualifier.value.trim(), Number(count.value));
        toast("Provisioned concurrency saved.");
        reload();
      } catch (error) { toast(error.message, "error"); }
    } }, "Add provisioned concurrency"));
}

const builders = {
  "General configuration": async (config, reload) => {
    const memory = h("input", { type: "number", min: 128, max: 10240, value: config.MemorySize });
    const timeout = h("input", { type: "number", min: 1, max: 900, value: config.Timeout });
    const storage = h("input", { type: "number", min: 512, max: 10240, value: config.EphemeralStorage?.Size ?? 512 });
    const description = h("input", { value: config.Description || "" });
    return h("form", { onsubmit: (e) => (e.preventDefault(), saveConfig(config.FunctionName, {
      MemorySize: Number(memory.value), Timeout: Number(timeout.value), EphemeralStorage: { Size: Number(storage.value) }, Description: description.value }, reload)) },
      field("Description", description), field("Memory (MB)", memory), field("Timeout (seconds)", timeout), field("Ephemeral storage (MB)", storage),
      h("button", { type: "submit", class: "primary" }, "Save"));
  },
  "Environment variables": async (config, reload) => {
    const rows = h("div", { class: "envs" });
    const add = (k = "", v = "") => {
      const row = h("div", { class: "env" }, h("input", { value: k, "aria-label": "Key" }), h("input", { value: v, "aria-label": "Value" }),
        h("button", { type: "button", onclick: () => row.remove() }, "Remove"));
      rows.append(row);
    };
    for (const [k, v] of Object.entries(config.Environment?.Variables || {})) add(k, v);
    return h("form", { onsubmit: (e) => {
      e.preventDefault();
      const Variables = {};
      for (const row of rows.children) { const [k, v] = row.querySelectorAll("input"); if (k.value.trim()) Variables[k.value.trim()] = v.value; }
      saveConfig(config.FunctionName, { Environment: { Variables } }, reload);
    } }, rows, h("button", { type: "button", onclick: () => add() }, "Add environment variable"), h("button", { type: "submit", class: "primary" }, "Save"));
  },
  Triggers: triggersSection,
  Permissions: async (config) => {
    const policy = await quiet(lambda.policy(config.FunctionName), null);
    return h("div", {}, h("h3", {}, "Execution role"), h("p", {}, config.Role),
      h("h3", {}, "Resource-based policy statements"), policy ? show(JSON.parse(policy.Policy).Statement) : h("p", {}, "No resource-based policy."));
  },
  Concurrency: async (config, reload) => {
    const current = await quiet(lambda.concurrency(config.FunctionName), {});
    const reserved = h("input", { type: "number", min: 0, value: current.ReservedConcurrentExecutions ?? "" });
    return h("div", {}, h("form", { onsubmit: async (e) => {
      e.preventDefault();
      try {
        if (reserved.value === "") await lambda.deleteConcurrency(config.FunctionName);
        else await lambda.putConcurrency(config.FunctionName, Number(reserved.value));
        toast("Concurrency saved."); reload();
      } catch (error) { toast(error.message, "error"); }
    } }, field("Reserved concurrency", reserved, "Empty: use unreserved account concurrency."), h("button", { type: "submit", class: "primary" }, "Save")),
    await provisionedSection(config, reload));
  },
  "Asynchronous invocation": async (config, reload) => {
    const current = await quiet(lambda.eventConfig(config.FunctionName), {});
    const retries = h("input", { type: "number", min: 0, max: 2, value: current.MaximumRetryAttempts ?? 2 });
    const age = h("input", { type: "number", min: 60, max: 21600, value: current.MaximumEventAgeInSeconds ?? 21600 });
    const destination = (outcome) => h("input", { value: current.DestinationConfig?.[outcome]?.Destination || "", placeholder: "arn:aws:sqs:us-east-1:000000000000:queue", autocomplete: "off" });
    const onSuccess = destination("OnSuccess");
    const onFailure = destination("OnFailure");
    return h("form", { onsubmit: async (e) => {
      e.preventDefault();
      const DestinationConfig = {}; // PutFunctionEventInvokeConfig replaces the whole configuration: empty removes
      if (onSuccess.value.trim()) DestinationConfig.OnSuccess = { Destination: onSuccess.value.trim() };
      if (onFailure.value.trim()) DestinationConfig.OnFailure = { Destination: onFailure.value.trim() };
      try {
        await lambda.putEventConfig(config.FunctionName, { MaximumRetryAttempts: Number(retries.value), MaximumEventAgeInSeconds: Number(age.value), DestinationConfig });
        toast("Asynchronous invocation saved."); reload();
      } catch (error) { toast(error.message, "error"); }
    } }, field("Retry attempts", retries), field("Maximum age of event (seconds)", age),
    field("On success destination", onSuccess, "The ARN of an SQS queue, SNS topic, EventBridge bus or Lambda function."), field("On failure destination", onFailure),
    h("button", { type: "submit", class: "primary" }, "Save"));
  },
  Tags: async (config, reload) => {
    const { Tags = {} } = await quiet(lambda.tags(config.FunctionArn), {});
    const key = h("input");
    const value = h("input");
    return h("div", {}, show(Tags), h("form", { onsubmit: async (e) => {
      e.preventDefault();
      try { await lambda.tag(config.FunctionArn, { [key.value]: value.value }); reload(); } catch (error) { toast(error.message, "error"); }
    } }, field("Key", key), field("Value", value), h("button", { type: "submit" }, "Add tag")));
  },
  Layers: layersSection,
};

const lastSection = {}; // per function, so a save that redraws the page stays on its section

export async function configurationTab(panel, detail, reload, section) {
  const name = detail.Configuration.FunctionName;
  section = section || lastSection[name] || SECTIONS[0];
  lastSection[name] = section;
  const body = h("div", { class: "section", role: "tabpanel", "aria-label": section });
  panel.replaceChildren(tabs(SECTIONS, section, (s) => configurationTab(panel, detail, reload, s)), body);
  body.append(await builders[section](detail.Configuration, reload));
}

export async function versionsTab(panel, detail, reload) {
  const name = detail.Configuration.FunctionName;
  const [{ Versions = [] }, { Aliases = [] }] = await Promise.all([quiet(lambda.versions(name), {}), quiet(lambda.aliases(name), {})]);
  const published = Versions.filter((v) => v.Version !== "$LATEST");
  const aliasName = h("input");
  const version = h("select", {}, ...published.map((v) => h("option", { value: v.Version }, v.Version)));
  const second = h("select", {}, h("option", { value: "" }, "None"), ...published.map((v) => h("option", { value: v.Version }, v.Version)));
  const weight = h("input", { type: "number", min: 0, max: 100, value: 0 });
  const description = h("input");
  panel.replaceChildren(
    h("div", { class: "bar" }, h("h2", {}, "Versions"), h("button", { class: "primary", onclick: async () => {
      try { const v = await lambda.publish(name, description.value); toast(`Successfully created version ${v.Version} of function ${name}.`); reload(); } catch (error) { toast(error.message, "error"); }
    } }, "Publish new version")),
    field("Version description", description),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Version"), h("th", {}, "Description"), h("th", {}, "Last modified"))),
      h("tbody", {}, ...published.map((v) => h("tr", {}, h("td", {}, v.Version), h("td", {}, v.Description || ""), h("td", {}, v.LastModified))))),
    h("h2", {}, "Aliases"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Version"), h("th", {}, "Weights"))),
      h("tbody", {}, ...Aliases.map((a) => h("tr", {}, h("td", {}, a.Name), h("td", {}, a.FunctionVersion), h("td", {}, JSON.stringify(a.RoutingConfig?.AdditionalVersionWeights || {})))))),
    h("form", { class: "panel", onsubmit: async (e) => {
      e.preventDefault();
      const params = { Name: aliasName.value, FunctionVersion: version.value };
      if (second.value) params.RoutingConfig = { AdditionalVersionWeights: { [second.value]: Number(weight.value) / 100 } };
      try { await lambda.createAlias(name, params); toast(`Successfully created alias ${aliasName.value}.`); reload(); } catch (error) { toast(error.message, "error"); }
    } }, h("h3", {}, "Create alias"), field("Alias name", aliasName), field("Alias version", version),
      field("Additional version", second), field("Weight (%)", weight), h("button", { type: "submit" }, "Create alias")),
  );
}
