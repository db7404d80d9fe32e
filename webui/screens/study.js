// One study: who and what, its totals with units, the levels in force, its alerts, and every irradiation event
// (the columns a physicist reads first; the others may be chosen), with links to its images in Orthanc Explorer.
import { get } from "../lib/api.js";
import { el, explained, facts, screen } from "../lib/dom.js";
import { age, date, dateTime, describe, heading, inForce, label, number, personName, quantity, reported, sex, source, value,
  withUnit, words } from "../lib/format.js";
import { dataTable } from "../lib/table.js";
import { derivedDoses } from "./study_derived.js";

const EXPLORER = "../../app/explorer.html";
// what a physicist reads first, per kind of report (the rest can be chosen: "Columns")
const DEFAULT_EVENT_COLUMNS = {
  ct: ["protocol", "target_region", "acquisition_type", "ctdivol_mGy", "dlp_mGycm", "ssde_mGy", "kvp", "exposure_mAs", "pitch",
    "scan_length_mm"],
  projection: ["protocol", "target_region", "event_type", "dap_Gycm2", "ka_r_mGy", "kvp", "primary_angle_deg", "secondary_angle_deg",
    "exposure_time_s", "irradiation_duration_s", "view"],
  radiopharmaceutical: ["radiopharmaceutical", "radionuclide", "administered_activity_MBq", "route", "administration_start"],
};
const HIDDEN = new Set(["index", "event_id", "image", "source", "irradiation_event_uid", "folded_key"]);

function kindOf(data) {
  const kinds = new Set(data.dose_objects.filter((o) => o.status === "ok").map((o) => o.report_kind));
  return kinds.has("ct") ? "ct" : kinds.has("projection") ? "projection" : kinds.has("radiopharmaceutical") ? "radiopharmaceutical" : "ct";
}

function eventColumns(events, series, kind, factors) {
  const keys = [];
  for (const e of events) for (const [k, v] of Object.entries(e)) {
    if (v !== null && !HIDDEN.has(k) && typeof v !== "object" && !keys.includes(k)) keys.push(k);
  }
  const preferred = DEFAULT_EVENT_COLUMNS[kind];
  keys.sort((a, b) => (preferred.includes(a) ? preferred.indexOf(a) : 99) - (preferred.includes(b) ? preferred.indexOf(b) : 99));
  const columns = keys.map((k) => {
    const q = quantity(k);
    return { key: k, label: q ? heading(k) : label(k), title: describe(k), num: typeof events.find((e) => e[k] != null)?.[k] === "number",
      sort: true, hidden: !preferred.includes(k), wide: k === "comment", value: (e) => e.corrected?.[k] ?? e[k],
      render: (e) => (k.startsWith("datetime") || k.startsWith("administration_") ? dateTime(e[k])
        : e.corrected?.[k] != null ? besideReported(k, e.corrected[k], e[k], factors) : value(k, e[k])) };
  });
  columns.unshift({ key: "index", label: "#", fixed: true, num: true, value: (e) => e.index });
  // an event read from image headers links to the series that holds its images, where Orthanc still has it
  if (events.some((e) => series[e.image?.series_instance_uid])) {
    columns.push({ key: "images", label: "Images", fixed: true, render: (e) => {
      const s = series[e.image?.series_instance_uid];
      return s ? el("a", { class: "series-images", href: `${EXPLORER}#series?uuid=${s.orthanc_series_id}`, target: "_blank", rel: "noopener" }, "series") : "—";
    } });
  }
  return columns;
}

// where each value came from: the DICOM header or the HIS (HL7)
function size(patient) {
  const part = (key, v, src) => (v == null ? null : `${withUnit(key, v)}${src ? ` (${src === "his" ? "HIS" : "DICOM header"})` : ""}`);
  return [part("weight_kg", patient.weight_kg, patient.weight_source), part("height_m", patient.height_m, patient.height_source)]
    .filter(Boolean).join(", ") || "—";
}

const optional = (promise) => promise.catch(() => null);

function ratio(v) {
  if (v === null || v === undefined) return "—";
  return el("span", { class: `badge ${v > 1 ? "red" : v > 0.9 ? "amber" : "green"}` }, `${number(v, 2)} ×`);
}

