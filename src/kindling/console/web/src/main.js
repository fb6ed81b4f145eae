// The console's entry: sign-in when the server checks signatures, then a hash router over the pages.
import "./style.css";
import { lambda, setCredentials, signedIn } from "./api.js";
import { codeTab } from "./code.js";
import { configurationTab, versionsTab } from "./config.js";
import { createPage } from "./create.js";
import { listPage } from "./list.js";
import { monitorTab } from "./monitor.js";
import { testTab } from "./testtab.js";
import { field, h, mount, tabs } from "./ui.js";

const TABS = { Code: codeTab, Test: testTab, Monitor: monitorTab, Configuration: configurationTab, "Versions and aliases": versionsTab };
const SLUGS = { code: "Code", test: "Test", monitor: "Monitor", configuration: "Configuration", versions: "Versions and aliases" };
let health = {};

function signInPage(problem) {
  const id = h("input", { autocomplete: "username" });
  const secret = h("input", { type: "password", autocomplete: "current-password" });
  const region = h("input", { value: signedIn()?.region || "us-east-1" });
  const error = h("p", { class: "failed", role: "alert" }, problem || "");
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  mount(h("form", { class: "panel signin", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    setCredentials({ accessKeyId: id.value.trim(), secretAccessKey: secret.value, region: region.value.trim() || "us-east-1" });
    const refused = await lambda.list().then(() => null, (failure) => (failure.signInFailed ? failure : null));
    submit.disabled = false;
    if (!refused) return route(); // a key that may not list functions is still a valid key
    setCredentials(null);
    error.textContent = signInMessage(refused);
  } }, h("h1", {}, "Sign in"), h("p", {}, "This server checks request signatures: enter an access key pair. The console signs each call with it and keeps it only for this tab."),
  error, field("Access key ID", id), field("Secret access key", secret), field("Region", region), submit));
  id.focus();
}

const signInMessage = (failure) => `Sign-in failed: ${failure.message} Check the access key ID and the secret access key.`;

async function functionPage(name, slug) {
  const tab = SLUGS[slug] || "Code";
  const detail = await lambda.get(name);
  const config = detail.Configuration;
  const panel = h("div", { role: "tabpanel", class: "tabpanel", "aria-label": tab });
  const reload = () => route();
  mount(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/functions" }, "Functions"), " › ", name),
    h("div", { class: "bar" }, h("h1", {}, name),
      h("button", { class: "danger", onclick: async () => {
        if (!window.confirm(`Delete function ${name}?`)) return;
        await lambda.remove(name);
        location.hash = "#/functions";
      } }, "Delete")),
    h("section", { class: "overview panel", "aria-label": "Function overview" },
      h("dl", { class: "summary" }, h("dt", {}, "Runtime"), h("dd", {}, config.Runtime || config.PackageType), h("dt", {}, "Handler"), h("dd", {}, config.Handler || ""),
        h("dt", {}, "Memory"), h("dd", {}, `${config.MemorySize} MB`), h("dt", {}, "Function ARN"), h("dd", { class: "mono" }, config.FunctionArn),
        h("dt", {}, "Last modified"), h("dd", {}, config.LastModified))),
    tabs(Object.keys(TABS), tab, (t) => (location.hash = `#/functions/${encodeURIComponent(name)}/${Object.keys(SLUGS).find((s) => SLUGS[s] === t)}`)),
    panel,
  );
  await TABS[tab](panel, detail, reload);
}

async function route() {
  window.onbeforeunload = null;
  if (health.auth && health.auth !== "open" && !signedIn()) return signInPage();
  const [, page, name, slug] = location.hash.split("/");
  const who = document.getElementById("who");
  who.replaceChildren(...(signedIn() ? [`Key ${signedIn().accessKeyId} `, h("button", { class: "link", onclick: () => (setCredentials(null), route()) }, "Sign out")] : []));
  try {
    if (page === "create") await createPage(health);
    else if (page === "functions" && name) await functionPage(decodeURIComponent(name), slug);
    else await listPage();
    document.getElementById("app").dataset.ready = location.hash;
  } catch (error) {
    if (error.signInFailed) {
      setCredentials(null);
      return signInPage(signInMessage(error));
    }
    mount(h("p", { class: "failed", role: "alert" }, error.message), h("a", { href: "#/functions" }, "Back to Functions"));
  }
}

window.addEventListener("hashchange", route);
lambda.health().then(
  (answer) => ((health = answer), route()),
  (error) => mount(h("p", { role: "alert" }, `The server does not answer: ${error.message}`)),
);
