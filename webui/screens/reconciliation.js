// Reconciliation with the HIS: studies without an order, orders without dose, mismatches and unknown patients;
// a study moved to the right patient or order, and each move undone when wrong.
import { get, post } from "../lib/api.js";
import { el, field, refresh, screen, select } from "../lib/dom.js";
import { date, dateTime, personName, sex } from "../lib/format.js";
import { actionButton, saving } from "../lib/forms.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";
import { can } from "../lib/user.js";

const LISTS = [["no-order", "Studies without an order"], ["no-dose", "Orders without dose"],
  ["no-dose-values", "Studies without dose values"], ["mismatches", "Patient mismatches"], ["unknown-patients", "Unknown patients"]];

const studyLink = (s) => `#/studies/${encodeURIComponent(s.study_instance_uid)}`;

function studyColumns(extra = []) {
  return [
    { key: "study_date", label: "Date", sort: "study_date", render: (s) => date(s.study_date) },
    { key: "accession_number", label: "Accession", sort: "accession_number" },
    { key: "patient_id", label: "Patient ID", sort: "patient_id", value: (s) => s.patient.patient_id },
    { key: "patient_name", label: "Patient", render: (s) => personName(s.patient.name) },
    { key: "sex", label: "Sex", render: (s) => sex(s.patient.sex) },
    { key: "study_description", label: "Description", sort: "study_description", wide: true },
    ...extra,
  ];
}

const orderColumns = [
  { key: "scheduled_at", label: "Scheduled", sort: "scheduled_at", render: (o) => dateTime(o.scheduled_at) },
  { key: "completed_at", label: "Completed", sort: "completed_at", render: (o) => dateTime(o.completed_at) },
  { key: "accession_number", label: "Accession", sort: "accession_number" },
  { key: "patient_id", label: "Patient ID", sort: "patient_id" },
  { key: "procedure", label: "Procedure", wide: true, value: (o) => o.procedure?.text ?? o.procedure?.code ?? null },
  { key: "reason", label: "Why listed", wide: true },
];

function reassignForm(uid) {
  const study = el("input", { name: "study_instance_uid", value: uid || "", required: true });
  const patient = el("input", { name: "patient_id" });
  const note = el("input", { name: "note" });
  return saving(el("form", { class: "card" }, el("h2", {}, "Move a study to another patient"),
    field("Study Instance UID", study), field("Patient ID it belongs to", patient), field("Why", note),
    el("button", { type: "submit", class: "save" }, "Move the study")),
  async (key) => {
    await post(`reconciliation/studies/${encodeURIComponent(study.value)}/reassign`, { patient_id: patient.value || null, note: note.value || null }, { key });
    refresh();
  });
}

export async function reconciliation() {
  const current = params();
  const name = LISTS.some(([n]) => n === current.list) ? current.list : "no-order";
  const pick = select("list", LISTS, name, { onchange: (e) => { location.hash = `#/reconciliation?list=${e.target.value}`; } });
  const key = name === "no-dose" ? "orders" : "studies";
  const columns = name === "no-dose" ? orderColumns
    : name === "mismatches" ? studyColumns([{ key: "differences", label: "Differences", wide: true,
      value: (s) => s.differences.map((d) => `${d.field ?? ""}: ${d.study ?? d.dicom ?? "—"} ≠ ${d.his ?? d.order ?? "—"}`).join("; ") }])
      : studyColumns();
  return screen("Reconciliation", "Where the dose records and the HIS disagree: each list says what to check; a study can be moved to its patient, and the move undone.",
    el("form", { class: "filters", onsubmit: (e) => e.preventDefault() }, field("List", pick)),
    dataTable({ id: `reconciliation-${name}`, caption: LISTS.find(([n]) => n === name)[1], columns,
      fetch: fromApi(get, `reconciliation/${name}`, key), href: key === "studies" ? studyLink : null, empty: "Nothing to reconcile." }),
    can("radiographer") ? reassignForm(current.study) : null,
    el("h2", {}, "Moves made"),
    dataTable({ id: "reassignments", caption: "Studies moved to another patient or order", columns: [
      { key: "at", label: "When", render: (r) => dateTime(r.at) }, { key: "actor", label: "Who" },
      { key: "change", label: "Change", wide: true, value: (r) => `${r.before?.patient_id ?? "—"} → ${r.after?.patient_id ?? "—"}` },
      { key: "note", label: "Why", wide: true },
      { key: "undo", label: "Undo", fixed: true, render: (r) => (r.undone_at ? `undone ${date(r.undone_at)}` : can("radiographer")
        ? actionButton("Undo", async () => { await post(`reconciliation/reassignments/${r.id}/undo`, {}); refresh(); }) : "—") },
    ], fetch: fromApi(get, "reconciliation/reassignments", "reassignments"), empty: "No study moved." }));
}
