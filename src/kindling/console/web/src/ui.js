// A tiny DOM builder: h("button", {onclick}, "Deploy") — every control gets its accessible name from its text or label.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key in el && !key.includes("-")) el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

let counter = 0;
/** A labelled field: the label's text is the control's accessible name. */
export function field(label, control, hint) {
  control.id ||= `f${++counter}`;
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hint ? h("small", {}, hint) : null);
}

export function toast(message, kind = "ok") {
  const el = document.getElementById("toast");
  el.className = kind;
  el.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.textContent = ""), 6000);
}

export function mount(...children) {
  const app = document.getElementById("app");
  app.replaceChildren(...children);
  return app;
}

export const ago = (iso) => {
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (!(s >= 0)) return iso || "";
  if (s < 60) return `${Math.round(s)} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`;
  return `${Math.round(s / 86400)} days ago`;
};

/** A tab list (role=tablist) whose arrow keys move between tabs, as WAI-ARIA describes. */
export function tabs(names, current, onSelect) {
  const list = h("div", { role: "tablist", class: "tabs" });
  for (const name of names) {
    list.append(
      h("button", {
        role: "tab",
        "aria-selected": String(name === current),
        tabIndex: name === current ? 0 : -1,
        onclick: () => onSelect(name),
        onkeydown: (e) => {
          const i = names.indexOf(name) + (e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0);
          if (i !== names.indexOf(name) && names[i]) list.children[i].focus();
        },
      }, name),
    );
  }
  return list;
}
