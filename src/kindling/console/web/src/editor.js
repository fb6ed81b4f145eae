// CodeMirror 6, loaded only when the Code tab opens so the first load stays small.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { keymap } from "@codemirror/view";

function language(file) {
  if (file.endsWith(".py")) return [python()];
  if (/\.(m?js|cjs|json|ts)$/.test(file)) return [javascript({ typescript: file.endsWith(".ts") })];
  return [];
}

/** An editor whose document is the given file's text; onChange gets the new text, onSave runs on Ctrl/Cmd+S. */
export function openEditor(parent, file, text, { onChange, onSave }) {
  const state = EditorState.create({
    doc: text,
    extensions: [
      keymap.of([{ key: "Mod-s", preventDefault: true, run: () => (onSave(), true) }]),
      basicSetup,
      ...language(file),
      EditorView.contentAttributes.of({ "aria-label": `Code source: ${file}` }),
      EditorView.updateListener.of((update) => update.docChanged && onChange(update.state.doc.toString())),
    ],
  });
  return new EditorView({ state, parent });
}
