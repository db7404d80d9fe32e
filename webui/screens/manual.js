// Doses entered by hand (paper, a device's display): the form, the study's entries with correction and deletion
// (each with a reason), and their history. A value outside its quantity's usual range is saved only once confirmed.
import { get, post, put, remove } from "../lib/api.js";
import { el, field, flash, message, screen } from "../lib/dom.js";
import { saving } from "../lib/forms.js";
import { can } from "../lib/user.js";
import { heading, quantities as knownQuantities } from "../lib/quantities.js";

const FAMILY = { CT: "CT", MG: "MG", CR: "DX", DX: "DX", PX: "DX", IO: "DX", XA: "RF", RF: "RF", NM: "NM", PT: "NM" };
const OTHER = "other";

const shown = (v) => (typeof v === "number" ? String(Number(v.toPrecision(6))) : v ?? "—");
const cell = (...content) => el("td", {}, ...content);
const levelOf = (x) => (x.level === "report" ? "examination" : "one exposure");

// a datetime-local value is the browser's local time: sent with its offset (as UTC)
function moment(local) { return local ? new Date(local).toISOString() : null; }

function localNow() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

async function studyOf(uid) {
  if (!uid) return null;
  try { return await get(`studies/${encodeURIComponent(uid)}`); } catch (error) { if (error.status === 404) return null; throw error; }
}

function deviceName(d) {
  return [d.station_name, [d.manufacturer, d.model].filter(Boolean).join(" ")].filter(Boolean).join(" · ") || `device ${d.id ?? d.device_id}`;
}

function entryForm(uid, known, modalityNow, quantities, devices, done) {
  const q = Object.fromEntries(quantities.quantities.map((x) => [x.key, x]));
  const input = (name, attributes = {}) => el("input", { name, ...attributes });
  const uidInput = input("study_instance_uid", { value: uid || "", required: true, size: 50 });
  const studyDate = input("study_date", { type: "date" });
  const patientId = input("patient_id");
  const accession = input("accession_number");
  const modality = el("select", { name: "modality" }, quantities.modalities.map((m) =>
    el("option", { value: m, selected: m === modalityNow }, m)));
  const quantity = el("select", { name: "quantity" });
  const value = input("value", { type: "number", step: "any", required: true, inputmode: "decimal" });
  const unit = el("select", { name: "unit" });
  const usual = el("small", { class: "usual" });
  const when = input("performed_at", { type: "datetime-local", value: localNow(), required: true });
  const who = input("performed_by", { placeholder: "the operator" });
  const device = el("select", { name: "device_id" },
    devices.map((d) => el("option", { value: d.device_id }, deviceName(d))), el("option", { value: OTHER }, "Another device…"));
  const manufacturer = input("manufacturer"), model = input("model"), station = input("station_name");
  const newDevice = el("div", { class: "new-device" }, field("Manufacturer", manufacturer), field("Model", model),
    field("Station name", station));
  const note = input("note");
  const confirm = input("confirm_outlier", { type: "checkbox" });
  const confirmation = el("div", { class: "confirmation", hidden: true }, field("The value is right: keep it", confirm));

  const fillQuantities = () => {
    const family = FAMILY[modality.value];
    const fitting = quantities.quantities.filter((x) => x.families.includes(family));
    quantity.replaceChildren(...fitting.map((x) => el("option", { value: x.key }, `${x.label} (${levelOf(x)})`)));
    fillUnits();
  };
  const fillUnits = () => {
    const chosen = q[quantity.value];
    unit.replaceChildren(...(chosen ? chosen.units : []).map((u) => el("option", { value: u }, u)));
    usual.textContent = chosen ? `usual ${chosen.usual.min}–${chosen.usual.max} ${chosen.unit}` : "";
  };
  const showDevice = () => { newDevice.hidden = device.value !== OTHER; };
  modality.addEventListener("change", fillQuantities);
  quantity.addEventListener("change", fillUnits);
  device.addEventListener("change", showDevice);
  // a changed value is a new question: it needs its own confirmation
  for (const changed of [value, unit, quantity]) changed.addEventListener("input", () => { confirm.checked = false; confirmation.hidden = true; });
  fillQuantities();
  showDevice();

  const body = () => {
    const data = {
      quantity: quantity.value, value: Number(value.value), unit: unit.value, modality: modality.value,
      performed_at: moment(when.value), performed_by: who.value.trim() || null, note: note.value.trim() || null,
      confirm_outlier: confirm.checked,
    };
    if (device.value === OTHER) {
      data.device = { manufacturer: manufacturer.value.trim() || null, model: model.value.trim() || null,
        station_name: station.value.trim() || null };
    } else data.device_id = Number(device.value);
    if (!known) {
      data.study_date = studyDate.value || null;
      data.patient_id = patientId.value.trim() || null;
      data.accession_number = accession.value.trim() || null;
    }
    return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
  };
  // one Idempotency-Key per filled-in form (lib/forms.js): a double click saves once; a change (the confirmation
  // ticked) is a new submission
  return saving(el("form", { class: "manual-entry" },
    uid ? null : field("Study Instance UID", uidInput),
    known ? null : el("fieldset", { class: "new-study" }, el("legend", {}, "A study Kerma does not know yet"),
      field("Study date", studyDate), field("Patient ID", patientId), field("Accession number", accession)),
    field("Modality", modality), field("Quantity", quantity), field("Value", value), field("Unit", unit), usual,
    field("When", when), field("Who", who), field("Device", device), newDevice, field("Note", note),
    confirmation, el("button", { class: "save" }, "Save")), async (key) => {
    const target = uid || uidInput.value.trim();
    try {
      await post(`studies/${encodeURIComponent(target)}/manual`, body(), { key });
    } catch (error) {
      if (error.status === 409 && /confirm_outlier/.test(error.message)) confirmation.hidden = false;
      throw error;
    }
    done(target, "Saved. The study's totals, statistics and alerts follow within seconds.");
  });
}

