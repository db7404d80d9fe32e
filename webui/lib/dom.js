// Building the page from data without ever parsing data as HTML: every text goes in as a text node,
// so a protocol named "<img src=x onerror=alert(1)>" shows as those characters.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

let fieldCount = 0;
// A labelled input; `hint` is said below it and tied to it for screen readers
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++fieldCount}`;
  const help = hint ? el("small", { id: `${input.id}-hint` }, hint) : null;
  if (help) input.setAttribute("aria-describedby", help.id);
  return el("div", { class: "field" }, el("label", { for: input.id }, label), input, help);
}

export function message(text, kind = "info") {
  return el("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

// A message for the next screen drawn: a save that navigates (a new object's page, a screen drawn afresh) would
// otherwise lose what it said with the form that said it
export function flash(text) {
  sessionStorage.setItem("kerma-flash", text);
}

// A screen: its title, one line saying what it shows, the flash left by the save that led here, then its parts
export function screen(title, what, ...parts) {
  const flashed = sessionStorage.getItem("kerma-flash");
  sessionStorage.removeItem("kerma-flash");
  return el("section", { class: "screen" }, el("h1", {}, title), el("p", { class: "what" }, what),
    flashed ? message(flashed) : null, ...parts);
}

// A <dl> of facts: [[term, value], ...]; a null value is left out
export function facts(pairs, attributes = {}) {
  return el("dl", { class: "facts", ...attributes }, pairs.filter(([, v]) => v !== null && v !== undefined)
    .map(([term, value, ddAttributes]) => [el("dt", {}, term), el("dd", ddAttributes || {}, value)]));
}

export function select(name, options, selected, attributes = {}) {
  return el("select", { name, ...attributes }, options.map(([value, text]) =>
    el("option", { value, selected: String(value) === String(selected ?? "") }, text)));
}

// A label with a tooltip (a quantity's description): title for the mouse, and the text for screen readers
export function explained(text, description) {
  return description ? el("span", { class: "explained", title: description }, text) : text;
}

export const refresh = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
