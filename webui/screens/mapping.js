// Mapping local names to standard exams: a rule form with a preview, the rules, what is not mapped yet (with
// suggestions), and protocols that are one protocol written differently.
import { get, post, put, remove } from "../lib/api.js";
import { el, field, flash, message, refresh, screen, select } from "../lib/dom.js";
import { dateTime, label, number, words } from "../lib/format.js";
import { actionButton, saving } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";
import { can } from "../lib/user.js";

const OPS = [["contains", "contains"], ["equals", "equals"], ["regex", "matches (regular expression)"], ["range", "between (numbers)"]];

const condition = (c) => `${label(c.field)} ${words(c.op)} ${c.op === "range" ? `${c.min ?? "…"}–${c.max ?? "…"}` : `"${c.value}"`}`;

const LEVEL_NAMES = { exam: "a study", exposure: "an exposure" };

function ruleForm(exams, fieldNames) {
  const level = select("level", [["exposure", "each exposure"], ["exam", "the whole study"]], "exposure");
  const modality = select("modality", [["", "any"], ["CT", "CT"], ["DX", "DX"], ["MG", "MG"], ["RF", "RF"], ["NM", "NM"]], "");
  const fieldName = el("input", { name: "field", value: "protocol", list: "mapping-fields", autocomplete: "off" });
  const fields = el("datalist", { id: "mapping-fields" });
  // the fields a rule of the chosen level can test (GET mapping/fields): offered, and a name not among them refused here
  const offer = () => {
    fields.replaceChildren(...(fieldNames[level.value] || []).map((f) => el("option", { value: f }, label(f))));
    checkField();
  };
  const checkField = () => fieldName.setCustomValidity(!fieldNames[level.value] || fieldNames[level.value].includes(fieldName.value.trim())
    ? "" : `"${fieldName.value}" is no field of ${LEVEL_NAMES[level.value]}: choose one from the list`);
  level.addEventListener("change", offer);
  fieldName.addEventListener("input", checkField);
  const op = select("op", OPS, "contains");
  const value = el("input", { name: "value" });
  const exam = select("standard_exam_id", [["", "choose…"], ...exams.map((e) => [e.id, `${e.name}${e.modality ? ` (${e.modality})` : ""}`])], "");
  const examName = el("input", { name: "exam_name", placeholder: "or a new site exam" });
  const priority = el("input", { name: "priority", type: "number", value: "100" });
  const preview = el("div", { class: "preview-result", role: "status" });
  const title = el("h2", {}, "New rule");
  const saveButton = el("button", { type: "submit", class: "save" }, "Save rule");
  let editing = null; // the rule being changed, else a new one
  const cancel = el("button", { type: "button", class: "secondary cancel-edit", hidden: true, onclick: () => refresh() }, "Cancel editing");
  const condition = () => (op.value === "range"
    ? { field: fieldName.value.trim(), op: "range", min: Number(value.value.split("-")[0]) || null, max: Number(value.value.split("-")[1]) || null }
    : { field: fieldName.value.trim(), op: op.value, value: value.value });
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
  const form = el("form", { class: "card rule-form", novalidate: true }, title,
    el("p", { class: "muted" }, "A rule gives studies or exposures whose field matches a standard exam; the whole history is mapped again when it is saved, "
      + "and the alert rules run again over the studies whose exam changed."),
    field("Applies to", level), field("Modality", modality), field("Field", fieldName, "e.g. protocol, target region"), fields,
    field("Operator", op), field("Value", value, "between: min-max"), field("Standard exam", exam), field("New site exam", examName),
    field("Priority", priority, "lower runs first"),
    el("button", { type: "button", class: "preview secondary", onclick: async () => {
      try { const p = await post("mapping/preview", await body()); preview.replaceChildren(message(`Would match ${p.matching_studies} studies`)); }
      catch (e) { preview.replaceChildren(message(e.message, "error")); }
    } }, "Preview"),
    saveButton, cancel, preview);
  offer();
  // a row of the unmapped list as the rule's start: its modality and the condition that maps it (its protocol, else
  // target region; localisers by their names), with the first suggested exam
  form.prefill = (row) => {
    const c = row.condition || { field: "protocol", op: "equals", value: row.protocol ?? "" };
    level.value = "exposure";
    offer();
    modality.value = row.modality ?? "";
    fieldName.value = c.field;
    op.value = c.op;
    value.value = c.value ?? "";
    const suggested = (row.suggestions || []).find((x) => exams.some((e) => e.id === x.standard_exam_id));
    exam.value = suggested ? String(suggested.standard_exam_id) : "";
    checkField();
    form.dispatchEvent(new Event("input")); // a new submission: a new Idempotency-Key
    form.scrollIntoView({ block: "start" });
    exam.focus();
  };
  // a saved rule into the form, to change it (its first condition; the others are kept)
  form.edit = (rule) => {
    editing = rule;
    const [c] = rule.conditions;
    level.value = rule.level;
    offer();
    modality.value = rule.modality ?? "";
    fieldName.value = c.field;
    op.value = c.op;
    value.value = c.op === "range" ? `${c.min ?? ""}-${c.max ?? ""}` : c.value;
    exam.value = String(rule.standard_exam_id);
    priority.value = String(rule.priority);
    title.textContent = `Change the rule for ${rule.standard_exam ?? "its exam"}`;
    saveButton.textContent = "Save changes";
    cancel.hidden = false;
    checkField();
    form.scrollIntoView({ block: "start" });
    fieldName.focus();
  };
  return saving(form, async (key) => {
    checkField();
    if (!fieldName.reportValidity()) throw new Error(fieldName.validationMessage);
    let saved;
    if (editing) {
      if (!window.confirm(`Change the rule → ${editing.standard_exam}? The whole history is mapped again.`)) return "Not changed.";
      const changed = await body(key);
      saved = await put(`mapping/rules/${editing.id}`, { ...changed, conditions: [changed.conditions[0], ...editing.conditions.slice(1)] });
    } else {
      saved = await post("mapping/rules", await body(key), { key });
    }
    flash(remapped(saved));
    refresh();
    return null;
  });
}

