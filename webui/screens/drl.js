// DRL sets: national ones with their citations (each value enabled once checked against its source), local sets
// and achievable doses to add to.
import { get, post, put } from "../lib/api.js";
import { el, explained, field, message, refresh, screen, select } from "../lib/dom.js";
import { allQuantities, date, describe, label, number, unit, withUnit, words } from "../lib/format.js";
import { saving } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";
import { params } from "../app.js";
import { can } from "../lib/user.js";

const FALLBACK_QUANTITIES = ["ctdivol_mGy", "total_dlp_mGycm", "dap_Gycm2", "total_dap_Gycm2", "agd_mGy"];

// the patients a value is for: "adult", "paediatric, 15–30 kg"
function group(v) {
  const band = (low, high, u) => (low == null && high == null ? null : `${number(low ?? 0)}–${high == null ? "…" : number(high)} ${u}`);
  return [words(v.patient_group), band(v.age_min_years, v.age_max_years, "years"), band(v.weight_min_kg, v.weight_max_kg, "kg")]
    .filter(Boolean).join(", ");
}

function setForm() {
  const name = el("input", { name: "name", required: true });
  const kind = select("kind", [["local", "local DRL"], ["achievable", "achievable dose"]], "local");
  const from = el("input", { name: "valid_from", type: "date" });
  return saving(el("form", { class: "card" }, el("h2", {}, "New local set"), field("Name", name), field("Kind", kind),
    field("In force from", from), el("button", { type: "submit", class: "save" }, "Create the set")),
  async (key) => {
    const made = await post("drl/sets", { name: name.value, kind: kind.value, valid_from: from.value || null }, { key });
    location.hash = `#/drl?set=${made.id}`;
  });
}

function valueForm(setId, exams) {
  const keys = allQuantities().filter((q) => q.statistic && q.kind === "dose").map((q) => q.key);
  const exam = select("standard_exam_id", [["", "choose…"], ...exams.map((e) => [e.id, `${e.name}${e.modality ? ` (${e.modality})` : ""}`])], "");
  const quantity = select("quantity", (keys.length ? keys : FALLBACK_QUANTITIES).map((k) => [k, `${label(k)}${unit(k) ? ` (${unit(k)})` : ""}`]), "");
  const value = el("input", { name: "value", type: "number", step: "any", min: "0", required: true });
  return saving(el("form", { class: "card" }, el("h2", {}, "Add a value"), field("Standard exam", exam), field("Quantity", quantity),
    field("Value", value, "in the quantity's unit"), el("button", { type: "submit", class: "save" }, "Add the value")),
  async (key) => {
    await post(`drl/sets/${setId}/values`, { standard_exam_id: Number(exam.value), quantity: quantity.value, value: Number(value.value) }, { key });
    refresh();
  });
}

// Enable or disable a value: the reason is asked for beside the button and kept in the audit trail
function switchForm(v) {
  const what = `${v.standard_exam ?? ""} ${label(v.quantity)}`.trim();
  const reason = el("input", { name: "reason", size: 18, placeholder: "why", "aria-label": `Why ${v.enabled ? "disable" : "enable"} ${what}` });
  const status = el("span", { role: "status" });
  return el("form", { class: "inline switch", onsubmit: async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) { status.replaceChildren(message("say why", "error")); reason.focus(); return; }
    const button = event.target.querySelector("button");
    button.disabled = true;
    try {
      await put(`drl/values/${v.id}`, { enabled: !v.enabled, reason: reason.value.trim() });
      refresh();
    } catch (error) {
      status.replaceChildren(message(error.message, "error"));
    } finally { button.disabled = false; }
  } }, reason, el("button", { type: "submit", class: v.enabled ? "secondary" : "" }, v.enabled ? "Disable" : "Enable"), status);
}

export async function drl() {
  const sets = (await get("drl/sets")).sets;
  const selected = Number(params().set) || sets.find((s) => s.enabled)?.id || sets[0]?.id;
  const [detail, exams] = await Promise.all([selected ? get(`drl/sets/${selected}`) : null,
    get("exams", { limit: 1000 }).catch(() => ({ exams: [] }))]);
  const editable = detail && detail.kind !== "national" && can("physicist");
  return screen("Diagnostic reference levels", "The DRL sets with their sources; a national value counts once a physicist enables it after checking it against the source, saying why.",
    dataTable({ id: "drl-sets", caption: "DRL sets", columns: [
      { key: "name", label: "Set", sort: true, wide: true }, { key: "kind", label: "Kind", sort: true, render: (s) => words(s.kind) },
      { key: "status", label: "Status", sort: true, render: (s) => words(s.status) },
      { key: "valid", label: "In force", value: (s) => (s.valid_from || s.valid_to ? `${date(s.valid_from)} – ${s.valid_to ? date(s.valid_to) : "today"}` : "always") },
      { key: "enabled", label: "Enabled", sort: true },
      { key: "source", label: "Source", wide: true, hidden: true },
    ], rows: sets, href: (s) => `#/drl?set=${s.id}`, empty: "No DRL set." }),
    detail ? [el("h2", {}, detail.name), el("p", { class: "muted citation" }, detail.source ?? "No source given."),
      dataTable({ id: "drl-values", caption: `Values of ${detail.name}`, columns: [
        { key: "standard_exam", label: "Standard exam", sort: true, wide: true },
        { key: "patient_group", label: "Patients", sort: true, value: group },
        { key: "quantity", label: "Quantity", sort: true, render: (v) => explained(label(v.quantity), describe(v.quantity)) },
        { key: "value", label: "Value", num: true, sort: true, render: (v) => withUnit(v.quantity, v.value) },
        { key: "verification", label: "Checked", sort: true, render: (v) => words(v.verification) },
        { key: "notes", label: "Notes", wide: true, hidden: true },
        { key: "switched", label: "Why", wide: true, render: (v) => (v.switched
          ? `${v.switched.enabled ? "enabled" : "disabled"} ${date(v.switched.at)} by ${v.switched.by ?? "—"}: ${v.switched.reason ?? "—"}` : "—") },
        { key: "enabled", label: "Enabled", fixed: true, sort: true, render: (v) => (can("physicist") ? switchForm(v) : (v.enabled ? "yes" : "no")) },
      ], rows: detail.values, empty: "No value in this set." })] : null,
    can("physicist") ? el("div", { class: "forms" }, editable ? valueForm(selected, exams.exams) : null, setForm()) : null);
}
