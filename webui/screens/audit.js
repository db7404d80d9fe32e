// The audit log: who read or changed what, when (admins only).
import { get } from "../lib/api.js";
import { screen } from "../lib/dom.js";
import { dateTime, words } from "../lib/format.js";
import { dataTable, fromApi } from "../lib/table.js";

// what an entry changed, in words: the fields that differ before and after
function change(entry) {
  if (entry.action === "data.read") return `read ${entry.target_id ?? ""}`.trim();
  const before = entry.before || {}, after = entry.after || {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]) && k !== "id");
  return names.length ? `changed ${names.map((n) => words(n)).join(", ")}` : "—";
}

export async function auditLog() {
  return screen("Audit log", "Every change and every read of patient data: who, when, what. Kept as the law asks.",
    dataTable({ id: "audit", caption: "Audit entries, newest first", columns: [
      { key: "at", label: "When", sort: "at", render: (e) => dateTime(e.at) },
      { key: "actor", label: "Who", sort: "actor" },
      { key: "action", label: "Action", sort: "action", render: (e) => words(e.action.replaceAll(".", " ")) },
      { key: "target_type", label: "On", sort: "target_type", render: (e) => words(e.target_type) },
      { key: "change", label: "What", wide: true, value: change },
      { key: "note", label: "Note", wide: true },
    ], fetch: fromApi(get, "audit", "entries"), sort: "at", order: "desc", urlState: true, empty: "No entry." }));
}
