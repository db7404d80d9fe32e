// One patient's dose history: who (name, ID, sex, age, weight and height with their source), sums over a window
// (12 months unless another is chosen, ending on the browser's today or a chosen day) overall and per modality, and
// every examination with its dose values and estimates, each a link to its study. Printable (style.css: @media print).
import { csvLink, get } from "../lib/api.js";
import { el, facts, field, screen, select } from "../lib/dom.js";
import { age, date, describe, heading, number, personName, quantity, sex, source, value, withUnit } from "../lib/format.js";
import { dataTable } from "../lib/table.js";
import { params } from "../app.js";

const WINDOWS = [["12m", "12 months"], ["24m", "24 months"], ["5y", "5 years"], ["10y", "10 years"], ["all", "whole history"]];
const SIZE_SOURCES = { dicom: "DICOM header", his: "HIS", manual: "entered by hand" };

// the browser's today as YYYY-MM-DD (the windows end on it unless another day is chosen)
function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

const windowName = (w) => (WINDOWS.find(([k]) => k === w)?.[1] ?? w);
const span = (w) => (w.date_from ? `${date(w.date_from)} – ${date(w.date_to)}` : `up to ${date(w.date_to)}`);

function measured(key, v, src, on) {
  if (v === null || v === undefined) return "—";
  return `${withUnit(key, v)} (${SIZE_SOURCES[src] ?? "source not recorded"}${on ? `, ${date(on)}` : ""})`;
}

// an estimate with its band ("1.2 (0.8–1.6)"), or "not estimated" with the model's reason (absent, never 0)
function estimate(key, row, reason = null) {
  if (row[key] === null || row[key] === undefined) return el("span", { class: "muted not-estimated", title: reason }, "not estimated");
  const low = row[`${key}_low`], high = row[`${key}_high`];
  const band = low === null || low === undefined ? "" : ` (${value(key, low)}–${value(key, high)})`;
  return `${value(key, row[key])}${band}`;
}

const estimateHeading = (key, text) => (quantity(key) ? heading(key) : text);

// one column per summed quantity that some of the patient's studies has (no fluoroscopy: no Ka,r column)
function quantityColumns(keys, rows) {
  return keys.filter((k) => rows.some((r) => r[k] !== null && r[k] !== undefined)).map((key) => ({
    key, label: heading(key), title: describe(key), num: true, sort: true, render: (r) => value(key, r[key]),
  }));
}

function effectiveColumn(rows, sums) {
  return { key: "effective_dose_mSv", label: `${estimateHeading("effective_dose_mSv", "Effective dose (mSv)")}, band`,
    title: describe("effective_dose_mSv"), num: true, sort: true, render: (r) => {
      const shown = estimate("effective_dose_mSv", r, r.effective_dose_reason ?? null);
      const missing = sums ? r.effective_dose_not_estimated_studies : 0;
      return missing && r.effective_dose_mSv !== null
        ? el("span", {}, shown, el("small", { class: "muted" }, ` + ${number(missing, 0)} not estimated`)) : shown;
    } };
}

function windowForm(current, asOf) {
  const chosen = select("window", WINDOWS, current);
  const day = el("input", { type: "date", name: "as_of", value: asOf });
  return el("form", { class: "filters no-print", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ window: chosen.value, as_of: day.value || todayIso() });
    location.hash = `${location.hash.split("?")[0]}?${query}`;
  } }, field("Sum over", chosen), field("Ending on", day), el("button", {}, "Show"));
}

