// Alerts and their review: why each fired, the value against its threshold, the reference as its citation,
// what the reviewer can do, and the audit trail of every step.
import { get, post } from "../lib/api.js";
import { el, explained, facts, field, refresh, screen, select } from "../lib/dom.js";
import { date, dateTime, describe, label, number, withUnit, words } from "../lib/format.js";
import { saving } from "../lib/forms.js";
import { dataTable, fromApi } from "../lib/table.js";
import { params } from "../app.js";
import { can } from "../lib/user.js";

export const OPEN = "new,acknowledged,under_investigation";
const STATUS_FILTERS = [[OPEN, "open"], ["new", "new"], ["acknowledged", "acknowledged"], ["under_investigation", "under investigation"],
  ["justified", "justified"], ["closed", "closed"], [`${OPEN},justified,closed`, "all"]];

const severity = (a) => el("span", { class: `badge ${a.severity}` }, a.severity);
const shownValue = (a) => (a.value == null ? "—" : a.quantity ? withUnit(a.quantity, a.value) : `${number(a.value)} ${a.unit ?? ""}`.trim());
const shownThreshold = (a) => (a.threshold == null ? "—" : a.quantity ? withUnit(a.quantity, a.threshold) : `${number(a.threshold)} ${a.unit ?? ""}`.trim());

export function alertColumns() {
  return [
    { key: "severity", label: "Severity", sort: "severity", render: severity, fixed: true },
    { key: "study_date", label: "Study date", sort: "study_date", render: (a) => date(a.study_date) },
    { key: "status", label: "Status", sort: "status", render: (a) => words(a.status) },
    { key: "rule", label: "Rule", wide: true },
    { key: "device_name", label: "Device", sort: "device" },
    { key: "quantity", label: "Quantity", sort: "quantity", render: (a) => (a.quantity ? explained(label(a.quantity), describe(a.quantity)) : "—") },
    { key: "value", label: "Value", num: true, sort: "value", render: shownValue },
    { key: "threshold", label: "Threshold", num: true, render: shownThreshold },
    { key: "assignee", label: "Assignee", sort: "assignee", render: (a) => a.assignee ?? "—" },
    { key: "created_at", label: "Raised", sort: "created_at", hidden: true, render: (a) => dateTime(a.created_at) },
  ];
}

const FILTERS = ["status", "severity", "kind", "device_id", "assignee"];
const PHONE = "(max-width: 720px)"; // style.css's phone layout

// The alerts to work through: filters (severity, kind, device, assignee; the status on the Alerts screen), most
// severe and oldest first, rows to tick for a bulk acknowledge or to assign to a person (radiographers and above).
// route: the screen's address, which keeps the filters; status: the statuses listed when the filter leaves it open.
// devices: the answer of GET devices when the screen has it already
export async function alertTriage({ route, status, caption, statusFilter = false, devices = null }) {
  const current = params();
  const [workflow, known] = await Promise.all([get("alerts/workflow"), devices ?? get("devices").catch(() => ({ devices: [] }))]);
  const filters = { status: (statusFilter && current.status) || status, severity: current.severity, kind: current.kind,
    device_id: current.device_id, assignee: current.assignee };
  const inputs = {
    status: statusFilter ? select("status", STATUS_FILTERS, filters.status) : null,
    severity: select("severity", [["", "any"], ...workflow.severities.map((v) => [v, v])], current.severity),
    kind: select("kind", [["", "any"], ...workflow.kinds.map((k) => [k, words(k)])], current.kind),
    device_id: select("device_id", [["", "any"], ...known.devices.map((d) => [d.device_id, d.station_name || d.model || d.manufacturer || "unnamed device"])], current.device_id),
    assignee: el("input", { name: "assignee", value: current.assignee || "" }),
  };
  const form = el("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams(FILTERS.filter((k) => inputs[k]?.value).map((k) => [k, inputs[k].value]));
    location.hash = `${route}?${query}`;
  } }, inputs.status ? field("Show", inputs.status) : null, field("Severity", inputs.severity), field("Kind", inputs.kind),
  field("Device", inputs.device_id), field("Assignee", inputs.assignee), el("button", {}, "Filter"));
  const picked = new Set();
  const bulk = can("radiographer");
  const pick = { key: "pick", label: "Select", fixed: true, render: (a) => el("input", {
    type: "checkbox", class: "pick", value: a.id, checked: picked.has(a.id), "aria-label": `Select: ${a.rule ?? words(a.kind)}, ${date(a.study_date)}`,
    onchange: (e) => { if (e.target.checked) picked.add(a.id); else picked.delete(a.id); },
  }) };
  const columns = alertColumns().map((c) => (c.key === "created_at" ? { ...c, hidden: false } : c));
  const table = dataTable({ id: "triage", caption, columns: bulk ? [...columns, pick] : columns,
    fetch: fromApi(get, "alerts", "alerts", filters), sort: "triage", order: "desc", urlState: true,
    href: (a) => `#/alerts/${a.id}`, empty: "No alert here." });
  const tools = [form, bulk ? bulkForm(table, picked) : null];
  if (!window.matchMedia(PHONE).matches) return [...tools, table];
  // on a phone the filters and bulk actions fold away: the alerts come first
  const applied = FILTERS.filter((k) => current[k] && !(k === "status" && current[k] === status)).length; // the default status is none
  return [el("details", { class: "triage-tools" }, el("summary", {}, `Filters${applied ? ` (${number(applied, 0)} applied)` : ""}`
    + (bulk ? " and bulk actions" : "")), tools), table];
}

