// The Code tab: the package's files from its zip, an editor, a file tree, Deploy (button and Ctrl/Cmd+S).
import { unzipSync } from "fflate";
import { lambda, request } from "./api.js";
import { toBase64, zipFiles } from "./create.js";
import { h, toast } from "./ui.js";

const INLINE_LIMIT = 3 * 1024 * 1024; // AWS's inline editing limit

async function packageFiles(detail) {
  const location = new URL(detail.Code.Location, window.location.origin);
  const res = await request("GET", location.pathname, { raw: true });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > INLINE_LIMIT) return null;
  const files = {};
  const text = new TextDecoder("utf-8", { fatal: true });
  for (const [name, data] of Object.entries(unzipSync(bytes))) {
    if (name.endsWith("/")) continue;
    try {
      files[name] = text.decode(data);
    } catch {
      files[name] = data; // a binary file goes back into the package unchanged
    }
  }
  return files;
}

export async function codeTab(panel, detail) {
  const name = detail.Configuration.FunctionName;
  const files = await packageFiles(detail);
  if (!files) {
    panel.replaceChildren(h("p", {}, "The deployment package of your Lambda function is too large to enable inline code editing (3 MB)."));
    return;
  }
  const { openEditor } = await import("./editor.js");
  let current = Object.keys(files).find((f) => detail.Configuration.Handler && f.startsWith(detail.Configuration.Handler.split(".")[0])) || Object.keys(files)[0];
  let dirty = false;
  let view;
  const state = h("span", { class: "state", role: "status" });
  const deploy = h("button", { class: "primary", onclick: save, "aria-keyshortcuts": "Control+S" }, "Deploy");
  const tree = h("ul", { class: "tree", "aria-label": "Files" });
  const host = h("div", { class: "editor" });
  const setDirty = (value) => {
    dirty = value;
    state.textContent = value ? "Changes not deployed" : "";
    state.className = value ? "state dirty" : "state";
  };
  function drawTree() {
    tree.replaceChildren(...Object.keys(files).sort().map((f) =>
      h("li", {}, h("button", { class: f === current ? "file current" : "file", "aria-current": f === current ? "true" : null, onclick: () => openFile(f) }, f))));
  }
  function openFile(f) {
    current = f;
    view?.destroy();
    host.replaceChildren();
    if (typeof files[f] !== "string") {
      if (f !== undefined) host.append(h("p", { class: "hint" }, `${f} is a binary file: it is deployed as it is, but not edited here.`));
      view = null;
      return drawTree();
    }
    view = openEditor(host, f, files[f], { onChange: (text) => ((files[current] = text), setDirty(true)), onSave: save });
    drawTree();
  }
  const ask = (message, value = "") => {
    const answer = window.prompt(message, value);
    return answer && answer.trim().replace(/^\/+/, "");
  };
  const fileActions = h("div", { class: "file-actions" },
    h("button", { onclick: () => { const f = ask("New file name"); if (f && !(f in files)) { files[f] = ""; setDirty(true); openFile(f); } } }, "New file"),
    h("button", { "aria-label": "Rename file", onclick: () => { const f = ask("Rename file", current); if (f && f !== current && !(f in files)) { files[f] = files[current]; delete files[current]; setDirty(true); openFile(f); } } }, "Rename"),
    h("button", { "aria-label": "Delete file", onclick: () => { if (current && window.confirm(`Delete ${current}?`)) { delete files[current]; setDirty(true); openFile(Object.keys(files)[0]); } } }, "Delete"),
  );
  panel.replaceChildren(
    h("div", { class: "bar" }, h("h2", {}, "Code source"), state, deploy),
    h("div", { class: "code" }, h("nav", { class: "explorer", "aria-label": "Explorer" }, fileActions, tree), host),
  );
  openFile(current);
  window.onbeforeunload = () => (dirty ? true : undefined);

  async function save() {
    const zip = zipFiles(files);
    if (zip.length > INLINE_LIMIT) return toast("The package is over the 3 MB inline editing limit.", "error");
    deploy.disabled = true;
    state.textContent = "Deploying…";
    try {
      await lambda.updateCode(name, toBase64(zip));
      for (let i = 0; i < 100; i++) {
        const config = await lambda.configuration(name);
        if (config.LastUpdateStatus !== "InProgress") break;
        await new Promise((r) => setTimeout(r, 100));
      }
      setDirty(false);
      toast(`Successfully updated the function ${name}.`);
    } catch (error) {
      setDirty(true);
      toast(error.message, "error");
    } finally {
      deploy.disabled = false;
    }
  }
}
