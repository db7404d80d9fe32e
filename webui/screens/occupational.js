// Occupational dose: a dosimetry service's report imported through its column mapping (proposed by Kerma, edited
// here, previewed before anything is stored), and each person's doses over a year against the limits and levels.
import { csvLink, get, post } from "../lib/api.js";
import { el, field, flash, message, refresh as redraw, screen } from "../lib/dom.js";
import { number } from "../lib/format.js";
import { saving } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";

const FIELDS = ["staff_id", "name", "department", "period", "period_start", "period_end", "position", "dosimeter_id", "unit"];
const ESTIMATES = [["occupational_effective_dose_mSv", "Effective dose (mSv)"], ["lens_equivalent_dose_mSv", "Lens (mSv)"],
  ["skin_equivalent_dose_mSv", "Skin (mSv)"], ["extremity_equivalent_dose_mSv", "Extremities (mSv)"]];

const select = (name, choices, chosen) => el("select", { name },
  choices.map(([value, label]) => el("option", { value, selected: value === (chosen ?? "") }, label)));

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// One row per column of the report: what it holds (a field, a dose with its quantity, unit and position, or nothing).
function mappingEditor(vocabulary, preview) {
  const proposed = preview.mapping;
  const positions = [["", "the row's position"], ...vocabulary.positions.map((p) => [p.code, p.label])];
  const rows = preview.header.map((column) => {
    const dose = proposed.doses.find((d) => d.column === column);
    const named = Object.entries(proposed.columns).find(([, columns]) => columns.includes(column));
    const kind = select("kind", [["", "(not read)"], ...FIELDS.map((f) => [f, f]), ["dose", "dose"]],
      dose ? "dose" : named ? named[0] : "");
    const quantity = select("quantity", vocabulary.reading_quantities.map((q) => [q, q]), dose?.quantity);
    const unit = select("unit", [["", "the unit column"], ...Object.keys(vocabulary.units).map((u) => [u, u])], dose?.unit);
    const position = select("position", positions, dose?.position);
    return { column, kind, quantity, unit, position,
      node: el("tr", { dataset: { column } }, el("td", {}, column), el("td", {}, kind), el("td", {}, quantity),
        el("td", {}, unit), el("td", {}, position)) };
  });
  const decimal = select("decimal", [[".", "point"], [",", "comma"]], proposed.decimal);
  const dateFormat = select("date_format", [["", "(none)"], ...vocabulary.date_formats.map((f) => [f, f])], proposed.date_format);
  const defaultPosition = select("default_position", [["", "(none)"], ...positions.slice(1)], proposed.default_position);
  const read = () => {
    const columns = {};
    for (const row of rows.filter((r) => FIELDS.includes(r.kind.value))) (columns[row.kind.value] ||= []).push(row.column);
    return { ...proposed, columns, decimal: decimal.value, date_format: dateFormat.value || null,
      default_position: defaultPosition.value || null,
      doses: rows.filter((r) => r.kind.value === "dose").map((r) => ({ column: r.column, quantity: r.quantity.value,
        unit: r.unit.value || null, position: r.position.value || null })) };
  };
  const node = el("div", { class: "mapping-editor" },
    el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {},
      ["Column", "Holds", "Quantity", "Unit", "Position"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => r.node)))),
    field("Decimal separator", decimal), field("Date format", dateFormat), field("Position when none is given", defaultPosition));
  return { node, read };
}

function previewResult(preview) {
  const rows = preview.rows;
  return el("div", { class: "preview-result" },
    preview.problems.length ? el("ul", { class: "problems" }, preview.problems.map((p) => el("li", {}, p))) : null,
    preview.notes.length ? el("ul", { class: "notes" }, preview.notes.map((n) => el("li", {}, n))) : null,
    rows ? el("p", { class: "counts" }, `${rows.total} rows: ${rows.readings} readings, ${rows.refused} refused, `,
      `${rows.duplicates} already recorded; ${preview.new_people.length} new people.`) : null,
    preview.refused.length ? dataTable({ caption: "Refused rows", rows: preview.refused, columns: [
      { key: "row", label: "Row", num: true, sort: true }, { key: "column", label: "Column", sort: true },
      { key: "value", label: "Value" }, { key: "reason", label: "Reason", wide: true }] }) : null);
}

