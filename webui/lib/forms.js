// Forms that save once: the save button is disabled while the request runs, and every submission of the same
// filled-in form carries the same Idempotency-Key (a double click, Enter pressed twice, a retry), so Kerma creates
// one object.  Changing the form starts a new key; so does a save that succeeded.
import { el, message } from "./dom.js";
import { newKey } from "./api.js";

// form: a <form>; save(key): async, returns a text to show (or nothing); the form's submit button is disabled
// while it runs.  Errors are shown in the form's result line.
export function saving(form, save) {
  let key = newKey();
  const result = el("div", { class: "result", role: "status" });
  form.appendChild(result);
  form.addEventListener("input", () => { key = newKey(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll("button[type=submit], button:not([type])")];
    if (buttons.some((b) => b.disabled)) return;
    for (const b of buttons) { b.disabled = true; b.setAttribute("aria-busy", "true"); }
    try {
      const said = await save(key);
      key = newKey();
      result.replaceChildren(said ? message(said) : "");
    } catch (error) {
      result.replaceChildren(message(error.message, "error"));
    } finally {
      for (const b of buttons) { b.disabled = false; b.removeAttribute("aria-busy"); }
    }
  });
  return form;
}

// A button that runs an action once at a time (an acknowledge, an undo): disabled while it runs
export function actionButton(text, action, attributes = {}) {
  const button = el("button", { type: "button", ...attributes }, text);
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true;
    try { await action(button); } finally { button.disabled = false; }
  });
  return button;
}
