// Median per standard exam × device over time against the DRL, distributions per device, dose against patient
// weight (computed on the server for the filters), the table, and the ESR exports.
import { csvLink, get } from "../lib/api.js";
import { el, explained, field, screen, select } from "../lib/dom.js";
import { allQuantities, describe, heading, label, number, period, quantity as quantityOf, value, withUnit } from "../lib/format.js";
import { boxPlot, lineChart, scatterChart } from "../lib/charts.js";
import { nameOf } from "../lib/quantities.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";

const CHARTED_EXAMS = 4; // charts for the exams with the most values (statistics/charts); the exam filter shows any other

// The page opens on the last twelve whole months (month-aligned, so the kept month table answers at once).
export function lastTwelveMonths() {
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  return { date_from: from.toISOString().slice(0, 10), date_to: to.toISOString().slice(0, 10) };
}

const LEVEL_NAMES = { exam: "Per examination", exposure: "Per exposure" };

// The quantity select: the radiation quantities kept per month first (the common dose quantities), the contrast media
// (no radiation dose: no DRL compares them), then every other one statistics can use.
function quantitySelect(selected) {
  const known = allQuantities().filter((q) => q.statistic);
  const radiation = known.filter((q) => q.radiation);
  const groups = [["Dose quantities", radiation.filter((q) => q.summarised)],
    ["Contrast media (no radiation dose)", known.filter((q) => !q.radiation)]];
  for (const level of ["exam", "exposure"]) {
    groups.push([`${LEVEL_NAMES[level]}: more`, radiation.filter((q) => !q.summarised && q.level === level)]);
  }
  return el("select", { name: "quantity" }, groups.filter(([, members]) => members.length).map(([text, members]) =>
    el("optgroup", { label: text }, members.map((q) => el("option", { value: q.key, selected: q.key === selected, title: q.description },
      nameOf(q))))));
}

