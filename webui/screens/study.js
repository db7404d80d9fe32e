// One study: totals, which source the statistics use, every irradiation event with its parameters, links.
import { get } from "../lib/api.js";
import { el, number, table } from "../lib/dom.js";

const HIDDEN = new Set(["event_id", "image", "source"]);

function eventColumns(events) {
  const keys = new Set();
  for (const e of events) for (const [k, v] of Object.entries(e)) if (v !== null && !HIDDEN.has(k) && typeof v !== "object") keys.add(k);
  return [...keys].map((k) => [k, k]);
}

async function alertsFor(uid) {
  try { return (await get("alerts", { study: uid })).alerts || []; } catch { return null; }
}

export async function study(uid) {
  const [data, alerts] = await Promise.all([get(`studies/${uid}`), alertsFor(uid)]);
  const totals = Object.entries(data.totals).filter(([, v]) => typeof v !== "object").map(([k, v]) => ({ quantity: k, value: v }));
  return el("section", {},
    el("h1", {}, data.study_description || "Study"),
    el("dl", { class: "facts" },
      el("dt", {}, "Patient"), el("dd", {}, `${data.patient.patient_id ?? "—"} ${data.patient.name ?? ""}`),
      el("dt", {}, "Date"), el("dd", {}, data.study_date ?? "—"),
      el("dt", {}, "Accession"), el("dd", {}, data.accession_number ?? "—"),
      el("dt", {}, "Study UID"), el("dd", {}, data.study_instance_uid),
      el("dt", {}, "Statistics use"), el("dd", { class: "source" }, `${data.source ?? "—"}`,
        data.sources ? ` (${Object.entries(data.sources).map(([f, s]) => `${f}: ${s}`).join(", ")})` : ""),
    ),
    el("p", {}, el("a", { class: "images", href: `../../app/explorer.html#study?uuid=${data.orthanc_study_id}`, target: "_blank" },
      "Open the images in Orthanc Explorer")),
    el("h2", {}, "Totals"),
    table(totals, [["quantity", "Quantity"], ["value", "Value", (v) => number(v, 4)]]),
    alerts === null ? null : el("h2", {}, "Alerts"),
    alerts === null ? null : alerts.length ? table(alerts, [["status", "Status"], ["rule", "Rule"], ["message", "Why"]])
      : el("p", {}, "No alert for this study."),
    el("h2", {}, `Irradiation events (${data.events.length})`),
    table(data.events, eventColumns(data.events), { caption: "Every parameter the chosen source gives" }),
    el("h2", {}, "Records by source"),
    el("ul", {}, Object.entries(data.records_by_source).map(([source, r]) =>
      el("li", {}, `${source}: ${r.events.length} event(s)`))),
  );
}