// Acknowledge the ticked alerts, or give them to a person, in one request (each step audited as one alone)
function bulkForm(table, picked) {
  const comment = el("input", { name: "bulk_comment", size: 30 });
  const assignee = el("input", { name: "bulk_assignee", size: 16 });
  let action = null;
  const selectPage = el("button", { type: "button", class: "secondary select-page", onclick: () => {
    for (const box of table.querySelectorAll("input.pick")) { box.checked = true; picked.add(Number(box.value)); }
  } }, "Select this page");
  return saving(el("form", { class: "bulk inline" }, selectPage, field("Comment", comment), field("Assign to", assignee),
    el("button", { type: "submit", class: "bulk-acknowledge", onclick: () => { action = "acknowledge"; } }, "Acknowledge selected"),
    el("button", { type: "submit", class: "bulk-assign secondary", onclick: () => { action = "assign"; } }, "Assign selected")),
  async (key) => {
    if (!picked.size) throw new Error("Tick the alerts first.");
    const done = await post(`alerts/bulk/${action}`, { ids: [...picked], comment: comment.value || null,
      assignee: assignee.value || null }, { key });
    refresh();
    const skipped = done.skipped.length ? `; ${number(done.skipped.length, 0)} not new, left as they were` : "";
    return `${number(done.done.length, 0)} ${action === "assign" ? "assigned" : "acknowledged"}${skipped}.`;
  });
}

export async function alerts() {
  return screen("Alerts", "Values above a DRL or a trigger level, Dose Check events, drifts and new devices, with what to do about each; "
    + "most severe and oldest first.",
  ...await alertTriage({ route: "#/alerts", status: OPEN, caption: "Alerts", statusFilter: true }));
}

// An alert's reference: the DRL or level compared with, as its citation reads
export function reference(alert) {
  const r = alert.reference;
  if (!r || typeof r !== "object") return r ?? "—";
  const parts = [];
  if (r.drl !== undefined) {
    parts.push(`${words(r.drl_kind ?? "")} DRL ${alert.quantity ? withUnit(alert.quantity, r.drl) : number(r.drl)}`.trim());
    if (r.drl_set) parts.push(`set "${r.drl_set}"`);
    if (r.patient_group) parts.push(`patient group ${r.patient_group}`);
    if (r.drl_valid_from || r.drl_valid_to) parts.push(`in force ${r.drl_valid_from ? date(r.drl_valid_from) : "…"} to ${r.drl_valid_to ? date(r.drl_valid_to) : "today"}`);
    if (r.k) parts.push(`fires above ${number(r.k)} × DRL`);
  }
  if (r.reason_for_proceeding) parts.push(`the scanner's reason for proceeding: "${r.reason_for_proceeding}"`);
  if (r.previous || r.new) parts.push(`was ${r.previous ?? "—"}, now ${r.new ?? "—"}`);
  for (const [k, v] of Object.entries(r)) {
    if (["drl", "drl_kind", "drl_set", "patient_group", "drl_valid_from", "drl_valid_to", "k", "reason_for_proceeding", "previous", "new", "device_id"].includes(k)) continue;
    if (v !== null && typeof v !== "object") parts.push(`${label(k).toLowerCase()} ${typeof v === "number" ? number(v) : v}`);
  }
  return parts.join("; ") || "—";
}

