// One study: totals, which source the statistics use, every irradiation event with its parameters, links.
import { get } from "../lib/api.js";
import { el, number, table } from "../lib/dom.js";
import { heading, quantities } from "../lib/quantities.js";

const HIDDEN = new Set(["event_id", "image", "source"]);

const EXPLORER = "../../app/explorer.html";

function eventColumns(events, series) {
  const keys = new Set();
  for (const e of events) for (const [k, v] of Object.entries(e)) if (v !== null && !HIDDEN.has(k) && typeof v !== "object") keys.add(k);
  const columns = [...keys].map((k) => [k, k]);
  // an event read from image headers links to the series that holds its images, where Orthanc still has it
  if (events.some((e) => series[e.image?.series_instance_uid])) {
    columns.unshift([(e) => series[e.image?.series_instance_uid], "Images", (s) => s
      ? el("a", { class: "series-images", href: `${EXPLORER}#series?uuid=${s.orthanc_series_id}`, target: "_blank" }, "series")
      : "—"]);
  }
  return columns;
}

// where each value came from: the DICOM header or the HIS (HL7)
function size(patient) {
  const part = (value, unit, source) => value == null ? null : `${number(value, 3)} ${unit}${source ? ` (${source === "his" ? "HIS" : "DICOM header"})` : ""}`;
  return [part(patient.weight_kg, "kg", patient.weight_source), part(patient.height_m, "m", patient.height_source)]
    .filter(Boolean).join(", ") || "—";
}

async function alertsFor(uid) {
  try { return (await get("alerts", { study: uid })).alerts || []; } catch { return null; }
}

// Orthanc's ids are looked up from the Study Instance UID each time the page is shown: a merge or a
// reassignment changes them, so a kept id would lead to a 404
async function imagesOf(uid) {
  try { return await get(`studies/${encodeURIComponent(uid)}/images`); } catch { return null; }
}

export async function study(uid) {
  const [data, alerts, images, known] = await Promise.all([get(`studies/${encodeURIComponent(uid)}`), alertsFor(uid),
    imagesOf(uid), quantities()]);
  const series = Object.fromEntries((images?.series || []).map((s) => [s.series_instance_uid, s]));
  const totals = Object.entries(data.totals).filter(([, v]) => typeof v !== "object")
    .map(([k, v]) => ({ quantity: heading(known, k), value: v }));
  return el("section", {},
    el("h1", {}, data.study_description || "Study"),
    data.deleted_in_pacs_at ? el("p", { class: "deleted-in-pacs" },
      `Deleted in PACS on ${data.deleted_in_pacs_at}: the images are gone, the dose records are kept.`) : null,
    el("dl", { class: "facts" },
      el("dt", {}, "Patient"), el("dd", {}, `${data.patient.patient_id ?? "—"} ${data.patient.name ?? ""}`),
      el("dt", {}, "Weight, height"), el("dd", { class: "size" }, size(data.patient)),
      el("dt", {}, "Date"), el("dd", {}, data.study_date ?? "—"),
      el("dt", {}, "Accession"), el("dd", {}, data.accession_number ?? "—"),
      el("dt", {}, "Study UID"), el("dd", {}, data.study_instance_uid),
      el("dt", {}, "Statistics use"), el("dd", { class: "source" }, `${data.source ?? "—"}`,
        data.sources ? ` (${Object.entries(data.sources).map(([f, s]) => `${f}: ${s}`).join(", ")})` : ""),
    ),
    el("p", {}, images
      ? el("a", { class: "images", href: `${EXPLORER}#study?uuid=${images.orthanc_study_id}`, target: "_blank" },
        "Open the images in Orthanc Explorer")
      : el("span", { class: "images-missing" }, "Orthanc has no images of this study (deleted from PACS?)")),
    el("p", {}, el("a", { class: "manual", href: `#/studies/${encodeURIComponent(uid)}/manual` }, "Doses entered by hand")),
    el("h2", {}, "Totals"),
    table(totals, [["quantity", "Quantity"], ["value", "Value", (v) => number(v, 4)]]),
    data.reference_levels?.length ? el("h2", {}, "Against the DRL and the achievable dose") : null,
    data.reference_levels?.length ? table(data.reference_levels, [["level", "Level"], ["quantity", "Quantity", (k) => heading(known, k)],
      ["value", "Value", (v) => number(v, 4)], [(r) => r.drl?.value, "DRL"], [(r) => r.drl?.set, "DRL set (in force then)"],
      ["value_over_drl", "Value/DRL", (v) => number(v, 2)], [(r) => r.achievable?.value, "Achievable"],
      ["value_over_achievable", "Value/achievable", (v) => number(v, 2)]], { caption: "Levels in force on the study's date" })
      : null,
    alerts === null ? null : el("h2", {}, "Alerts"),
    alerts === null ? null : alerts.length ? table(alerts, [["status", "Status"], ["rule", "Rule"], ["message", "Why"]])
      : el("p", {}, "No alert for this study."),
    el("h2", {}, `Irradiation events (${data.events.length})`),
    table(data.events, eventColumns(data.events, series), { caption: "Every parameter the chosen source gives" }),
    el("h2", {}, "Records by source"),
    el("ul", {}, Object.entries(data.records_by_source).map(([source, r]) =>
      el("li", {}, `${source}: ${r.events.length} event(s)`))),
  );
}
