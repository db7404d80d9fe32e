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

export function number(value, digits = 3) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number") return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(0) : Number(value.toPrecision(digits)).toString();
}

// rows: objects; columns: [key, label, format?]
export function table(rows, columns, { caption, rowLink } = {}) {
  const head = el("tr", {}, columns.map(([, label]) => el("th", { scope: "col" }, label)));
  const body = rows.map((row) => {
    const cells = columns.map(([key, , format]) => {
      const value = typeof key === "function" ? key(row) : row[key];
      const shown = format ? format(value, row) : (typeof value === "number" ? number(value) : value ?? "—");
      return el("td", {}, shown);
    });
    return el("tr", rowLink ? { class: "link", onclick: () => (location.hash = rowLink(row)) } : {}, cells);
  });
  return el("div", { class: "table-wrap" },
    el("table", {}, caption ? el("caption", {}, caption) : null, el("thead", {}, head), el("tbody", {}, body)));
}

export function field(label, input) {
  return el("label", { class: "field" }, el("span", {}, label), input);
}

export function message(text, kind = "info") {
  return el("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
