// The filterable list of studies.
import { get } from "../lib/api.js";
import { el, field, number, table } from "../lib/dom.js";
import { params } from "../app.js";

const FILTERS = [
  ["date_from", "From", "date"], ["date_to", "To", "date"], ["modality", "Modality", "text"], ["device", "Device", "text"],
  ["standard_exam_id", "Standard exam id", "number"], ["patient_id", "Patient ID", "text"], ["accession", "Accession", "text"],
];

export async function studies() {
  const current = params();
  const data = await get("studies", { limit: 50, ...current });
  const inputs = Object.fromEntries(FILTERS.map(([name, , type]) => [name, el("input", { name, type, value: current[name] || "" })]));
  const aboveDrl = el("input", { type: "checkbox", name: "above_drl", checked: current.above_drl === "1" });
  const form = el("form", {
    class: "filters", onsubmit: (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const [name, input] of Object.entries(inputs)) if (input.value) query.set(name, input.value);
      if (aboveDrl.checked) query.set("above_drl", "1");
      location.hash = `#/studies?${query}`;
    },
  }, FILTERS.map(([name, label]) => field(label, inputs[name])), field("Above DRL only", aboveDrl), el("button", {}, "Filter"));
  const rows = data.studies.map((s) => ({
    ...s, patient_id: s.patient.patient_id, modalities: s.modalities.join(", "),
    devices: s.devices.map((d) => d.station_name || d.model).join(", "),
    dose: Object.entries(s.totals).filter(([k, v]) => typeof v === "number" && /total|activity/.test(k))
      .map(([k, v]) => `${k} ${number(v)}`).join("; "),
  }));
  return el("section", {},
    el("h1", {}, "Studies"), form,
    el("p", {}, `${data.total} studies`),
    table(rows, [["study_date", "Date"], ["patient_id", "Patient ID"], ["accession_number", "Accession"],
      ["study_description", "Description"], ["modalities", "Modality"], ["devices", "Device"], ["source", "Source"],
      ["dose", "Totals"]], { rowLink: (s) => `#/studies/${encodeURIComponent(s.study_instance_uid)}` }),
  );
}
