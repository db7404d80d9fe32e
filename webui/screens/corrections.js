// Correction factors: a physicist's per-device DAP, Ka,r, CTDIvol and table transmission factors over date ranges,
// with the measurement behind each; each change recomputes the studies it covers and is kept as a version.
import { get, post, put, remove } from "../lib/api.js";
import { el, facts, field, flash, refresh, screen, select } from "../lib/dom.js";
import { date, dateTime, inForce, number, words } from "../lib/format.js";
import { actionButton, saving } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";
import { params } from "../app.js";
import { can } from "../lib/user.js";

// what the change did: the studies recomputed and the alerts it raised, closed (no longer above their threshold) or reopened
function recomputed(answer) {
  const moved = [["raised", "raised"], ["closed", "closed as no longer above their threshold"], ["reopened", "reopened"]]
    .filter(([k]) => answer.alerts?.[k]).map(([k, said]) => `${number(answer.alerts[k], 0)} ${said}`);
  return `Saved; ${number(answer.recomputed_studies, 0)} studies recomputed (statistics and alerts follow)`
    + (moved.length ? `; alerts: ${moved.join(", ")}.` : ".");
}

function factorForm(devices, kinds, current) {
  const input = (name, attributes = {}) => el("input", { name, ...attributes, value: current?.[name] ?? attributes.value ?? "" });
  const device = select("device_id", [["", "choose…"], ...devices.map((d) => [d.device_id, d.device_name ?? "unnamed device"])],
    current?.device_id ?? "", { required: true });
  const kind = select("kind", kinds.map((k) => [k.kind, k.label]), current?.kind ?? kinds[0]?.kind);
  const factor = input("factor", { type: "number", step: "any", min: "0.01", max: "10", required: true });
  const from = input("valid_from", { type: "date" });
  const to = input("valid_to", { type: "date" });
  const measured = input("measured_on", { type: "date", required: true });
  const method = el("textarea", { name: "method", required: true, rows: 2 }, current?.method ?? "");
  const by = input("measured_by", { required: true, autocomplete: "name" });
  const notes = el("textarea", { name: "notes", rows: 2 }, current?.notes ?? "");
  const describeKind = () => kinds.find((k) => k.kind === kind.value)?.description ?? "";
  const hint = el("small", { class: "kind-description" }, describeKind());
  kind.addEventListener("change", () => { hint.textContent = describeKind(); });
  return saving(el("form", { class: "card correction-form" }, el("h2", {}, current ? "Change this factor" : "New factor"),
    field("Device", device), field("Kind", kind), hint, field("Factor", factor, "true value over the value the device reports"),
    field("In force from", from, "study date; empty: from the start"), field("In force until", to, "included; empty: open"),
    field("Measured on", measured), field("Method", method, "instrument, set-up, reference"), field("Measured by", by),
    field("Notes", notes), el("button", { type: "submit", class: "save" }, current ? "Save the new version" : "Add the factor")),
  async (key) => {
    const body = { device_id: Number(device.value), kind: kind.value, factor: Number(factor.value), valid_from: from.value || null,
      valid_to: to.value || null, measured_on: measured.value, method: method.value, measured_by: by.value, notes: notes.value || null };
    if (current) return recomputed(await put(`corrections/${current.id}`, body));
    const answer = await post("corrections", body, { key });
    flash(recomputed(answer));
    location.hash = `#/corrections?id=${answer.correction.id}`;
    return null;
  });
}

function history(one) {
  return [el("h2", {}, `${one.label} of ${one.device_name ?? "this device"}: its versions`),
    facts([["Factor", number(one.factor, 3)], ["In force", inForce(one)], ["Measured", `${date(one.measured_on)} by ${one.measured_by}`],
      ["Method", one.method], ["Notes", one.notes ?? "—"], ["Version", number(one.version, 0)]]),
    dataTable({ id: "correction-history", caption: "Every change, newest first", columns: [
      { key: "at", label: "When", render: (h) => dateTime(h.at) }, { key: "actor", label: "Who" },
      { key: "action", label: "Change", render: (h) => words(h.action.split(".").pop()) },
      { key: "before", label: "Factor before", num: true, render: (h) => number(h.before?.factor, 3) },
      { key: "after", label: "Factor after", num: true, render: (h) => number(h.after?.factor, 3) },
      { key: "range", label: "In force after", render: (h) => (h.after ? inForce(h.after) : "removed") },
    ], rows: one.history, empty: "No change recorded." })];
}

export async function corrections() {
  const selected = Number(params().id) || null;
  const [list, kinds, devices, one] = await Promise.all([get("corrections"), get("corrections/kinds"),
    get("acceptance/devices"), selected ? get(`corrections/${selected}`) : null]);
  return screen("Correction factors", "Per device and date range, the factors a physicist measured (DAP and Ka,r calibration, CTDIvol check, table transmission). Statistics, DRL comparisons and alerts use the corrected values; the values as reported stay beside them.",
    dataTable({ id: "corrections", caption: "Factors", columns: [
      { key: "device_name", label: "Device", sort: true, wide: true },
      { key: "label", label: "Kind", sort: true },
      { key: "factor", label: "Factor", num: true, sort: true, render: (c) => number(c.factor, 3) },
      { key: "range", label: "In force", value: inForce },
      { key: "measured_on", label: "Measured", sort: true, render: (c) => date(c.measured_on) },
      { key: "measured_by", label: "By", sort: true },
      { key: "method", label: "Method", wide: true, hidden: true },
      { key: "version", label: "Version", num: true, sort: true, render: (c) => number(c.version, 0) },
      { key: "remove", label: "Remove", fixed: true, render: (c) => (can("physicist") ? actionButton("Remove", async () => {
        if (!window.confirm(`Remove the ${c.label} of ${c.device_name}? Its studies are recomputed without it.`)) return;
        await remove(`corrections/${c.id}`);
        location.hash = "#/corrections";
        refresh();
      }, { class: "danger", "aria-label": `Remove the ${c.label} of ${c.device_name}` }) : "—") },
    ], rows: list.corrections, href: (c) => `#/corrections?id=${c.id}`, empty: "No correction factor: values are used as the devices report them." }),
    one ? history(one) : null,
    can("physicist") ? el("div", { class: "forms" }, one ? factorForm(devices.devices, kinds.kinds, one) : null,
      factorForm(devices.devices, kinds.kinds, null)) : null);
}