// The device correction factors applied to the study, each with its kind's label and fields, its device and the dates
// it is in force (GET corrections: the study keeps only which factor and version it used), read only where one applies.
async function appliedFactors(applied) {
  if (!applied?.length) return [];
  const [list, kinds] = await Promise.all([get("corrections"), get("corrections/kinds")]);
  const current = new Map(list.corrections.map((c) => [c.id, c]));
  return applied.map((a) => {
    const kind = kinds.kinds.find((k) => k.kind === a.kind);
    return { label: kind?.label ?? words(a.kind), ...current.get(a.correction_id), ...a, quantities: kind?.quantities ?? [] };
  });
}

// a value as its statistics use it and, where a factor corrected it, the factor and the value as the device reported it
function besideReported(key, v, raw, factors) {
  const mine = factors.filter((f) => f.quantities.includes(key));
  if (!mine.length || raw == null) return value(key, v);
  return el("span", { class: "corrected" }, value(key, v), el("span", { class: "reported muted" },
    ` (corrected ${mine.map((f) => `×${number(f.factor, 3)}`).join(", ")}; reported ${value(key, raw)})`));
}

function factorsApplied(factors) {
  return factors.length ? [el("h2", {}, "Correction factors applied"), el("ul", { class: "corrections-applied" }, factors.map((f) =>
    el("li", {}, el("a", { href: `#/corrections?id=${f.correction_id}` }, `${f.label} ×${number(f.factor, 3)}`),
      ` of ${f.device_name ?? "its device"}, in force ${inForce(f)} (version ${number(f.version, 0)})`)))] : null;
}