export async function patient(id) {
  const current = params();
  const chosen = WINDOWS.some(([k]) => k === current.window) ? current.window : "12m";
  const asOf = current.as_of || todayIso();
  const path = `patients/${encodeURIComponent(id)}/dose-history`;
  const query = { window: chosen === "all" ? "all" : `${chosen},all`, as_of: asOf };
  const data = await get(path, query);
  const p = data.patient;
  const sums = data.windows.map((w) => ({ ...w, label: `${windowName(w.window)} (${span(w)})` }));
  const main = data.windows[0].window;
  const perModality = data.modalities.filter((m) => m.window === main);
  const studies = data.studies;
  const print = el("button", { type: "button", class: "no-print", onclick: () => window.print() }, "Print");
  return screen(`Dose history: ${p.name ? personName(p.name) : `Patient ID ${p.patient_id}`}`, "Every examination of this patient with its dose, the sums over a "
    + "period overall and per modality, and the estimates made from them. Open an examination for its details.",
  facts([
    ["Patient", personName(p.name)],
    ["Patient ID", p.patient_id],
    ["Sex, age", `${sex(p.sex)}, ${age(p.age_years)}${p.age_on ? ` (on ${date(p.age_on)})` : ""}`],
    ["Weight", measured("weight_kg", p.weight_kg, p.weight_source, p.weight_on), { class: "weight" }],
    ["Height", measured("height_m", p.height_m, p.height_source, p.height_on), { class: "height" }],
    ["Examinations", `${number(p.studies, 0)} (${date(p.first_study_date)} – ${date(p.last_study_date)})`],
  ], { class: "facts patient" }),
  el("p", { class: "statement" }, data.statement, " ", data.band),
  windowForm(chosen, asOf),
  el("h2", {}, "Sums"),
  dataTable({ id: "patient-sums", caption: "Sums over the period and the whole history", columns: [
    { key: "label", label: "Period", fixed: true },
    { key: "studies", label: "Examinations", num: true, render: (r) => number(r.studies, 0) },
    ...quantityColumns(data.summed, studies), effectiveColumn(sums, true),
  ], rows: sums }),
  el("h2", {}, `Per modality, ${windowName(main)}`),
  dataTable({ id: "patient-modalities", caption: `Totals per modality over ${span(data.windows[0])}`, columns: [
    { key: "modality", label: "Modality", fixed: true, sort: true },
    { key: "studies", label: "Examinations", num: true, sort: true, render: (r) => number(r.studies, 0) },
    ...quantityColumns(data.summed, studies), effectiveColumn(perModality, true),
  ], rows: perModality, empty: "No examination in this period." }),
  el("h2", {}, `Examinations (${number(studies.length, 0)})`),
  dataTable({ id: "patient-studies", caption: "Every examination, newest first", columns: [
    { key: "study_date", label: "Date", sort: true, fixed: true, render: (s) => date(s.study_date) },
    { key: "accession_number", label: "Accession", sort: true },
    { key: "study_description", label: "Description", sort: true, wide: true },
    { key: "standard_exam", label: "Standard exam", sort: true, render: (s) => s.standard_exam ?? "not mapped" },
    { key: "modalities", label: "Modality", value: (s) => s.modalities.join(", ") },
    { key: "device_name", label: "Device", sort: true, hidden: true },
    { key: "source", label: "Source", hidden: true, render: (s) => source(s.source) },
    ...quantityColumns(["ctdivol_mGy"], studies).map((c) => ({ ...c, label: `${heading("ctdivol_mGy")}, highest` })),
    ...quantityColumns(data.summed, studies),
    ...quantityColumns(["ssde_mGy_max"], studies).map((c) => ({ ...c, label: `${heading("ssde_mGy")}, highest` })),
    effectiveColumn(studies, false),
    { key: "psd_mGy", label: estimateHeading("psd_mGy", "Peak skin dose (mGy)"), num: true, sort: true,
      render: (s) => (s.modalities.some((m) => m === "RF" || m === "XA") ? estimate("psd_mGy", s) : "—") },
  ], rows: studies, sort: "study_date", order: "desc", pageSize: Math.max(100, studies.length), // one page: printed whole
  href: (s) => `#/studies/${encodeURIComponent(s.study_instance_uid)}` }),
  el("p", { class: "downloads no-print" }, "Download as CSV: ",
    el("a", { href: csvLink(path, { ...query, part: "studies" }) }, "examinations"), ", ",
    el("a", { href: csvLink(path, { ...query, part: "windows" }) }, "sums"), ", ",
    el("a", { href: csvLink(path, { ...query, part: "modalities" }) }, "per modality"), "; pseudonymised: ",
    el("a", { href: csvLink(path, { ...query, part: "studies", pseudonymise: 1 }) }, "examinations"), ". ", print),
  );
}

// The way in: a Patient ID (as the studies list and the study page show it)
export function patients() {
  const input = el("input", { name: "patient_id", type: "text", required: true, autocomplete: "off" });
  const form = el("form", { class: "filters patient-search", onsubmit: (event) => {
    event.preventDefault();
    if (input.value.trim()) location.hash = `#/patients/${encodeURIComponent(input.value.trim())}`;
  } }, field("Patient ID", input), el("button", {}, "Show dose history"));
  return screen("Patient dose history", "A patient's examinations and their doses over time: enter the Patient ID "
    + "(also a link on every study).", form);
}
