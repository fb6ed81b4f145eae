// Create function: AWS's three paths — Author from scratch, Use a blueprint, Upload a .zip file.
import { strToU8, zipSync } from "fflate";
import { lambda, signedIn } from "./api.js";
import { BLUEPRINTS } from "./blueprints.js";
import { iam } from "./services.js";
import { starter } from "./templates.js";
import { field, h, mount, toast } from "./ui.js";

export const toBase64 = (bytes) => {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

export function zipFiles(files) {
  const entries = {};
  for (const [name, text] of Object.entries(files)) {
    const mode = name === "bootstrap" || name.endsWith(".sh") ? 0o100755 : 0o100644;
    entries[name] = [typeof text === "string" ? strToU8(text) : text, { os: 3, attrs: mode << 16 }];
  }
  return zipSync(entries, { level: 6 });
}

export async function createPage(health) {
  const runtimes = health.runtimes || [];
  const name = h("input", { required: true, pattern: "[A-Za-z0-9_-]{1,64}", autocomplete: "off" });
  const runtime = h("select", {}, ...runtimes.map((r) => h("option", { value: r, selected: r === "python3.12" }, r)));
  const arch = h("fieldset", {}, h("legend", {}, "Architecture"),
    ...["x86_64", "arm64"].map((a, i) => h("label", { class: "inline" }, h("input", { type: "radio", name: "arch", value: a, checked: i === 0 }), a)));
  const roleChoice = h("fieldset", {}, h("legend", {}, "Execution role"),
    ...[["new", "Create a new role with basic Lambda permissions"], ["existing", "Use an existing role"]].map(([v, t], i) =>
      h("label", { class: "inline" }, h("input", { type: "radio", name: "role", value: v, checked: i === 0, onchange: update }), t)));
  const existingRole = h("select");
  const existingField = field("Existing role", existingRole, "Roles from IAM's ListRoles.");
  const zip = h("input", { type: "file", accept: ".zip,application/zip" });
  const handler = h("input", { value: "lambda_function.lambda_handler" });
  const how = h("fieldset", { class: "choices" }, h("legend", {}, "Choose one of the following options to create your function."),
    ...[["scratch", "Author from scratch"], ["blueprint", "Use a blueprint"], ["zip", "Upload a .zip file"]].map(([v, t], i) =>
      h("label", { class: "choice" }, h("input", { type: "radio", name: "how", value: v, checked: i === 0, onchange: update }), t)));
  const zipFields = h("div", { hidden: true }, field("Upload .zip file", zip), field("Handler", handler));
  const blueprintFields = {};
  const blueprintChoice = h("fieldset", { hidden: true, class: "choices" }, h("legend", {}, "Blueprints"),
    ...BLUEPRINTS.map((b, i) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "blueprint", value: b.id, checked: i === 0, onchange: update }),
      h("span", {}, h("strong", {}, b.title), h("br"), h("small", {}, b.summary)))));
  const triggerFields = h("div", { hidden: true, class: "panel" }, h("h2", {}, "Trigger"),
    ...BLUEPRINTS.flatMap((b) => b.fields.map((f) => {
      const input = h("input", { value: f.value || "", type: f.type || "text", pattern: f.pattern, "data-blueprint": b.id, autocomplete: "off" });
      blueprintFields[`${b.id}.${f.key}`] = input;
      return field(f.label, input);
    })));
  const submit = h("button", { type: "submit", class: "primary" }, "Create function");
  const form = h("form", { onsubmit: (e) => (e.preventDefault(), create()) },
    h("h1", {}, "Create function"), how, blueprintChoice,
    h("section", { class: "panel" }, h("h2", {}, "Basic information"),
      field("Function name", name, "Letters, numbers, hyphens and underscores, up to 64."),
      field("Runtime", runtime), arch,
      roleChoice, existingField, zipFields),
    triggerFields,
    h("div", { class: "actions" }, h("a", { href: "#/functions", class: "button" }, "Cancel"), submit));
  const chosen = () => form.querySelector("input[name=how]:checked").value;
  const blueprint = () => (chosen() === "blueprint" ? BLUEPRINTS.find((b) => b.id === form.querySelector("input[name=blueprint]:checked").value) : null);
  const roleMode = () => form.querySelector("input[name=role]:checked").value;
  let rolesAsked = false;
  function update() {
    existingField.hidden = roleMode() !== "existing";
    if (!existingField.hidden && !rolesAsked) {
      rolesAsked = true;
      existingRole.replaceChildren(h("option", { value: "" }, "Loading roles…"));
      iam.roles().then(
        (roles) => existingRole.replaceChildren(...(roles.length ? roles.map((r) => h("option", { value: r.arn }, r.name)) : [h("option", { value: "" }, "No roles")])),
        (error) => existingRole.replaceChildren(h("option", { value: "" }, `Could not list roles: ${error.message}`)));
    }
    zipFields.hidden = chosen() !== "zip";
    blueprintChoice.hidden = chosen() !== "blueprint";
    const picked = blueprint();
    triggerFields.hidden = !picked?.fields.length;
    for (const input of Object.values(blueprintFields)) {
      input.closest(".field").hidden = input.dataset.blueprint !== picked?.id;
      input.required = input.dataset.blueprint === picked?.id;
    }
  }
  mount(form);
  update();
  name.focus();

  async function create() {
    const fnName = name.value.trim();
    let code;
    let handlerName;
    if (chosen() === "zip") {
      if (!zip.files[0]) return toast("Choose a .zip file to upload.", "error");
      code = new Uint8Array(await zip.files[0].arrayBuffer());
      handlerName = handler.value.trim();
    } else {
      const start = starter(runtime.value, blueprint());
      if (!start) return toast(`The ${runtime.value} runtime needs a package${blueprint() ? " for this blueprint" : ""}: choose "Upload a .zip file".`, "error");
      code = zipFiles(start.files);
      handlerName = start.handler;
    }
    if (roleMode() === "existing" && !existingRole.value) return toast("Choose an existing role.", "error");
    submit.disabled = true;
    try {
      const picked = blueprint();
      const grants = picked?.grants ? picked.grants(blueprintValues(picked)) : [];
      const roleArn = roleMode() === "existing" ? existingRole.value : await iam.createBasicRole(fnName, signedIn()?.region || "us-east-1", grants);
      await lambda.create({
        FunctionName: fnName,
        Runtime: runtime.value,
        Role: roleArn,
        Handler: handlerName,
        Architectures: [form.querySelector("input[name=arch]:checked").value],
        Code: { ZipFile: toBase64(code) },
      });
    } catch (error) {
      toast(error.message, "error");
      submit.disabled = false;
      return;
    }
    await attachTrigger(fnName, blueprint());
    location.hash = `#/functions/${encodeURIComponent(fnName)}`;
  }

  /** What the user typed in a blueprint's fields, by key. */
  function blueprintValues(picked) {
    const values = {};
    for (const f of picked.fields) values[f.key] = blueprintFields[`${picked.id}.${f.key}`].value.trim();
    return values;
  }

  /** A blueprint's trigger, made once the function exists: a failure leaves the function and says why. */
  async function attachTrigger(fnName, picked) {
    if (!picked?.attach) return toast(`Successfully created the function ${fnName}.`);
    try {
      const config = await lambda.configuration(fnName);
      const what = await picked.attach(config, blueprintValues(picked));
      toast(`Successfully created the function ${fnName} with its trigger: ${what}.`);
    } catch (error) {
      toast(`Created the function ${fnName}, but its trigger failed: ${error.message}`, "error");
    }
  }
}
