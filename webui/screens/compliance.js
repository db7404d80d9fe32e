// DRL compliance: per standard exam × device × period, the median and 75th percentile against the DRL in force, the
// ratios and a red/amber/green status (kerma/stats/compliance.py), and the examinations above the DRL behind a row.
import { get } from "../lib/api.js";
import { el, explained, facts, field, screen, select } from "../lib/dom.js";
import { allQuantities, date, describe, heading, label, number, period, quantity, value, withUnit, words } from "../lib/format.js";
import { nameOf } from "../lib/quantities.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";

const MODALITIES = [["", "any"], ["CT", "CT"], ["DX", "DX"], ["MG", "MG"], ["RF", "RF"], ["NM", "NM"]];
const STATUS_FILTERS = [["", "every status"], ["red", "median above the DRL (red)"], ["red,amber", "red and amber"],
  ["amber", "75th percentile above the DRL (amber)"], ["green", "75th percentile at or below (green)"]];
const MEANING = {
  red: "median above the DRL",
  amber: "median at or below the DRL, 75th percentile above it",
  green: "75th percentile at or below the DRL",
};

// the calendar quarter of the browser's today, as a date range
export function thisQuarter() {
  const now = new Date();
  const first = Math.floor(now.getMonth() / 3) * 3;
  const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return { date_from: day(new Date(now.getFullYear(), first, 1)), date_to: day(new Date(now.getFullYear(), first + 3, 0)) };
}

const ratio = (r) => (r == null ? "—" : `${number(r, 2)} ×`);
export const statusBadge = (s) => el("span", { class: `badge ${s}`, title: MEANING[s] }, s);
const named = (key) => (quantity(key) ? nameOf(quantity(key)) : heading(key)); // "DAP (exam, Gy·cm²)"
const group = (g) => words(g ?? "all patients");

export async function compliance() {
  const current = { period: "quarter", ...thisQuarter(), ...params() };
  const query = Object.fromEntries(["period", "date_from", "date_to", "modality", "device_id", "standard_exam_id", "quantity", "status"]
    .filter((k) => current[k]).map((k) => [k, current[k]]));
  const [devices, exams] = await Promise.all([get("devices"), get("exams", { limit: 1000 }).catch(() => ({ exams: [] }))]);
  const doses = allQuantities().filter((q) => q.statistic && q.kind === "dose");
  const form = el("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries(new FormData(event.target).entries());
    location.hash = `#/compliance?${new URLSearchParams(Object.entries(chosen).filter(([, v]) => v))}`;
  } },
  field("Period", select("period", [["month", "month"], ["quarter", "quarter"], ["year", "year"], ["all", "whole range"]], current.period)),
  field("From", el("input", { name: "date_from", type: "date", value: current.date_from || "" })),
  field("To", el("input", { name: "date_to", type: "date", value: current.date_to || "" })),
  field("Status", select("status", STATUS_FILTERS, current.status)),
  field("Quantity", select("quantity", [["", "every quantity with a DRL"], ...doses.map((q) => [q.key, nameOf(q)])], current.quantity)),
  field("Modality", select("modality", MODALITIES, current.modality)),
  field("Device", select("device_id", [["", "any"], ...devices.devices.map((d) => [d.device_id, d.station_name || d.model || d.manufacturer || "unnamed device"])], current.device_id)),
  field("Standard exam", select("standard_exam_id", [["", "any"], ...exams.exams.map((e) => [e.id, e.name])], current.standard_exam_id)),
  el("button", {}, "Show"));
  // the server pages and sorts (worst status first, then the highest median / DRL); each page's answer says how many
  // rows of each status the filters give, for the tiles
  const tiles = el("div", { class: "tiles" });
  const page = fromApi(get, "statistics/compliance", "compliance", query);
  const withTiles = async (asked) => {
    const found = await page(asked);
    tiles.replaceChildren(...found.answer.statuses.map((s) => el("div", { class: "tile" },
      el("div", { class: "figure" }, statusBadge(s), ` ${number(found.answer.counts[s], 0)}`), el("div", { class: "label" }, MEANING[s]))));
    return found;
  };
  return screen("DRL compliance", "Each standard examination on each device per period: the median and 75th percentile against the "
    + "DRL in force. Red: median above the DRL; amber: 75th percentile above it; green: both at or below; \"few\": fewer than "
    + "20 values. Open a row for the examinations above the DRL.",
  form,
  tiles,
  dataTable({ id: "compliance", caption: "DRL compliance", columns: [
    { key: "status", label: "Status", fixed: true, sort: true, render: (r) => statusBadge(r.status) },
    { key: "standard_exam", label: "Standard exam", sort: true },
    { key: "device_name", label: "Device", sort: true },
    { key: "period", label: "Period", sort: true, render: (r) => period(r.period) },
    { key: "patient_group", label: "Patients", sort: true, hidden: true, render: (r) => group(r.patient_group) },
    { key: "quantity", label: "Quantity", sort: true, render: (r) => explained(named(r.quantity), describe(r.quantity)) },
    { key: "n", label: "n", num: true, sort: true, render: (r) => (r.few_values
      ? el("span", { class: "few", title: "Fewer than 20 values: ICRP 135 asks for at least 20 patients (preferably 30) before a median is compared with a DRL." },
        `${number(r.n, 0)} (few)`) : number(r.n, 0)) },
    { key: "median", label: "Median", num: true, sort: true, render: (r) => value(r.quantity, r.median) },
    { key: "p75", label: "75th pct", num: true, sort: true, render: (r) => value(r.quantity, r.p75) },
    { key: "drl", label: "DRL", num: true, sort: true, value: (r) => r.drl.value, render: (r) => value(r.quantity, r.drl.value) },
    { key: "drl_set", label: "DRL set", hidden: true, value: (r) => r.drl.set },
    { key: "median_over_drl", label: "Median / DRL", num: true, sort: true, render: (r) => ratio(r.median_over_drl) },
    { key: "p75_over_drl", label: "75th pct / DRL", num: true, sort: true, render: (r) => ratio(r.p75_over_drl) },
  ], fetch: withTiles, sort: "status", order: "asc", href: aboveLink,
  empty: "No examination with a DRL in force for these filters." }));
}