function importer(vocabulary, refresh) {
  const file = el("input", { type: "file", name: "report", accept: ".csv,.txt,text/csv,text/plain" });
  const service = el("input", { name: "service", placeholder: "the dosimetry service (its mapping is kept)" });
  const onDuplicate = select("on_duplicate", vocabulary.on_duplicate.map((c) => [c, c]), "refuse");
  const editor = el("div", {});
  const result = el("div", { class: "result" });
  let current = null;  // { content, editor }
  const body = async (withMapping) => ({ content_base64: current ? current.content : await base64Of(file.files[0]),
    filename: file.files[0]?.name || null, service: service.value || null,
    ...(withMapping && current?.editor ? { mapping: current.editor.read() } : {}) });
  const preview = async (withMapping) => {
    if (!file.files.length) { result.replaceChildren(message("Choose the report's file first.", "error")); return; }
    try {
      const sent = await body(withMapping);
      const answer = await post("occupational/imports/preview", sent);
      current = { content: sent.content_base64, editor: mappingEditor(vocabulary, answer) };
      editor.replaceChildren(el("h3", {}, "Mapping"), current.editor.node);
      result.replaceChildren(previewResult(answer));
    } catch (e) { result.replaceChildren(message(e.message, "error")); }
  };
  file.addEventListener("change", () => { current = null; editor.replaceChildren(); result.replaceChildren(); });
  // Import is the form's submission (lib/forms.js): one Idempotency-Key per filled-in form, so a double click or
  // Enter pressed twice imports once
  return saving(el("form", { class: "dosimetry-import" },
    el("h2", {}, "Import a dosimetry report"),
    field("Report (CSV)", file), field("Service", service), field("Already recorded", onDuplicate),
    el("button", { type: "button", class: "preview", onclick: () => preview(Boolean(current)) }, "Preview"),
    editor,
    el("button", { type: "submit", class: "import" }, "Import"),
    result), async (key) => {
    if (!current) { await preview(false); return; }
    const done = await post("occupational/imports", { ...(await body(true)), on_duplicate: onDuplicate.value,
      save_mapping: Boolean(service.value) }, { key });
    refresh(`Imported ${done.readings} readings; ${done.refused.length} rows refused; ${done.replaced} replaced; `
      + `${done.new_alerts.length} new alerts.`);
  });
}

export async function occupational() {
  const year = Number(new URLSearchParams(location.hash.split("?")[1] || "").get("year")) || new Date().getFullYear();
  const [vocabulary, summary] = await Promise.all([get("occupational/vocabulary"), get("occupational/summary", { year })]);
  const refresh = (text) => { flash(text); redraw(); };
  const yearInput = el("input", { type: "number", name: "year", value: String(year), min: "1900", max: "2999",
    onchange: (e) => (location.hash = `#/occupational?year=${e.target.value}`) });
  return screen("Occupational dose", "Staff doses from the dosimetry service's reports: import a report (its columns mapped "
    + "and previewed before anything is stored), then each person's doses over a year against the limits and levels.",
    importer(vocabulary, refresh),
    el("h2", {}, `Doses per person, ${summary.window.label}`),
    field("Year", yearInput),
    el("p", {}, summary.note, " Effective dose by ", summary.effective_dose_algorithm, "."),
    summary.summary.length ? dataTable({ caption: "Per person", rows: summary.summary, columns: [
      { key: "staff_id", label: "Staff ID", sort: true }, { key: "name", label: "Name", sort: true },
      { key: "department", label: "Department", sort: true }, { key: "periods", label: "Periods", num: true, sort: true },
      ...ESTIMATES.map(([key, label]) => ({ key, label, num: true, sort: true, render: (r) => number(r[key], 4) })),
      { key: "levels_reached", label: "Levels reached", value: (r) => (r.levels_reached || []).join(", ") || "—" }] })
      : el("p", {}, "No reading in this year."),
    el("p", {}, el("a", { href: csvLink("occupational/summary", { year, pseudonymise: 1 }) }, "CSV, pseudonymised")),
  );
}
