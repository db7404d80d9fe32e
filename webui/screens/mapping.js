// Mapping local names to standard exams: a rule form with a preview, the rules, what is not mapped yet (with
// suggestions), and protocols that are one protocol written differently.
import { get, post, remove } from "../lib/api.js";
import { el, field, message, refresh, screen, select } from "../lib/dom.js";
import { dateTime, label, words } from "../lib/format.js";
import { actionButton, saving } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";
import { can } from "../lib/user.js";

const OPS = [["contains", "contains"], ["equals", "equals"], ["regex", "matches (regular expression)"], ["range", "between (numbers)"]];

const condition = (c) => `${label(c.field)} ${words(c.op)} ${c.op === "range" ? `${c.min ?? "…"}–${c.max ?? "…"}` : `"${c.value}"`}`;

function ruleForm(exams) {
  const level = select("level", [["exposure", "each exposure"], ["exam", "the whole study"]], "exposure");
  const modality = select("modality", [["", "any"], ["CT", "CT"], ["DX", "DX"], ["MG", "MG"], ["RF", "RF"], ["NM", "NM"]], "");
  const fieldName = el("input", { name: "field", value: "protocol", list: "mapping-fields" });
  const fields = el("datalist", { id: "mapping-fields" }, ["protocol", "target_region", "body_part", "view", "acquisition_type",
    "study_description", "requested_procedure", "performed_procedure", "procedure_reported", "order_procedure_code",
    "order_procedure_text", "order_clinical_indication", "patient_age_years", "patient_weight_kg", "scan_length_mm"]
    .map((f) => el("option", { value: f }, label(f))));
  const op = select("op", OPS, "contains");
  const value = el("input", { name: "value" });
  const exam = select("standard_exam_id", [["", "choose…"], ...exams.map((e) => [e.id, `${e.name}${e.modality ? ` (${e.modality})` : ""}`])], "");
  const examName = el("input", { name: "exam_name", placeholder: "or a new site exam" });
  const priority = el("input", { name: "priority", type: "number", value: "100" });
  const preview = el("div", { class: "preview-result", role: "status" });
  const condition = () => (op.value === "range"
    ? { field: fieldName.value, op: "range", min: Number(value.value.split("-")[0]) || null, max: Number(value.value.split("-")[1]) || null }
    : { field: fieldName.value, op: op.value, value: value.value });
  // key: the submission's; none for a preview, which matches without a target (any exam stands in; none is created)
  async function body(key) {
    let standardExamId = Number(exam.value);
    if (!standardExamId && !key) standardExamId = exams[0]?.id;
    if (!standardExamId && examName.value) {
      const code = examName.value.toUpperCase().replace(/[^A-Z0-9]+/g, "-").replace(/^-|-$/g, "");
      const created = await post("exams", { code, name: examName.value, modality: modality.value || null }, { key: `${key}-exam` });
      standardExamId = created.id;
    }
    return { level: level.value, modality: modality.value || null, priority: Number(priority.value), standard_exam_id: standardExamId,
      conditions: [condition()] };
  }
  const form = el("form", { class: "card rule-form" }, el("h2", {}, "New rule"),
    el("p", { class: "muted" }, "A rule gives studies or exposures whose field matches a standard exam; the whole history is mapped again when it is saved."),
    field("Applies to", level), field("Modality", modality), field("Field", fieldName, "e.g. protocol, target region"), fields,
    field("Operator", op), field("Value", value, "between: min-max"), field("Standard exam", exam), field("New site exam", examName),
    field("Priority", priority, "lower runs first"),
    el("button", { type: "button", class: "preview secondary", onclick: async () => {
      try { const p = await post("mapping/preview", await body()); preview.replaceChildren(message(`Would match ${p.matching_studies} studies`)); }
      catch (e) { preview.replaceChildren(message(e.message, "error")); }
    } }, "Preview"),
    el("button", { type: "submit", class: "save" }, "Save rule"), preview);
  // a row of the unmapped list as the rule's start: its modality, and its protocol (else target region) as the value
  form.prefill = (row) => {
    const [name, text] = row.protocol ? ["protocol", row.protocol] : ["target_region", row.target_region];
    level.value = "exposure";
    modality.value = row.modality ?? "";
    fieldName.value = name;
    op.value = "equals";
    value.value = text ?? "";
    const suggested = (row.suggestions || []).find((x) => exams.some((e) => e.id === x.standard_exam_id));
    exam.value = suggested ? String(suggested.standard_exam_id) : "";
    form.dispatchEvent(new Event("input")); // a new submission: a new Idempotency-Key
    form.scrollIntoView({ block: "start" });
    exam.focus();
  };
  return saving(form, async (key) => {
    const saved = await post("mapping/rules", await body(key), { key });
    sessionStorage.setItem("kerma-flash", `Saved; ${saved.remapped_studies} studies re-mapped.`);
    refresh();
  });
}