// the drill-down of a compliance row: its values above the DRL it was compared with
function aboveLink(r) {
  return `#/compliance/above?${new URLSearchParams({ quantity: r.quantity, standard_exam_id: r.standard_exam_id ?? "",
    device_id: r.device_id ?? "", drl_value_id: r.drl_value_id, date_from: r.period_from ?? "", date_to: r.period_to ?? "",
    period: r.period ?? "" })}`;
}

export async function complianceAbove() {
  const current = params();
  const query = Object.fromEntries(["quantity", "standard_exam_id", "device_id", "drl_value_id", "date_from", "date_to"]
    .filter((k) => current[k]).map((k) => [k, current[k]]));
  const data = await get("statistics/above-drl", query);
  const rows = data.above_drl;
  const key = data.quantity;
  const first = rows[0];
  const exposures = quantity(key)?.level === "exposure";
  return screen(`Above the DRL: ${named(key)}`, `Each ${exposures ? "exposure" : "examination"} whose ${label(key)} is above the DRL in force `
    + "on its date, highest ratio first. Open a row for the study.",
  facts([
    ["Standard exam", first?.standard_exam ?? "—"], ["Device", first?.device_name ?? "—"],
    ["Period", current.period ? period(current.period) : `${date(current.date_from)} – ${date(current.date_to)}`],
    ["DRL", first ? `${withUnit(key, first.drl)} (${first.drl_set})` : "—"],
  ]),
  el("p", {}, el("a", { href: "#/compliance" }, "Back to DRL compliance")),
  dataTable({ id: "above-drl", caption: `${named(key)} above the DRL`, columns: [
    { key: "date", label: "Date", sort: true, fixed: true, render: (r) => date(r.date) },
    { key: "standard_exam", label: "Standard exam", sort: true },
    { key: "device_name", label: "Device", sort: true },
    { key: "patient_group", label: "Patients", sort: true, render: (r) => group(r.patient_group) },
    { key: "quantity", label: "Quantity", render: (r) => explained(label(r.quantity), describe(r.quantity)) },
    { key: "value", label: "Value", num: true, sort: true, render: (r) => withUnit(r.quantity, r.value) },
    { key: "drl", label: "DRL", num: true, sort: true, render: (r) => withUnit(r.quantity, r.drl) },
    { key: "ratio", label: "Value / DRL", num: true, sort: true, render: (r) => ratio(r.ratio) },
    { key: "drl_set", label: "DRL set", hidden: true },
  ], rows, sort: "ratio", order: "desc", href: (r) => `#/studies/${encodeURIComponent(r.study_instance_uid)}`,
  empty: "No value above the DRL." }));
}
