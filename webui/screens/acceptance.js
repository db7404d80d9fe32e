// The acceptance kit: per device, which fields it fills, the units and sources it uses, event counts, mapping,
// orders with dose, its gaps and the first studies to check by hand; as a page and a PDF.
import { get, link } from "../lib/api.js";
import { el, explained, facts, screen } from "../lib/dom.js";
import { date, describe, label, number, source, words } from "../lib/format.js";
import { dataTable } from "../lib/table.js";
import { params } from "../app.js";

const percent = (share) => (share === null || share === undefined ? "—" : `${Math.round(100 * share)} %`);
const studyLink = (uid) => el("a", { href: `#/studies/${encodeURIComponent(uid)}` }, "open the study");

function report(r) {
  const d = r.device;
  return [
    el("h2", {}, d.device_name ?? "Unnamed device"),
    el("p", {}, el("a", { href: link(`acceptance/devices/${d.device_id}/pdf`), class: "button", download: "" }, "Download as PDF")),
    facts([["Manufacturer, model", [d.manufacturer, d.model].filter(Boolean).join(" ") || "—"],
      ["Station, serial number", `${d.station_name ?? "—"}, ${d.serial_number ?? "—"}`], ["Modality", words(d.modality)],
      ["Seen", `${date(d.first_seen)} – ${date(d.last_seen)}`], ["Studies", number(r.studies, 0)], ["Records", number(r.records, 0)],
      ["Sources", r.sources.map((s) => `${source(s.source)} (${number(s.records, 0)})`).join(", ") || "—"],
      ["With a standard exam", `${number(r.mapping.studies_mapped, 0)} of ${number(r.mapping.studies, 0)} studies (${percent(r.mapping.share_studies)})`],
      ["Performed orders with dose", `${number(r.orders.with_dose, 0)} of ${number(r.orders.performed, 0)} (${percent(r.orders.share_with_dose)})`],
      ["Event counts", `${number(r.event_counts.studies_checked, 0)} studies with a dose report checked, ${number(r.event_counts.inconsistent, 0)} disagree`]]),
    el("h3", {}, "Gaps"),
    r.gaps.length ? el("ul", { class: "gaps" }, r.gaps.map((g) => el("li", {}, g))) : el("p", {}, "No gap found."),
    dataTable({ id: "acceptance-fields", caption: "Fields filled across the device's studies", columns: [
      { key: "field", label: "Field", sort: true, wide: true, render: (f) => explained(label(f.field), describe(f.field)) },
      { key: "level", label: "Where", sort: true, render: (f) => (f.level === "event" ? "each event" : "report totals") },
      { key: "fill", label: "Filled", sort: true },
      { key: "filled_studies", label: "Studies", num: true, sort: true, render: (f) => `${number(f.filled_studies, 0)} of ${number(f.studies, 0)}` },
      { key: "units_seen", label: "Units written", value: (f) => f.units_seen.join(", ") || "—" },
      { key: "why", label: "Needed for", wide: true, render: (f) => f.why ?? "—" },
    ], rows: r.fields, empty: "No field." }),
    dataTable({ id: "acceptance-events", caption: "Studies whose event counts disagree", columns: [
      { key: "study_date", label: "Date", sort: true, render: (s) => date(s.study_date) },
      { key: "why", label: "Why", wide: true },
      { key: "open", label: "Study", fixed: true, render: (s) => studyLink(s.study_instance_uid) },
    ], rows: r.event_counts.studies, empty: "None: every report holds the events it states." }),
    dataTable({ id: "acceptance-software", caption: "Software versions", columns: [
      { key: "software_versions", label: "Software", wide: true }, { key: "records", label: "Records", num: true, render: (v) => number(v.records, 0) },
      { key: "first_study_date", label: "First study", render: (v) => date(v.first_study_date) },
    ], rows: r.software_versions, empty: "None stated." }),
    dataTable({ id: "acceptance-check", caption: "Studies to check by hand first", columns: [
      { key: "study_date", label: "Date", render: (s) => date(s.study_date) }, { key: "why", label: "Why", wide: true },
      { key: "open", label: "Study", fixed: true, render: (s) => studyLink(s.study_instance_uid) },
    ], rows: r.first_to_check, empty: "No study yet." }),
  ];
}

export async function acceptance() {
  const device = Number(params().device) || null;
  const [list, one] = await Promise.all([get("acceptance/devices"), device ? get(`acceptance/devices/${device}`) : null]);
  return screen("Acceptance", "What each device really sends: the fields it fills, units, sources, event counts, mapping and orders with dose, its gaps and the studies to check by hand. Open a device.",
    dataTable({ id: "acceptance-devices", caption: "Devices", columns: [
      { key: "device_name", label: "Device", sort: true, wide: true },
      { key: "modality", label: "Modality", sort: true },
      { key: "studies", label: "Studies", num: true, sort: true, render: (d) => number(d.studies, 0) },
      { key: "first_seen", label: "First seen", sort: true, render: (d) => date(d.first_seen) },
      { key: "last_seen", label: "Last seen", sort: true, render: (d) => date(d.last_seen) },
    ], rows: list.devices, href: (d) => `#/acceptance?device=${d.device_id}`, empty: "No device yet." }),
    one ? report(one) : null);
}
