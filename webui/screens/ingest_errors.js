// Ingest errors: the objects Orthanc received that gave no dose record, and why.
import { get } from "../lib/api.js";
import { el, field, screen, select } from "../lib/dom.js";
import { dateTime, words } from "../lib/format.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";

const SOP_CLASSES = { "1.2.840.10008.5.1.4.1.1.88.67": "X-Ray Radiation Dose SR", "1.2.840.10008.5.1.4.1.1.88.68": "Radiopharmaceutical Radiation Dose SR",
  "1.2.840.10008.5.1.4.1.1.88.76": "Enhanced X-Ray Radiation Dose SR", "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture" };

export async function ingestErrors() {
  const status = params().status || "error";
  const pick = select("status", [["error", "errors"], ["ignored", "ignored"], ["error,ignored", "both"]], status,
    { onchange: (e) => { location.hash = `#/ingest-errors?status=${e.target.value}`; } });
  return screen("Ingest errors", "Objects Orthanc stored that gave no dose record: the reason, so the modality or Kerma can be fixed.",
    el("form", { class: "filters", onsubmit: (e) => e.preventDefault() }, field("Show", pick)),
    dataTable({ id: "ingest-errors", caption: "Objects without a dose record", columns: [
      { key: "processed_at", label: "When", sort: "processed_at", render: (r) => dateTime(r.processed_at) },
      { key: "status", label: "Status", sort: "status", render: (r) => words(r.status) },
      { key: "sop_class_uid", label: "Kind of object", sort: "sop_class_uid", render: (r) => SOP_CLASSES[r.sop_class_uid] ?? r.sop_class_uid },
      { key: "reason", label: "Reason", sort: "reason", wide: true },
      { key: "warnings", label: "Warnings", wide: true, value: (r) => r.warnings.join("; ") || "—" },
      { key: "orthanc_id", label: "In Orthanc", render: (r) => (r.deleted_in_pacs_at ? "deleted"
        : el("a", { href: `../../app/explorer.html#instance?uuid=${r.orthanc_id}`, target: "_blank", rel: "noopener" }, "open")) },
    ], fetch: fromApi(get, "ingest-errors", "errors", { status }), sort: "processed_at", order: "desc", urlState: true,
    empty: "Every object gave a dose record." }));
}
