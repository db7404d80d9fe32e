// The audit log: who read or changed what, when (admins only), filtered by dates, person, action and what it was on.
import { get } from "../lib/api.js";
import { el, field, screen } from "../lib/dom.js";
import { dateTime, words } from "../lib/format.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";

const FILTERS = [["date_from", "From", "date"], ["date_to", "To", "date"], ["actor", "Who", "text"],
  ["action", "Action", "text", "e.g. alert.close"], ["target_type", "On", "text", "e.g. alert, study"]];

function filterForm(current) {
  const inputs = FILTERS.map(([name, , type, placeholder]) => el("input", { name, type, value: current[name] || "", placeholder }));
  return el("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#/audit?${new URLSearchParams(inputs.filter((i) => i.value).map((i) => [i.name, i.value.trim()]))}`;
  } }, FILTERS.map(([, label], i) => field(label, inputs[i])), el("button", {}, "Filter"));
}

// what an entry changed, in words: the fields that differ before and after
function change(entry) {
  if (entry.action === "data.read") return `read ${entry.target_id ?? ""}`.trim();
  const before = entry.before || {}, after = entry.after || {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]) && k !== "id");
  return names.length ? `changed ${names.map((n) => words(n)).join(", ")}` : "—";
}

export async function auditLog() {
  const current = params();
  const filters = Object.fromEntries(FILTERS.map(([name]) => [name, current[name]]).filter(([, v]) => v));
  return screen("Audit log", "Every change and every read of patient data: who, when, what. Kept as the law asks.",
    filterForm(current),
    dataTable({ id: "audit", caption: "Audit entries, newest first", columns: [
      { key: "at", label: "When", sort: "at", render: (e) => dateTime(e.at) },
      { key: "actor", label: "Who", sort: "actor" },
      { key: "action", label: "Action", sort: "action", render: (e) => words(e.action.replaceAll(".", " ")) },
      { key: "target_type", label: "On", sort: "target_type", render: (e) => words(e.target_type) },
      { key: "change", label: "What", wide: true, value: change },
      { key: "note", label: "Note", wide: true },
    ], fetch: fromApi(get, "audit", "entries", filters), sort: "at", order: "desc", urlState: true, empty: "No entry." }));
}
