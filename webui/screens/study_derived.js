// A study's patient dose estimates (GET studies/{uid} -> derived_doses): effective dose with its uncertainty band
// and what it is not, SSDE per CT acquisition with its method and the patient's diameter, peak skin dose with its map.
import { link } from "../lib/api.js";
import { el, explained } from "../lib/dom.js";
import { describe, heading, number, words } from "../lib/format.js";
import { dataTable } from "../lib/table.js";

const POPULATION = "A population estimate for a reference person (ICRP 103), to compare examinations: not this patient's personal risk.";

// "4.2 mSv (3.1–5.3 mSv, ± 25 %)"
function band(v, low, high, relative, unit, decimals) {
  if (v === null || v === undefined) return "not estimated";
  const range = low != null && high != null ? ` (${number(low, decimals)}–${number(high, decimals)} ${unit}, ± ${number(relative * 100, 0)} %)` : "";
  return `${number(v, decimals)} ${unit}${range}`;
}

function effective(row) {
  if (!row) return el("p", { class: "muted" }, "No effective dose yet.");
  return el("div", { class: "effective-dose" },
    el("p", {}, el("strong", {}, "Effective dose: "), el("span", { class: "effective-dose-value" },
      band(row.effective_dose_mSv, row.effective_dose_mSv_low, row.effective_dose_mSv_high, row.uncertainty_relative, "mSv", 2))),
    el("p", { class: "population-estimate" }, POPULATION),
    el("p", { class: "muted" }, row.status === "estimated" ? `Method: ${row.method}` : `Not estimated: ${row.reason}`),
    row.status === "estimated" && row.reason ? el("p", { class: "muted" }, `Assumed: ${row.reason}`) : null);
}

function ssde(rows) {
  if (!rows.length) return null;
  return [el("h3", {}, "Size-specific dose estimate (SSDE)"), dataTable({ caption: "SSDE per CT acquisition", columns: [
    { key: "part", label: "Acquisition", wide: true },
    { key: "method", label: "Method", render: (r) => words(r.method) },
    { key: "diameter_cm", label: "Diameter (cm)", num: true, render: (r) => (r.diameter_cm == null ? "—" : number(r.diameter_cm, 1)) },
    { key: "ctdivol_mGy", label: heading("ctdivol_mGy"), num: true, render: (r) => (r.ctdivol_mGy == null ? "—" : number(r.ctdivol_mGy, 2)) },
    { key: "ssde_mGy", label: explained(heading("ssde_mGy"), describe("ssde_mGy")), num: true,
      render: (r) => (r.ssde_mGy == null ? "—" : band(r.ssde_mGy, r.ssde_mGy_low, r.ssde_mGy_high, r.uncertainty_relative, "mGy", 2)) },
    { key: "reason", label: "Why not / assumed", wide: true, render: (r) => r.reason ?? "" },
  ], rows, empty: "No CT acquisition." })];
}

function skin(rows) {
  if (!rows.length) return null;
  return [el("h3", {}, "Peak skin dose"), ...rows.map((r) => el("div", { class: "skin-dose" },
    el("p", {}, el("strong", {}, "Peak skin dose: "), el("span", { class: "psd-value" },
      band(r.psd_mGy, r.psd_mGy_low, r.psd_mGy_high, r.uncertainty_relative, "mGy", 0)),
    r.kar_total_mGy != null ? ` (Σ Ka,r ${number(r.kar_total_mGy, 0)} mGy)` : ""),
    el("p", { class: "muted" }, r.status === "estimated" ? `Method: ${r.method}` : `Not estimated: ${r.reason}`),
    r.map_png ? el("img", { class: "skin-map", src: link(r.map_png), alt: "Skin dose map of this report" }) : null))];
}

export function derivedDoses(derived) {
  if (!derived) return null;
  return [el("h2", {}, "Patient dose estimates"),
    derived.state === "pending" ? el("p", { class: "muted derived-pending" }, "Being computed…") : null,
    effective(derived.effective_dose), ssde(derived.ssde || []), skin(derived.skin_dose || [])];
}