export async function mapping() {
  const [unmapped, rules, duplicates, exams] = await Promise.all([
    get("mapping/unmapped", { level: "exposure", suggest: 1, limit: 200 }), get("mapping/rules"), get("mapping/duplicates"),
    get("exams", { limit: 1000 }).catch(() => ({ exams: [] })),
  ]);
  const form = can("physicist") ? ruleForm(exams.exams) : null;
  const flash = sessionStorage.getItem("kerma-flash");
  sessionStorage.removeItem("kerma-flash");
  return screen("Mapping", "Which local protocol and study names belong to which standard examination: the rules, and what no rule maps yet.",
    flash ? message(flash) : null,
    form,
    el("h2", {}, "Rules"),
    dataTable({ id: "mapping-rules", caption: "Mapping rules, in the order they are tried", columns: [
      { key: "priority", label: "Priority", num: true, sort: true },
      { key: "level", label: "Applies to", sort: true, render: (r) => (r.level === "exam" ? "study" : "exposure") },
      { key: "modality", label: "Modality", sort: true, render: (r) => r.modality ?? "any" },
      { key: "device_name", label: "Device", sort: true, render: (r) => r.device_name ?? "any" },
      { key: "conditions", label: "When", wide: true, value: (r) => r.conditions.map(condition).join(" and ") },
      { key: "standard_exam", label: "Standard exam", sort: true },
      { key: "version", label: "Version", num: true, hidden: true },
      { key: "updated", label: "Changed", hidden: true, value: (r) => `${dateTime(r.updated_at)} by ${r.updated_by ?? "—"}` },
      { key: "invalid", label: "Problem", render: (r) => r.invalid ?? "—", hidden: !rules.rules.some((r) => r.invalid) },
      ...(can("physicist") ? [{ key: "delete", label: "", fixed: true, render: (r) => actionButton("Delete", async () => {
        if (!window.confirm(`Delete the rule "${r.conditions.map(condition).join(" and ")}" → ${r.standard_exam}? The history is mapped again.`)) return;
        await remove(`mapping/rules/${r.id}`);
        refresh();
      }, { class: "danger" }) }] : []),
    ], rows: rules.rules, empty: "No rule yet: studies are not mapped to standard exams." }),
    el("h2", {}, "Not mapped yet (most frequent first)"),
    dataTable({ id: "unmapped", caption: "Exposures without a standard exam", columns: [
      { key: "count", label: "Exposures", num: true, sort: true },
      { key: "modality", label: "Modality", sort: true },
      { key: "device_name", label: "Device", sort: true },
      { key: "protocol", label: "Protocol", sort: true, wide: true },
      { key: "target_region", label: "Target region", sort: true },
      { key: "body_part", label: "Body part", sort: true, hidden: true },
      { key: "view", label: "View", sort: true, hidden: true },
      { key: "suggestions", label: "Suggested exams", wide: true, value: (u) => (u.suggestions || []).slice(0, 3).map((x) => x.name).join("; ") || "—" },
      ...(form ? [{ key: "map", label: "Map", fixed: true, render: (u) => el("button", { type: "button", class: "map secondary",
        "aria-label": `Map ${u.protocol ?? u.target_region ?? "this row"}`, onclick: () => form.prefill(u) }, "Map…") }] : []),
    ], rows: unmapped.unmapped, sort: "count", order: "desc", empty: "Everything is mapped." }),
    el("h2", {}, "Duplicate protocols"),
    dataTable({ caption: "Protocol names on one device that are one protocol written differently", columns: [
      { key: "device_name", label: "Device", sort: true }, { key: "kind", label: "Kind", sort: true },
      { key: "protocols", label: "Protocols (exposures)", wide: true, value: (d) => Object.entries(d.protocols).map(([n, c]) => `${n} (${c})`).join(" · ") },
    ], rows: duplicates.duplicates, empty: "No duplicate protocol names." }),
  );
}
