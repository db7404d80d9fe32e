// HL7 from the HIS/RIS: the messages received, the orders they made, and patient merges (with undo).
import { get, post } from "../lib/api.js";
import { el, refresh, screen } from "../lib/dom.js";
import { date, dateTime, words } from "../lib/format.js";
import { actionButton } from "../lib/forms.js";
import { dataTable, fromApi } from "../lib/table.js";
import { can } from "../lib/user.js";

export async function hl7() {
  return screen("HL7 messages", "What the HIS and RIS sent: orders (ORM/OMI), patient updates and merges (ADT), and how Kerma answered.",
    dataTable({ id: "hl7-messages", caption: "Messages received", columns: [
      { key: "received_at", label: "Received", sort: "received_at", render: (m) => dateTime(m.received_at) },
      { key: "message_type", label: "Type", sort: "message_type" },
      { key: "sending_application", label: "From", sort: "sending_application",
        value: (m) => [m.sending_application, m.sending_facility].filter(Boolean).join(" · ") || null },
      { key: "ack_code", label: "Answer", sort: "ack_code" },
      { key: "outcome", label: "Outcome", wide: true, render: (m) => words(m.outcome) },
      { key: "error", label: "Error", wide: true },
      { key: "control_id", label: "Control ID", sort: "control_id", hidden: true },
    ], fetch: fromApi(get, "hl7/messages", "messages"), sort: "received_at", order: "desc", empty: "No HL7 message received." }),
    el("h2", {}, "Orders"),
    dataTable({ id: "hl7-orders", caption: "Imaging orders", columns: [
      { key: "scheduled_at", label: "Scheduled", sort: "scheduled_at", render: (o) => dateTime(o.scheduled_at) },
      { key: "accession_number", label: "Accession", sort: "accession_number" },
      { key: "patient_id", label: "Patient ID", sort: "patient_id" },
      { key: "modality", label: "Modality", sort: "modality" },
      { key: "procedure", label: "Procedure", sort: "procedure", wide: true, value: (o) => o.procedure?.text ?? o.procedure?.code ?? null },
      { key: "status", label: "Status", sort: "status", render: (o) => words(o.status) },
      { key: "clinical_indication", label: "Indication", wide: true, hidden: true },
    ], fetch: fromApi(get, "hl7/orders", "orders"), sort: "scheduled_at", order: "desc", empty: "No order." }),
    el("h2", {}, "Patient merges"),
    dataTable({ id: "hl7-merges", caption: "Patients merged by the HIS", columns: [
      { key: "at", label: "When", sort: "at", render: (m) => dateTime(m.at) },
      { key: "kind", label: "Kind", sort: "kind", render: (m) => words(m.kind) },
      { key: "survivor_patient_id", label: "Kept patient", sort: "survivor_patient_id" },
      { key: "merged_patient_id", label: "Merged patient", sort: "merged_patient_id" },
      { key: "moved", label: "Moved", value: (m) => `${m.study_count} studies, ${m.order_count} orders` },
      { key: "undone_at", label: "Undone", sort: "undone_at", render: (m) => (m.undone_at ? `${date(m.undone_at)} by ${m.undone_by}`
        : can("admin") ? actionButton("Undo", async () => {
          if (!window.confirm(`Undo the merge of ${m.merged_patient_id} into ${m.survivor_patient_id}?`)) return;
          await post(`hl7/merges/${m.id}/undo`, { note: "undone from the UI" });
          refresh();
        }) : "—") },
    ], fetch: fromApi(get, "hl7/merges", "merges"), sort: "at", order: "desc", empty: "No merge." }));
}