export async function statistics() {
  const current = { quantity: "ctdivol_mGy", period: "month", ...lastTwelveMonths(), ...params() };
  const query = { quantity: current.quantity, period: current.period, modality: current.modality, date_from: current.date_from,
    date_to: current.date_to, device_id: current.device_id, standard_exam_id: current.standard_exam_id };
  // the charts ask for what they draw, the table for one page at a time (sorted by the server)
  const [charted, devices, exams, weight] = await Promise.all([get("statistics/charts", { ...query, exams: CHARTED_EXAMS }),
    get("devices"), get("exams", { limit: 1000 }).catch(() => ({ exams: [] })),
    get("statistics/scatter", { ...query, against: "weight" }).catch(() => null)]);
  const key = charted.quantity;
  const above = current.above_drl === "1"; // the table: only the medians above their DRL, highest ratio first
  const quantity = quantitySelect(key);
  const form = el("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries(new FormData(event.target).entries());
    location.hash = `#/statistics?${new URLSearchParams(Object.entries(chosen).filter(([, v]) => v))}`;
  } },
  field("Quantity", quantity),
  field("Period", select("period", [["month", "month"], ["quarter", "quarter"], ["year", "year"], ["all", "whole range"]], current.period)),
  field("Modality", select("modality", [["", "any"], ["CT", "CT"], ["DX", "DX"], ["MG", "MG"], ["RF", "RF"], ["NM", "NM"]], current.modality)),
  field("Device", select("device_id", [["", "any"], ...devices.devices.map((d) => [d.device_id, d.station_name || d.model || d.manufacturer || "unnamed device"])], current.device_id)),
  field("Standard exam", select("standard_exam_id", [["", "any"], ...exams.exams.map((e) => [e.id, e.name])], current.standard_exam_id)),
  field("From", el("input", { name: "date_from", type: "date", value: current.date_from || "" })),
  field("To", el("input", { name: "date_to", type: "date", value: current.date_to || "" })),
  el("button", {}, "Show"));

  const format = (v) => withUnit(key, v);
  const charts = charted.charts.map((chart) => {
    const exam = chart.standard_exam;
    const { drl, achievable } = chart;
    const lines = [drl ? { value: drl.value, label: `DRL ${format(drl.value)} (${drl.set})` } : null,
      achievable ? { value: achievable.value, label: `achievable ${format(achievable.value)}` } : null].filter(Boolean);
    const name = (s) => s.device_name || "all devices";
    return el("section", { class: "exam-charts", dataset: { exam } },
      el("h2", {}, exam),
      lineChart({ title: `Median ${label(key)} per ${current.period === "all" ? "range" : current.period}`,
        what: `each device a line${chart.devices > chart.series.length ? ` (the ${chart.series.length} of ${number(chart.devices, 0)} devices with the most values; choose a device for any other)` : ""}; the DRL in force dashed`,
        series: chart.series.map((s) => ({ label: name(s), points: s.points.map((p) => ({ x: p.period, xText: period(p.period), y: p.median, n: p.n })) })),
        yTitle: heading(key), format, lines }),
      boxPlot({ title: `Distribution of ${label(key)} per device`, what: "latest period: box 25th–75th percentile, bar the median, whiskers the range",
        boxes: chart.series.map((s) => ({ label: name(s), ...s.points[s.points.length - 1] })), xTitle: heading(key), format, lines }));
  });
  const drlLine = charted.charts.find((c) => c.drl)?.drl;
  return screen("Statistics", "Medians and spreads per standard examination and device, against the diagnostic reference level in force.",
    form,
    el("p", {}, el("a", { href: csvLink("statistics", query), download: "kerma-statistics.csv" }, "Export the table (CSV)"), " · ",
      el("a", { href: csvLink("statistics", { ...query, pseudonymise: 1 }) }, "pseudonymised"), " · ",
      el("a", { href: csvLink("devices", {}) }, "device inventory"), " · ",
      el("a", { href: csvLink("statistics/examinations-per-device", { period: current.period }) }, "examinations per device"), " · ",
      el("a", { href: csvLink("events", { limit: 10000, date_from: current.date_from, date_to: current.date_to }) }, "event list"), " (",
      el("a", { href: csvLink("events", { limit: 10000, date_from: current.date_from, date_to: current.date_to, pseudonymise: 1 }) }, "pseudonymised"), ", ",
      el("a", { href: csvLink("events", { limit: 10000, date_from: current.date_from, date_to: current.date_to, anonymise: 1 }) }, "anonymised"), ")"),
    el("p", { class: "muted" }, explained(`What ${label(key)} is`, describe(key)), charted.exams > CHARTED_EXAMS
      ? ` · charts for the ${CHARTED_EXAMS} of ${number(charted.exams, 0)} examinations with the most values; choose a standard exam for any other.` : ""),
    charts.length ? charts : el("p", {}, "No values for this quantity and these filters."),
    weight && weight.n ? scatterChart({ title: `${label(key)} against patient weight`,
      what: weight.shown < weight.n ? `${number(weight.shown, 0)} of ${number(weight.n, 0)} values, evenly sampled` : `${number(weight.n, 0)} values`,
      points: weight.points, xTitle: "Patient weight (kg)", yTitle: heading(key), format,
      lines: drlLine ? [{ value: drlLine.value, label: `DRL ${format(drlLine.value)}` }] : [] }) : null,
    el("h2", {}, "Table"),
    dataTable({ id: "statistics", caption: quantityOf(key) ? nameOf(quantityOf(key)) : heading(key), columns: [
      { key: "standard_exam", label: "Standard exam", sort: true, render: (r) => r.standard_exam ?? "not mapped" },
      { key: "device_name", label: "Device", sort: true, render: (r) => r.device_name ?? "all devices" },
      { key: "period", label: "Period", sort: true, render: (r) => period(r.period) },
      { key: "n", label: "n", num: true, sort: true },
      ...["median", "mean", "sd", "p25", "p75", "min", "max"].map((k) => ({
        key: k, label: { median: "Median", mean: "Mean", sd: "SD", p25: "25th pct", p75: "75th pct", min: "Min", max: "Max" }[k],
        num: true, sort: true, hidden: ["sd", "min", "max"].includes(k), render: (r) => value(key, r[k]) })),
      { key: "drl", label: "DRL", num: true, sort: true, value: (r) => r.drl?.value ?? null, render: (r) => (r.drl ? value(key, r.drl.value) : "—") },
      { key: "drl_set", label: "DRL set", value: (r) => r.drl?.set ?? null, hidden: true },
      { key: "median_over_drl", label: "Median / DRL", num: true, sort: true, render: (r) => (r.median_over_drl == null ? "—"
        : el("span", { class: `badge ${r.median_over_drl > 1 ? "red" : r.median_over_drl > 0.9 ? "amber" : "green"}` }, `${number(r.median_over_drl, 2)} ×`)) },
      { key: "achievable", label: "Achievable", num: true, hidden: true, value: (r) => r.achievable?.value ?? null },
    ], fetch: fromApi(get, "statistics", "statistics", { ...query, above_drl: above ? 1 : "" }), sort: above ? "median_over_drl" : "n",
    order: "desc", empty: above ? "No median above its DRL." : "No values." }),
  );
}