export async function study(uid) {
  const path = `studies/${encodeURIComponent(uid)}`;
  const [data, alerts, images] = await Promise.all([get(path, { compact: 1 }), optional(get("alerts", { study: uid, limit: 100 })), optional(get(`${path}/images`))]);
  const factors = await appliedFactors(data.corrections);
  const series = Object.fromEntries((images?.series || []).map((s) => [s.series_instance_uid, s]));
  const kind = kindOf(data);
  const events = data.events.map((e, i) => ({ ...e, index: i + 1 }));
  const totals = Object.entries(data.exam_totals || {}).map(([key, v]) => ({ key, value: v }));
  const p = data.patient;
  return screen(data.study_description || "Study", "The study's dose as its statistics count it: totals, the levels in force on its date, "
    + "its alerts and every irradiation event.",
  data.deleted_in_pacs_at ? el("p", { class: "deleted-in-pacs" },
    `Deleted in PACS on ${dateTime(data.deleted_in_pacs_at)}: the images are gone, the dose records are kept.`) : null,
  facts([
    ["Patient", personName(p.name)],
    ["Patient ID", p.patient_id ? el("a", { class: "patient", href: `#/patients/${encodeURIComponent(p.patient_id)}`,
      title: "This patient's dose history" }, p.patient_id) : "—"],
    ["Sex, age", `${sex(p.sex)}, ${age(p.age_years)}`],
    ["Weight, height", size(p), { class: "size" }],
    ["Date", date(data.study_date)],
    ["Accession", data.accession_number ?? "—"],
    ["Standard exam", data.standard_exam ?? "not mapped"],
    ["Device", data.device_name ?? (data.devices.map((d) => d.station_name || d.model).filter(Boolean).join(", ") || "—")],
    ["Statistics use", `${source(data.source)}${Object.keys(data.sources || {}).length
      ? ` (${Object.entries(data.sources).map(([f, s]) => `${f}: ${source(s)}`).join(", ")})` : ""}`, { class: "source" }],
    ["Study Instance UID", data.study_instance_uid],
  ]),
  el("p", {}, images
    ? el("a", { class: "images", href: `${EXPLORER}#study?uuid=${images.orthanc_study_id}`, target: "_blank", rel: "noopener" },
      "Open the images in Orthanc Explorer")
    : el("span", { class: "images-missing muted" }, "Orthanc has no images of this study (deleted from PACS?)")),
  el("p", {}, el("a", { class: "manual", href: `#/studies/${encodeURIComponent(uid)}/manual` }, "Doses entered by hand")),
  el("h2", {}, "Totals"),
  dataTable({ caption: "Totals its statistics use", columns: [
    { key: "key", label: "Quantity", sort: true, render: (r) => explained(heading(r.key), describe(r.key)), value: (r) => label(r.key) },
    { key: "value", label: "Value", num: true, sort: true,
      render: (r) => besideReported(r.key, r.value, reported(r.key, data.uncorrected_totals), factors) },
  ], rows: totals, empty: "No dose total." }),
  factorsApplied(factors),
  derivedDoses(data.derived_doses),
  data.contrast?.length ? [el("h2", {}, "Contrast media"), dataTable({ id: "contrast", caption: "Each administration once, "
    + "however many images state it; the totals count those of the first source (image headers, else the HIS)", columns: [
    { key: "contrast_agent", label: "Agent", fixed: true, render: (a) => a.contrast_agent ?? "not stated" },
    { key: "contrast_route", label: "Route" },
    ...["contrast_volume_mL", "contrast_total_dose_mL", "contrast_concentration_mg_per_mL", "iodine_mg"].map((key) => ({
      key, label: heading(key), title: describe(key), num: true, render: (a) => value(key, a[key]) })),
    { key: "contrast_ingredient", label: "Ingredient" },
    { key: "contrast_start_time", label: "Start" }, { key: "contrast_stop_time", label: "Stop", hidden: true },
    { key: "source", label: "Source", render: (a) => (a.source === "his" ? "HIS (HL7)" : source(a.source)) },
    { key: "counted", label: "In the totals", render: (a) => (a.counted ? "yes" : "no") },
  ], rows: data.contrast })] : null,
  data.reference_levels?.length ? [el("h2", {}, "Against the DRL and the achievable dose"), dataTable({
    caption: "Levels in force on the study's date", columns: [
      { key: "level", label: "Level", render: (r) => words(r.level) },
      { key: "quantity", label: "Quantity", render: (r) => explained(heading(r.quantity), describe(r.quantity)) },
      { key: "value", label: "Value", num: true, render: (r) => value(r.quantity, r.value) },
      { key: "drl", label: "DRL", num: true, render: (r) => (r.drl ? value(r.quantity, r.drl.value) : "—") },
      { key: "drl_set", label: "DRL set (in force then)", render: (r) => r.drl?.set ?? "—" },
      { key: "value_over_drl", label: "Value / DRL", num: true, render: (r) => ratio(r.value_over_drl) },
      { key: "achievable", label: "Achievable dose", num: true, render: (r) => (r.achievable ? value(r.quantity, r.achievable.value) : "—") },
      { key: "value_over_achievable", label: "Value / achievable", num: true, render: (r) => (r.value_over_achievable == null ? "—" : `${number(r.value_over_achievable, 2)} ×`) },
    ], rows: data.reference_levels })] : null,
  alerts === null ? null : [el("h2", {}, "Alerts"), dataTable({ caption: "Alerts on this study", columns: [
    { key: "severity", label: "Severity", render: (a) => el("span", { class: `badge ${a.severity}` }, a.severity) },
    { key: "status", label: "Status", render: (a) => words(a.status) },
    { key: "rule", label: "Rule", wide: true },
    { key: "message", label: "Why", wide: true },
  ], rows: alerts.alerts, href: (a) => `#/alerts/${a.id}`, empty: "No alert for this study." })],
  el("h2", {}, `Irradiation events (${number(events.length, 0)})`),
  dataTable({ id: `events-${kind}`, caption: "Every parameter the chosen source gives (choose them: Columns)"
      + (factors.length ? "; a corrected value with its factor and the value as reported" : ""),
    columns: eventColumns(events, series, kind, factors), rows: events, pageSize: 100, empty: "No irradiation event." }),
  el("h2", {}, "Records by source"),
  el("ul", {}, Object.entries(data.records_by_source).map(([s, r]) => el("li", {}, `${source(s)}: ${number(r.event_count, 0)} event(s)`))),
  );
}