// "Saved; 2,061 studies re-mapped, 12 changed exam, 3 new alerts."
const remapped = (answer) => `Saved; ${number(answer.remapped_studies, 0)} studies re-mapped, ${number(answer.changed_studies ?? 0, 0)} `
  + `changed exam, ${number(answer.new_alerts ?? 0, 0)} new alerts.`;

// the devices a row comes from: "CT001 (12) · CT007 (3)"
const fromDevices = (u) => (u.devices || []).map((d) => `${d.device_name ?? "unnamed device"} (${number(d.count, 0)})`).join(" · ") || "—";
// a row's name: its protocol, or for localisers each name with its count
const protocolOf = (u) => (u.localiser
  ? `Localisers: ${Object.entries(u.protocols || {}).map(([n, c]) => `${n} (${number(c, 0)})`).join(", ")}` : u.protocol);

export async function mapping() {
  const [unmapped, rules, duplicates, exams, fieldNames] = await Promise.all([
    get("mapping/unmapped", { level: "exposure", suggest: 1, limit: 200 }), get("mapping/rules"), get("mapping/duplicates"),
    get("exams", { limit: 1000 }).catch(() => ({ exams: [] })), get("mapping/fields").catch(() => ({})),
  ]);
  const form = can("physicist") ? ruleForm(exams.exams, fieldNames) : null;
  const reevaluate = can("physicist") ? el("p", {}, actionButton("Re-evaluate alerts", async (button) => {
    const done = await post("alerts/evaluate", {});
    button.after(message(`${number(done.studies, 0)} studies evaluated, ${number(done.new_alerts, 0)} new alerts.`));
  }, { class: "secondary reevaluate" }), " ", el("span", { class: "muted" }, "Runs every alert rule over all studies again "
    + "(saving a rule already does it for the studies whose exam changed).")) : null;
  return screen("Mapping", "Which local protocol and study names belong to which standard examination: the rules, and what no rule maps yet.",
    form, reevaluate,
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
      ...(form ? [{ key: "change", label: "Change", fixed: true, render: (r) => el("span", { class: "actions" },
        el("button", { type: "button", class: "edit secondary", "aria-label": `Edit the rule for ${r.standard_exam ?? "its exam"}`,
          onclick: () => form.edit(r) }, "Edit"),
        actionButton("Delete", async () => {
          if (!window.confirm(`Delete the rule "${r.conditions.map(condition).join(" and ")}" → ${r.standard_exam}? The history is mapped again.`)) return;
          flash(remapped(await remove(`mapping/rules/${r.id}`)).replace("Saved", "Deleted"));
          refresh();
        }, { class: "danger", "aria-label": `Delete the rule for ${r.standard_exam ?? "its exam"}` })) }] : []),
    ], rows: rules.rules, empty: "No rule yet: studies are not mapped to standard exams." }),
    el("h2", {}, "Not mapped yet (most frequent first)"),
    dataTable({ id: "unmapped", caption: "Exposures without a standard exam", columns: [
      { key: "count", label: "Exposures", num: true, sort: true },
      { key: "modality", label: "Modality", sort: true },
      { key: "devices", label: "Devices (exposures)", wide: true, value: fromDevices },
      { key: "protocol", label: "Protocol", sort: true, wide: true, value: protocolOf },
      { key: "target_region", label: "Target region", sort: true },
      { key: "body_part", label: "Body part", sort: true, hidden: true },
      { key: "view", label: "View", sort: true, hidden: true },
      { key: "suggestions", label: "Suggested exams", wide: true, value: (u) => (u.suggestions || []).slice(0, 3).map((x) => x.name).join("; ") || "—" },
      ...(form ? [{ key: "map", label: "Map", fixed: true, render: (u) => el("button", { type: "button", class: "map secondary",
        "aria-label": `Map ${u.localiser ? "the localisers" : u.protocol ?? u.target_region ?? "this row"}`, onclick: () => form.prefill(u) }, "Map…") }] : []),
    ], rows: unmapped.unmapped, sort: "count", order: "desc", empty: "Everything is mapped." }),
    el("h2", {}, "Duplicate protocols"),
    dataTable({ caption: "Protocol names on one device that are one protocol written differently", columns: [
      { key: "device_name", label: "Device", sort: true }, { key: "kind", label: "Kind", sort: true },
      { key: "protocols", label: "Protocols (exposures)", wide: true, value: (d) => Object.entries(d.protocols).map(([n, c]) => `${n} (${c})`).join(" · ") },
    ], rows: duplicates.duplicates, empty: "No duplicate protocol names." }),
  );
}
