// Modality Performed Procedure Steps: what the modalities said they did, and the dose they announced.
import { get } from "../lib/api.js";
import { screen } from "../lib/dom.js";
import { date, dateTime, number, words } from "../lib/format.js";
import { dataTable, fromApi } from "../lib/table.js";

export async function mpps() {
  return screen("MPPS", "Procedure steps the modalities reported (in progress, completed, discontinued) and the dose they carried.",
    dataTable({ id: "mpps", caption: "Performed procedure steps", columns: [
      { key: "performed_date", label: "Date", sort: "performed_date", render: (s) => date(s.performed_date) },
      { key: "state", label: "State", sort: "state", render: (s) => words(s.state) },
      { key: "modality", label: "Modality", sort: "modality" },
      { key: "accession_number", label: "Accession", sort: "accession_number" },
      { key: "patient_id", label: "Patient ID", sort: "patient_id" },
      { key: "calling_ae", label: "Sent by (AE)", sort: "calling_ae" },
      { key: "discontinuation_reason", label: "Why discontinued", wide: true },
      { key: "events", label: "Events", num: true, value: (s) => s.dose_record?.event_count ?? null, render: (s) => number(s.dose_record?.event_count, 0) },
      { key: "ended_at", label: "Ended", sort: "ended_at", hidden: true, render: (s) => dateTime(s.ended_at) },
    ], fetch: fromApi(get, "mpps", "steps"), sort: "performed_date", order: "desc", urlState: true,
    href: (s) => (s.study_instance_uid ? `#/studies/${encodeURIComponent(s.study_instance_uid)}` : "#/mpps"),
    empty: "No procedure step received (MPPS is off or no modality sends it)." }));
}
