// Mapping local names to standard exams: what is unmapped, rules with a preview, duplicate protocols.
import { get, post, remove } from "../lib/api.js";
import { el, field, message, table } from "../lib/dom.js";
import { can } from "../lib/user.js";

const OPS = ["contains", "equals", "regex", "range"];

function ruleForm(onSaved, flash) {
  const level = el("select", { name: "level" }, ["exposure", "exam"].map((l) => el("option", { value: l }, l)));
  const modality = el("input", { name: "modality", placeholder: "CT, DX, MG, RF, NM or empty" });
  const fieldName = el("input", { name: "field", value: "protocol" });
  const op = el("select", { name: "op" }, OPS.map((o) => el("option", { value: o }, o)));
  const value = el("input", { name: "value" });
  const exam = el("input", { name: "standard_exam_id", type: "number" });
  const examName = el("input", { name: "exam_name", placeholder: "or a new site exam name" });
  const priority = el("input", { name: "priority", type: "number", value: "100" });
  const result = el("div", { class: "result" }, flash ? message(flash) : null);
  const condition = () => op.value === "range"
    ? { field: fieldName.value, op: "range", min: value.value.split("-")[0] || null, max: value.value.split("-")[1] || null }
    : { field: fieldName.value, op: op.value, value: value.value };
  async function body() {
    let standardExamId = Number(exam.value);
    if (!standardExamId && examName.value) {
      const created = await post("exams", { code: examName.value.toUpperCase().replace(/[^A-Z0-9]+/g, "-"), name: examName.value,
        modality: modality.value || null });
      standardExamId = created.id;
      exam.value = String(created.id);
    }
    return { level: level.value, modality: modality.value || null, priority: Number(priority.value), standard_exam_id: standardExamId,
      conditions: [condition()] };
  }
  const show = (node) => result.replaceChildren(node);
  return el("form", { class: "rule-form", onsubmit: (e) => e.preventDefault() },
    el("h2", {}, "New rule"),
    field("Level", level), field("Modality", modality), field("Field", fieldName), field("Operator", op),
    field("Value (range: min-max)", value), field("Standard exam id", exam), field("New site exam", examName), field("Priority", priority),
    el("button", { type: "button", class: "preview", onclick: async () => {
      try { const p = await post("mapping/preview", await body()); show(message(`Would match ${p.matching_studies} studies`)); }
      catch (e) { show(message(e.message, "error")); }
    } }, "Preview"),
    el("button", { type: "button", class: "save", onclick: async () => {
      try { const r = await post("mapping/rules", await body()); onSaved(`Saved; ${r.remapped_studies} studies re-mapped`); }
      catch (e) { show(message(e.message, "error")); }
    } }, "Save rule"),
    result);
}

export async function mapping() {
  const [unmapped, rules, duplicates] = await Promise.all([
    get("mapping/unmapped", { level: "exposure", suggest: 1, limit: 50 }), get("mapping/rules"), get("mapping/duplicates"),
  ]);
  const refresh = (flash) => {
    if (typeof flash === "string") sessionStorage.setItem("kerma-flash", flash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  };
  const flash = sessionStorage.getItem("kerma-flash");
  sessionStorage.removeItem("kerma-flash");
  return el("section", {},
    el("h1", {}, "Mapping"),
    can("physicist") ? ruleForm(refresh, flash) : null,
    el("h2", {}, "Rules"),
    table(rules.rules, [["id", "#"], ["level", "Level"], ["priority", "Priority"], ["modality", "Modality"],
      ["conditions", "Conditions", (c) => c.map((x) => `${x.field} ${x.op} ${x.value ?? `${x.min ?? ""}–${x.max ?? ""}`}`).join(" and ")],
      ["standard_exam_id", "Standard exam"], ["version", "Version"], ["updated_by", "By"],
      ...(can("physicist") ? [["id", "", (id) => el("button", { class: "delete", onclick: async (e) => { e.stopPropagation(); await remove(`mapping/rules/${id}`); refresh(); } }, "Delete")]] : [])]),
    el("h2", {}, "Not mapped yet (most frequent first)"),
    table(unmapped.unmapped, [["count", "n"], ["modality", "Modality"], ["protocol", "Protocol"], ["target_region", "Region"],
      ["body_part", "Body part"], ["view", "View"],
      ["suggestions", "Suggestions", (s) => (s || []).slice(0, 3).map((x) => `${x.name} (#${x.standard_exam_id})`).join("; ")]]),
    el("h2", {}, "Duplicate protocols"),
    table(duplicates.duplicates, [["device_id", "Device"], ["kind", "Kind"],
      ["protocols", "Protocols", (p) => Object.entries(p).map(([n, c]) => `${n} (${c})`).join(" · ")]]),
  );
}
