// The one table of the UI: server-side pages with counts, sorting on every column (by the server where it pages),
// a choice of columns remembered in the browser, a sticky header, rows that are real links (keyboard, new tab),
// and cards on a phone (each cell says its column).
import { el } from "./dom.js";
import { number } from "./format.js";

const STORE = "kerma.columns.";

// column: {key, label, title?, value?(row), render?(row), sort?: server sort name | true (sort these rows here),
//          num?: right-aligned number, hidden?: not shown until chosen, fixed?: always shown, wide?: may wrap}
// options: {id?, columns, rows? | fetch?({limit, offset, sort, order}) -> {rows, total}, pageSize?, sort?, order?,
//           href?(row), caption, empty?, urlState?: mirror page and sort into the address}
export function dataTable(options) {
  const { columns, caption, href } = options;
  const pageSize = options.pageSize || 50;
  const state = { offset: 0, sort: options.sort ?? null, order: options.order ?? "desc", ...readUrlState(options) };
  let visible = chosenColumns(options);
  let current = { rows: [], total: 0 };

  const counter = el("p", { class: "count", role: "status" });
  const pager = el("nav", { class: "pager", "aria-label": `${caption}: pages` });
  const tools = el("div", { class: "table-tools" }, counter, pager, options.id ? chooser() : null);
  const table = el("table", {});
  const wrap = el("div", { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" }, table);
  const root = el("div", { class: "data-table", dataset: { table: options.id || "" } }, tools, wrap);

  function value(column, row) {
    return column.value ? column.value(row) : row[column.key];
  }

  function chooser() {
    const optional = columns.filter((c) => !c.fixed);
    const boxes = optional.map((c) => el("label", {}, el("input", {
      type: "checkbox", name: c.key, checked: visible.has(c.key), onchange: (e) => {
        if (e.target.checked) visible.add(c.key); else visible.delete(c.key);
        localStorage.setItem(STORE + options.id, JSON.stringify([...visible]));
        draw();
      },
    }), ` ${typeof c.label === "string" ? c.label : c.key}`));
    return el("details", { class: "columns" }, el("summary", {}, "Columns"), el("div", { class: "column-list" }, boxes,
      el("button", { type: "button", class: "link-button", onclick: () => {
        localStorage.removeItem(STORE + options.id);
        visible = chosenColumns(options);
        for (const box of boxes) box.querySelector("input").checked = visible.has(box.querySelector("input").name);
        draw();
      } }, "Default columns")));
  }

  function header(shown) {
    return el("thead", {}, el("tr", {}, shown.map((c) => {
      const sortable = c.sort !== undefined && c.sort !== null && c.sort !== false;
      const name = c.sort === true ? c.key : c.sort;
      const active = sortable && state.sort === name;
      const text = c.title ? el("span", { class: "explained", title: c.title }, c.label) : c.label;
      const content = sortable ? el("button", { type: "button", class: "sort", onclick: () => {
        state.order = active && state.order === "asc" ? "desc" : active ? "asc" : (c.num ? "desc" : "asc");
        state.sort = name;
        state.offset = 0;
        load();
      } }, text, el("span", { class: "arrow", "aria-hidden": "true" }, active ? (state.order === "asc" ? " ▲" : " ▼") : "")) : text;
      return el("th", { scope: "col", class: c.num ? "num" : null,
        "aria-sort": active ? (state.order === "asc" ? "ascending" : "descending") : null }, content);
    })));
  }

  function cell(column, row, first) {
    const shown = column.render ? column.render(row) : format(value(column, row));
    const link = first && href ? el("a", { href: href(row), class: "row-link" }, shown ?? "—") : shown;
    const text = typeof shown === "string" ? shown : null;
    return el("td", { class: [column.num ? "num" : "", column.wide ? "wide" : ""].join(" ").trim() || null,
      "data-label": typeof column.label === "string" ? column.label : column.key, title: text && text.length > 30 ? text : null },
    link ?? "—");
  }

  function body(shown, rows) {
    if (!rows.length) return el("tbody", {}, el("tr", {}, el("td", { colspan: shown.length, class: "empty" }, options.empty || "Nothing to show.")));
    return el("tbody", {}, rows.map((row) => el("tr", href ? { class: "link", onclick: (event) => follow(event, href(row)) } : {},
      shown.map((c, i) => cell(c, row, i === 0)))));
  }

  function draw() {
    const shown = columns.filter((c) => visible.has(c.key));
    table.replaceChildren(el("caption", {}, caption), header(shown), body(shown, current.rows));
    const { offset } = state;
    // total null: the API counted up to counted_up_to rows and found more (the pages then end where the rows do)
    const total = current.total;
    const known = total !== null;
    counter.textContent = total === 0 ? "None" : current.rows.length === total
      ? `${number(total, 0)} ${total === 1 ? "row" : "rows"}`
      : `${number(offset + 1, 0)}–${number(offset + current.rows.length, 0)} of `
        + (known ? number(total, 0) : `more than ${number(current.countedUpTo, 0)}`);
    const pages = known ? Math.max(1, Math.ceil(total / pageSize)) : Infinity;
    const page = Math.floor(offset / pageSize) + 1;
    const last = known ? page === pages : current.rows.length < pageSize;
    const go = (to) => () => { state.offset = Math.max(0, Math.min((pages - 1) * pageSize, to)); load(); };
    pager.replaceChildren(...(pages > 1 ? [
      el("button", { type: "button", onclick: go(0), disabled: page === 1, "aria-label": "First page" }, "«"),
      el("button", { type: "button", onclick: go(offset - pageSize), disabled: page === 1, "aria-label": "Previous page" }, "‹ Previous"),
      el("span", { class: "page" }, `Page ${number(page, 0)}` + (known ? ` of ${number(pages, 0)}` : "")),
      el("button", { type: "button", onclick: go(offset + pageSize), disabled: last, "aria-label": "Next page" }, "Next ›"),
      el("button", { type: "button", onclick: go((pages - 1) * pageSize), disabled: last || !known, "aria-label": "Last page" }, "»"),
    ] : []));
  }

  async function load() {
    writeUrlState(options, state);
    if (options.fetch) {
      root.setAttribute("aria-busy", "true");
      try {
        current = await options.fetch({ limit: pageSize, offset: state.offset, sort: state.sort, order: state.order });
      } finally { root.removeAttribute("aria-busy"); }
    } else {
      const column = columns.find((c) => (c.sort === true ? c.key : c.sort) === state.sort);
      const rows = column ? sortRows(options.rows, (r) => value(column, r), state.order) : options.rows;
      current = { rows: rows.slice(state.offset, state.offset + pageSize), total: rows.length };
    }
    draw();
  }

  root.ready = load(); // a promise: the first page drawn (screens await it before they are shown)
  return root;
}

function format(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "number") return number(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

function sortRows(rows, key, order) {
  const present = rows.filter((r) => key(r) !== null && key(r) !== undefined);
  const absent = rows.filter((r) => key(r) === null || key(r) === undefined);
  const compare = (a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)));
  present.sort((a, b) => compare(key(a), key(b)) * (order === "asc" ? 1 : -1));
  return present.concat(absent);
}

function chosenColumns(options) {
  const stored = options.id ? localStorage.getItem(STORE + options.id) : null;
  const keys = new Set(options.columns.map((c) => c.key));
  if (stored) {
    try {
      const chosen = new Set(JSON.parse(stored).filter((k) => keys.has(k)));
      for (const c of options.columns) if (c.fixed) chosen.add(c.key);
      if (chosen.size) return chosen;
    } catch { /* a damaged entry: the defaults */ }
  }
  return new Set(options.columns.filter((c) => !c.hidden).map((c) => c.key));
}

// A click anywhere on a linked row follows its link; Ctrl/⌘ or the middle button opens it in a new tab
function follow(event, target) {
  if (event.target.closest("a, button, input, select, label, summary")) return;
  if (event.ctrlKey || event.metaKey || event.button === 1) window.open(target, "_blank", "noopener");
  else location.hash = target;
}

// The main list of a screen keeps its page and sort in the address, so Back and a shared link come back to it
function readUrlState(options) {
  if (!options.urlState) return {};
  const query = new URLSearchParams(location.hash.split("?")[1] || "");
  const out = {};
  if (query.get("offset")) out.offset = Math.max(0, Number(query.get("offset")) || 0);
  if (query.get("sort")) out.sort = query.get("sort");
  if (query.get("order") === "asc" || query.get("order") === "desc") out.order = query.get("order");
  return out;
}

function writeUrlState(options, state) {
  if (!options.urlState) return;
  const [path, search = ""] = location.hash.split("?");
  const query = new URLSearchParams(search);
  for (const name of ["offset", "sort", "order"]) query.delete(name);
  if (state.offset) query.set("offset", state.offset);
  if (state.sort && state.sort !== options.sort) query.set("sort", state.sort);
  if (state.sort && state.order !== options.order) query.set("order", state.order);
  const text = query.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${path}${text ? `?${text}` : ""}`);
}

// fetch for dataTable over a paged API route: {rows, total} from `key` of the answer
export function fromApi(get, path, key, params = {}) {
  return async ({ limit, offset, sort, order }) => {
    const answer = await get(path, { ...params, limit, offset, sort, order });
    const rows = answer[key] || [];
    return { rows, total: "total" in answer ? answer.total : rows.length, countedUpTo: answer.counted_up_to, answer };
  };
}