export async function alertDetail(id) {
  const [alert, workflow] = await Promise.all([get(`alerts/${id}`), get("alerts/workflow")]);
  const comment = el("textarea", { name: "comment", rows: 2, cols: 40 });
  const assignee = el("input", { name: "assignee", value: alert.assignee ?? "" });
  const reportable = el("input", { type: "checkbox", name: "reportable" });
  const allowed = Object.entries(workflow.actions).filter(([, step]) => step.from.includes(alert.status) && can(step.role));
  let action = null;
  const form = allowed.length ? saving(el("form", { class: "card review" }, el("h2", {}, "Review"),
    field("Comment", comment, "Closing and justifying need a comment saying why."), field("Assign to", assignee),
    alert.status !== "closed" ? field("Reportable (when closing)", reportable) : null,
    allowed.map(([name]) => el("button", { type: "submit", class: `action-${name}`, onclick: () => { action = name; } }, words(name)))),
  async (key) => {
    if ((action === "close" || action === "justify") && !comment.value.trim()) {
      comment.focus();
      throw new Error(`Say why in the comment before ${action === "close" ? "closing" : "justifying"}.`);
    }
    const body = { comment: comment.value || null, assignee: assignee.value || null };
    if (action === "close") body.reportable = reportable.checked;
    await post(`alerts/${id}/${action}`, body, { key });
    refresh();
  }) : null;
  const rule = alert.rule_as_fired || {};
  return screen(`Alert: ${alert.rule ?? words(alert.kind)}`, "Why the alert fired, the value against its threshold and reference, what to do, and every review step.",
    facts([
      ["Status", words(alert.status), { class: "status" }],
      ["Severity", severity(alert)],
      ["Why", alert.reason ?? "—"],
      ["Value", `${shownValue(alert)} (threshold ${shownThreshold(alert)})`],
      ["Reference", reference(alert), { class: "reference" }],
      ["Rule's source", rule.source ?? "—"],
      ["What to do", Array.isArray(alert.actions) ? el("ul", {}, alert.actions.map((a) => el("li", {}, a))) : alert.actions ?? "—"],
      // an occupational dose alert is about a monitored person, not a study
      alert.person_id != null ? ["Monitored person", "in the occupational dose register"]
        : ["Study", el("a", { href: `#/studies/${encodeURIComponent(alert.study_instance_uid)}` }, `${date(alert.study_date)} · open the study`)],
      ["Standard exam", alert.standard_exam ?? "—"],
      ["Device", alert.device_name ?? "—"],
      ["Assignee", alert.assignee ?? "—"],
      ["Raised", dateTime(alert.created_at)],
    ]),
    form,
    el("h2", {}, "Comments"),
    alert.comments.length ? el("ul", {}, alert.comments.map((c) => el("li", {}, `${dateTime(c.at)} ${c.author ?? ""}: ${c.text}`)))
      : el("p", { class: "muted" }, "No comment yet."),
    el("h2", {}, "Audit trail"),
    dataTable({ caption: "Every step of this alert", columns: [
      { key: "at", label: "When", render: (e) => dateTime(e.at) }, { key: "actor", label: "Who" },
      { key: "action", label: "What", render: (e) => words(e.action.replace(/^alert\./, "")) },
      { key: "from", label: "From", render: (e) => words(e.before?.status) }, { key: "to", label: "To", render: (e) => words(e.after?.status) },
      { key: "note", label: "Note", wide: true },
    ], rows: alert.audit, empty: "No step yet." }),
  );
}
