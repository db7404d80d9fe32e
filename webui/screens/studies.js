// The studies: filters, every column sortable, a page at a time from the server.
import { get } from "../lib/api.js";
import { el, field, screen, select } from "../lib/dom.js";
import { allQuantities, date, describe, heading, label, number, personName, reported, source, value, withUnit } from "../lib/format.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";

const MODALITIES = [["", "any"], ["CT", "CT"], ["DX", "radiography (DX)"], ["MG", "mammography (MG)"], ["RF", "fluoroscopy (RF)"],
  ["NM", "nuclear medicine (NM)"]];
const SHOWN_TOTALS = ["total_dlp_mGycm", "total_dap_Gycm2"]; // the others may be chosen

// a total as its statistics use it, and as its device reported it where a correction factor changed it
function total(key, s) {
  const v = s.exam_totals?.[key] ?? null, raw = reported(key, s.uncorrected_totals);
  return raw == null || raw === v ? value(key, v) : el("span", {}, value(key, v), el("span", { class: "reported muted" },
    ` (reported ${value(key, raw)})`));
}

// the study's totals its statistics use, one column each: those the quantity list has at exam level
export function totalColumns() {
  const keys = allQuantities().filter((q) => q.level === "exam" && q.key.startsWith("total_")).map((q) => q.key);
  return (keys.length ? keys : SHOWN_TOTALS).map((key) => ({
    key, label: heading(key), title: describe(key), num: true, sort: key, hidden: !SHOWN_TOTALS.includes(key),
    value: (s) => s.exam_totals?.[key] ?? null, render: (s) => total(key, s),
  }));
}

export function studyColumns() {
  return [
    { key: "study_date", label: "Date", sort: "study_date", fixed: true, render: (s) => date(s.study_date) },
    { key: "patient_name", label: "Patient", sort: "patient_name", render: (s) => personName(s.patient.name) },
    { key: "patient_id", label: "Patient ID", sort: "patient_id", value: (s) => s.patient.patient_id,
      render: (s) => (s.patient.patient_id ? el("a", { href: `#/patients/${encodeURIComponent(s.patient.patient_id)}`,
        title: "This patient's dose history" }, s.patient.patient_id) : "—") },
    { key: "accession_number", label: "Accession", sort: "accession_number" },
    { key: "study_description", label: "Description", sort: "study_description", wide: true },
    { key: "standard_exam", label: "Standard exam", sort: "standard_exam", render: (s) => s.standard_exam ?? "not mapped" },
    { key: "modalities", label: "Modality", sort: "modality", value: (s) => s.modalities.join(", ") },
    { key: "device_name", label: "Device", sort: "device", value: (s) => s.device_name ?? s.devices.map((d) => d.station_name || d.model).filter(Boolean).join(", ") },
    { key: "source", label: "Source", sort: "source", hidden: true, render: (s) => source(s.source) },
    ...totalColumns(),
  ];
}

// "CTDIvol 1.32 × DRL (24.1 mGy, DRL 18.2 mGy)": each quantity of the study above its DRL, the highest ratio first
export const aboveDrlColumn = {
  key: "above_drl", label: "Above DRL", wide: true, fixed: true,
  render: (s) => (s.above_drl || []).map((a) => el("span", { class: "above-drl", title: `DRL set: ${a.drl_set}` },
    `${label(a.quantity)} ${number(a.ratio, 2)} × DRL (${withUnit(a.quantity, a.value)}, DRL ${withUnit(a.quantity, a.drl)})`)),
};

export async function studies() {
  const current = params();
  const filters = Object.fromEntries(["date_from", "date_to", "modality", "device", "standard_exam_id", "patient_id", "accession",
    "above_drl"].filter((k) => current[k]).map((k) => [k, current[k]]));
  const exams = await get("exams", { limit: 1000 }).catch(() => ({ exams: [] }));
  const input = (name, type = "text") => el("input", { name, type, value: current[name] || "" });
  const inputs = {
    date_from: input("date_from", "date"), date_to: input("date_to", "date"),
    modality: select("modality", MODALITIES, current.modality),
    device: input("device"), patient_id: input("patient_id"), accession: input("accession"),
    standard_exam_id: select("standard_exam_id", [["", "any"], ...exams.exams.map((e) => [e.id, e.name])], current.standard_exam_id),
  };
  const aboveDrl = el("input", { type: "checkbox", name: "above_drl", checked: current.above_drl === "1" });
  const form = el("form", {
    class: "filters", onsubmit: (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const [name, node] of Object.entries(inputs)) if (node.value) query.set(name, node.value);
      if (aboveDrl.checked) query.set("above_drl", "1");
      location.hash = `#/studies?${query}`;
    },
  }, field("From", inputs.date_from), field("To", inputs.date_to), field("Modality", inputs.modality),
  field("Device", inputs.device), field("Standard exam", inputs.standard_exam_id), field("Patient ID", inputs.patient_id),
  field("Accession", inputs.accession), field("Above DRL only", aboveDrl), el("button", {}, "Filter"));
  return screen("Studies", "Every study with dose records: who, when, which device and examination, and its dose totals. "
    + "Open a study for its irradiation events.", form,
  dataTable({ id: "studies", caption: "Studies", columns: filters.above_drl ? [...studyColumns(), aboveDrlColumn] : studyColumns(), fetch: fromApi(get, "studies", "studies", filters),
    sort: "study_date", order: "desc", urlState: true, href: (s) => `#/studies/${encodeURIComponent(s.study_instance_uid)}`,
    empty: "No study matches these filters." }));
}
