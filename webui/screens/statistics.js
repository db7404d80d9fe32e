// Median per standard exam × device over time against the DRL, distributions, dose against patient size, ESR tables.
import { csvLink, get } from "../lib/api.js";
import { el, field, number, table } from "../lib/dom.js";
import { boxPlot, medianChart, scatter } from "../lib/charts.js";
import { nameOf, quantities } from "../lib/quantities.js";
import { params } from "../app.js";

const LEVEL_NAMES = { exam: "Per examination", exposure: "Per exposure" };

// The quantity select: those kept per month first (the common dose quantities), then every other one statistics can use.
function quantitySelect(known, selected) {
  const groups = [["Dose quantities", known.filter((q) => q.summarised)]];
  for (const level of ["exam", "exposure"]) {
    groups.push([`${LEVEL_NAMES[level]}: more`, known.filter((q) => !q.summarised && q.level === level)]);
  }
  return el("select", { name: "quantity" }, groups.filter(([, members]) => members.length).map(([label, members]) =>
    el("optgroup", { label }, members.map((q) => el("option", { value: q.key, selected: q.key === selected, title: q.description },
      nameOf(q))))));
}

// The page opens on the last twelve whole months (month-aligned, so the kept month table answers at once).
function lastTwelveMonths() {
  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  return { date_from: from.toISOString().slice(0, 10), date_to: to.toISOString().slice(0, 10) };
}

export async function statistics() {
  const current = { quantity: "ctdivol_mGy", period: "month", ...lastTwelveMonths(), ...params() };
  const query = { quantity: current.quantity, period: current.period, modality: current.modality, date_from: current.date_from,
    date_to: current.date_to };
  const [data, devices, vocabulary] = await Promise.all([get("statistics", query), get("devices"), quantities()]);
  const known = [...vocabulary.values()].filter((q) => q.statistic);
  const deviceName = Object.fromEntries(devices.devices.map((d) => [d.device_id, d.station_name || d.model || `#${d.device_id}`]));
  const shown = vocabulary.get(data.quantity) || { key: data.quantity, label: data.quantity, level: data.level };
  const quantity = quantitySelect(known, current.quantity);
  const period = el("select", { name: "period" }, ["month", "quarter", "year", "all"].map((p) => el("option", { value: p, selected: p === current.period }, p)));
  const modality = el("input", { name: "modality", value: current.modality || "" });
  const dateFrom = el("input", { name: "date_from", type: "date", value: current.date_from || "" });
  const dateTo = el("input", { name: "date_to", type: "date", value: current.date_to || "" });
  const form = el("form", {
    class: "filters", onsubmit: (event) => {
      event.preventDefault();
      location.hash = `#/statistics?${new URLSearchParams({ quantity: quantity.value, period: period.value, modality: modality.value,
        date_from: dateFrom.value, date_to: dateTo.value })}`;
    },
  }, field("Quantity", quantity), field("Period", period), field("Modality", modality), field("From", dateFrom),
  field("To", dateTo), el("button", {}, "Show"));

  const byExam = new Map();
  for (const row of data.statistics) {
    const key = row.standard_exam || "(not mapped)";
    if (!byExam.has(key)) byExam.set(key, []);
    byExam.get(key).push(row);
  }
  const charts = [...byExam.entries()].map(([exam, rows]) => {
    const series = new Map();
    for (const r of rows) {
      const label = deviceName[r.device_id] || "all devices";
      if (!series.has(label)) series.set(label, []);
      series.get(label).push([r.period, r.median]);
    }
    const drl = rows.find((r) => r.drl)?.drl?.value ?? null;
    const latest = new Map();
    for (const r of rows) latest.set(deviceName[r.device_id] || "all devices", r);
    return el("figure", { class: "exam-chart", dataset: { exam } },
      medianChart([...series.entries()].map(([label, points]) => ({ label, points })), drl,
        { title: `${exam}: median ${shown.label}`, unit: shown.unit_display || "" }),
      boxPlot([...latest.entries()].map(([label, r]) => ({ label, ...r })), { title: "Distribution per device (latest period)" }),
    );
  });
  const events = data.level === "exposure" ? await get("events", { limit: 2000, modality: current.modality }) : null;
  const sized = (events?.events || []).filter((e) => e.patient_weight_kg && e[data.quantity] != null)
    .map((e) => ({ x: e.patient_weight_kg, y: e[data.quantity] }));
  return el("section", {},
    el("h1", {}, "Statistics"), form,
    el("p", {}, el("a", { href: csvLink("statistics", query), download: "kerma-statistics.csv" }, "Export CSV"), " · ",
      el("a", { href: csvLink("statistics", { ...query, pseudonymise: 1 }) }, "CSV (pseudonymised)"), " · ",
      el("a", { href: csvLink("devices", {}) }, "Device inventory CSV"), " · ",
      el("a", { href: csvLink("statistics/examinations-per-device", { period: current.period }) }, "Examinations per device CSV"), " · ",
      el("a", { href: csvLink("events", { limit: 10000 }) }, "Event list CSV"), " (",
      el("a", { href: csvLink("events", { limit: 10000, pseudonymise: 1 }) }, "pseudonymised"), ", ",
      el("a", { href: csvLink("events", { limit: 10000, anonymise: 1 }) }, "anonymised"), ")"),
    charts.length ? charts : el("p", {}, "No values for this quantity yet."),
    sized.length ? scatter(sized, { title: `${shown.label} against patient weight`, xLabel: "weight (kg)", yLabel: nameOf(shown) }) : null,
    table(data.statistics, [["standard_exam", "Standard exam"], ["device_id", "Device", (id) => deviceName[id] || "—"],
      ["period", "Period"], ["n", "n"], ["median", "Median"], ["mean", "Mean"], ["sd", "SD"], ["p25", "P25"], ["p75", "P75"],
      ["min", "Min"], ["max", "Max"], [(r) => r.drl?.value, "DRL"], [(r) => r.drl?.set, "DRL set"],
      ["median_over_drl", "Median/DRL", (v) => number(v, 2)], [(r) => r.achievable?.value, "Achievable"],
      ["median_over_achievable", "Median/achievable", (v) => number(v, 2)]],
    { caption: nameOf(shown) }),
  );
}