// a correction or a deletion asks its reason in the page (no window dialogs)
function changeForm(uid, entry, kind, done) {
  const reason = el("input", { name: "reason", required: true });
  const value = el("input", { name: "value", type: "number", step: "any", value: entry.entered_value });
  const confirm = el("input", { name: "confirm_outlier", type: "checkbox" });
  const path = `studies/${encodeURIComponent(uid)}/manual/${entry.id}`;
  return saving(el("form", { class: `manual-${kind}` },
    el("h3", {}, `${kind === "delete" ? "Delete" : "Correct"} entry ${entry.id} (${entry.label})`),
    kind === "correct" ? [field(`Value (${entry.entered_unit})`, value), field("The value is right: keep it", confirm)] : null,
    field("Reason", reason), el("button", { class: kind === "delete" ? "delete" : "save" }, kind === "delete" ? "Delete" : "Save")),
  async () => {
    if (kind === "delete") await remove(`${path}?reason=${encodeURIComponent(reason.value)}`);
    else await put(path, { value: Number(value.value), reason: reason.value, confirm_outlier: confirm.checked });
    done(uid, kind === "delete" ? "Deleted." : "Corrected.");
  });
}

function entriesTable(uid, entries, slot, done) {
  const writable = can("radiographer");
  const head = ["", "#", "Quantity", "Value", "Entered as", "When", "Who", "Device", "Entered by", "Note"];
  const rows = entries.map((e) => el("tr", { dataset: { entry: e.id } },
    cell(writable ? [
      el("button", { type: "button", class: "correct", onclick: () => slot.replaceChildren(changeForm(uid, e, "correct", done)) }, "Correct"), " ",
      el("button", { type: "button", class: "delete", onclick: () => slot.replaceChildren(changeForm(uid, e, "delete", done)) }, "Delete"),
    ] : ""),
    cell(e.id), cell(`${e.label} (${levelOf(e)})`), cell(`${shown(e.value)} ${e.unit}`, e.outlier_confirmed ? el("span", { class: "confirmed" }, " (confirmed)") : null),
    cell(`${shown(e.entered_value)} ${e.entered_unit}`), cell(new Date(e.performed_at).toLocaleString()), cell(e.performed_by ?? "—"),
    cell(deviceName(e.device)), cell(e.updated_by ? `${e.created_by} (corrected by ${e.updated_by})` : e.created_by ?? "—"),
    cell(e.note ?? "")));
  return el("div", { class: "table-wrap" }, el("table", { class: "manual-entries" },
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, rows)));
}

function historyTable(history) {
  const value = (side) => (side ? `${shown(side.value)} ${side.unit}` : "—");
  return el("div", { class: "table-wrap" }, el("table", { class: "manual-history" },
    el("thead", {}, el("tr", {}, ["At", "Who", "What", "Before", "After", "Why"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, history.map((h) => el("tr", {}, cell(new Date(h.at).toLocaleString()), cell(h.actor ?? "—"),
      cell(`${h.action.replace("manual_entry.", "")} #${(h.after || h.before).id}`), cell(value(h.before)), cell(value(h.after)),
      cell(h.note ?? ""))))));
}

export async function manual(uid = "") {
  const [data, quantities, devices, known] = await Promise.all([
    uid ? get(`studies/${encodeURIComponent(uid)}/manual`) : null, get("manual/quantities"), get("devices"), knownQuantities(),
  ]);
  const study = await studyOf(uid);
  const done = (target, text) => {
    flash(text);
    const next = `#/studies/${encodeURIComponent(target)}/manual`;
    if (location.hash === next) window.dispatchEvent(new HashChangeEvent("hashchange")); else location.hash = next;
  };
  const slot = el("div", { class: "change" });
  return screen("Doses entered by hand", "For doses that exist only on paper or on a device's display. Any dose report, "
      + "MPPS or image header of the same study takes precedence; these entries then stay as evidence.",
    uid ? el("dl", { class: "facts" },
      el("dt", {}, "Study"), el("dd", {}, study
        ? el("a", { href: `#/studies/${encodeURIComponent(uid)}`, class: "study" }, `${study.study_date ?? ""} ${study.study_description ?? uid}`)
        : `${uid} (not in Kerma yet: it is created with the first entry)`),
      el("dt", {}, "Statistics use"), el("dd", { class: "source" }, study?.source ?? "—"),
      el("dt", {}, "Totals"), el("dd", { class: "totals" }, study ? Object.entries(study.totals)
        .filter(([, v]) => typeof v === "number").map(([k, v]) => `${heading(known, k)} ${shown(v)}`).join("; ") || "—" : "—")) : null,
    // the study's own modality first: of its last entry, else of its records
    can("radiographer") ? entryForm(uid, Boolean(study), data?.entries.at(-1)?.modality ?? study?.modalities?.[0],
      quantities, devices.devices || [], done)
      : message("Entering doses needs the radiographer role."),
    data ? [el("h2", {}, `Entries (${data.entries.length})`), entriesTable(uid, data.entries, slot, done), slot,
      el("h2", {}, "History"), historyTable(data.history)] : null,
  );
}
