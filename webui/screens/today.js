// What needs attention today: the morning digest, new alerts, ingest errors, devices gone quiet.
import { get, post } from "../lib/api.js";
import { el, screen } from "../lib/dom.js";
import { date, dateTime, label, number, words } from "../lib/format.js";
import { saving } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";
import { OPEN, alertTriage } from "./alerts.js";
import { thisQuarter } from "./compliance.js";

const QUIET_DAYS = 7;
const SEVERITY = ["high", "warning", "info"];
const optional = (promise) => promise.catch(() => null);

function tile(figure, text, href) {
  const body = [el("div", { class: "figure" }, figure), el("div", { class: "label" }, text)];
  return el(href ? "a" : "div", { class: "tile", href }, body);
}

export async function today() {
  const [health, errors, devices, digest, screens] = await Promise.all([
    get("health"), get("ingest-errors", { limit: 1 }), get("devices"),
    optional(get("alerts/digest")), optional(get("screens", { state: "needs_review", limit: 20 })),
  ]);
  const triage = digest === null ? null : await alertTriage({ route: "#/today", status: OPEN, caption: "Open alerts", devices });
  const now = Date.now();
  const quiet = devices.devices.filter((d) => d.last_seen && now - Date.parse(d.last_seen) > QUIET_DAYS * 86400e3);
  const counts = health.counts.dose_objects;
  const lag = health.lag ?? 0;
  const bySeverity = digest ? Object.entries(digest.counts.severity).sort(([a], [b]) => SEVERITY.indexOf(a) - SEVERITY.indexOf(b))
    .map(([name, n]) => `${number(n, 0)} ${name}`).join(" · ") : "";
  return screen("Today", "The morning digest and what needs attention: open alerts by severity and age, objects that gave no dose record, "
    + "devices that stopped sending.",
    el("div", { class: "tiles" },
      tile(number(digest?.open ?? 0, 0), `open alerts${bySeverity ? `: ${bySeverity}` : ""}`, "#/alerts"),
      tile(number(digest?.new_since?.length ?? 0, 0), `new since ${digest ? date(digest.since) : "the previous working day"}`, "#/alerts?status=new"),
      tile(number(digest?.unassigned?.length ?? 0, 0), "acknowledged, nobody assigned", null),
      tile(number(digest?.overdue?.length ?? 0, 0), "open for more than a week", null),
      tile(errors.total === null ? `> ${number(errors.counted_up_to, 0)}` : number(errors.total ?? 0, 0),
        "objects that gave no record (errors)", "#/ingest-errors"),
      tile("DRL", "examinations and devices above the DRL this quarter", `#/compliance?${new URLSearchParams({
        period: "quarter", ...thisQuarter(), status: "red" })}`),
      tile(number(quiet.length, 0), `devices silent for more than ${QUIET_DAYS} days`, null),
      tile(health.status === "ok" ? (lag ? `${number(lag, 0)} behind` : "up to date") : "stopped",
        `ingestion: ${(health.counts.estimated || []).includes("studies") ? "about " : ""}${number(health.counts.studies, 0)} studies, `
        + `${number(counts.ok || 0, 0)} dose objects`, null)),
    el("h2", {}, "Open alerts, most severe and oldest first"),
    triage === null ? el("p", { class: "muted" }, "Alerts are not available on this server.") : triage,
    digest === null ? null : digestLists(digest),
    screens === null ? null : [el("h2", {}, "Dose screen values to confirm"), reviewList(screens.screens)],
    el("h2", {}, `Devices silent for more than ${QUIET_DAYS} days`),
    dataTable({ caption: "Devices that stopped sending", columns: [
      { key: "station_name", label: "Station", sort: true }, { key: "manufacturer", label: "Manufacturer", sort: true },
      { key: "model", label: "Model", sort: true }, { key: "modality", label: "Modality", sort: true },
      { key: "last_seen", label: "Last study", sort: true, render: (d) => date(d.last_seen) },
    ], rows: quiet, sort: "last_seen", order: "asc", empty: "Every device has sent recently." }),
    el("p", { class: "muted" }, `Checked ${dateTime(new Date().toISOString())}. Ingestion ${words(health.status)}.`),
  );
}

// The digest's three lists (as e-mailed each working day), each folded under its count
function digestLists(digest) {
  const list = (title, items) => el("details", { class: "digest" }, el("summary", {}, `${title} (${number(items.length, 0)})`),
    dataTable({ caption: title, columns: [
      { key: "severity", label: "Severity", render: (a) => el("span", { class: `badge ${a.severity}` }, a.severity) },
      { key: "study_date", label: "Study date", render: (a) => date(a.study_date) },
      { key: "status", label: "Status", render: (a) => words(a.status) },
      { key: "reason", label: "Why", wide: true },
      { key: "assignee", label: "Assignee", render: (a) => a.assignee ?? "—" },
      { key: "created_at", label: "Raised", render: (a) => dateTime(a.created_at) },
    ], rows: items, pageSize: 20, href: (a) => `#/alerts/${a.id}`, empty: "None." }));
  return [el("h2", {}, `Morning digest, ${date(digest.date)}`),
    list(`New since ${date(digest.since)}`, digest.new_since), list("Acknowledged, nobody assigned", digest.unassigned),
    list("Open for more than a week", digest.overdue)];
}

// Values read from dose screens that failed a check or were read unsurely: counted only once a person confirms them
// (the value read) or corrects them (another value); the API audits either.
function reviewList(screens) {
  const items = screens.flatMap((s) => s.review.filter((i) => !i.resolution).map((i) => ({ ...i, screen: s })));
  return dataTable({ caption: "Values read from dose screens, to confirm or correct", columns: [
    { key: "study", label: "Study", render: (i) => el("a", { href: `#/studies/${encodeURIComponent(i.screen.study_instance_uid)}` }, "open") },
    { key: "where", label: "Where", value: (i) => (i.event === null ? "total" : `row ${i.event + 1}`) },
    { key: "field", label: "Value", render: (i) => label(i.field) },
    { key: "text", label: "Read" },
    { key: "confidence", label: "Confidence", num: true, render: (i) => number(i.confidence, 2) },
    { key: "reasons", label: "Why", wide: true, value: (i) => i.reasons.join("; ") },
    { key: "confirm", label: "Confirm or correct", fixed: true, render: confirmForm },
  ], rows: items, empty: "No value waits for confirmation." });
}

function confirmForm(item) {
  const input = el("input", { type: "text", value: item.value ?? "", "aria-label": `${label(item.field)} as it should read` });
  // one Idempotency-Key per filled-in form (lib/forms.js): Enter pressed twice or a double click saves once
  return saving(el("form", { class: "inline" }, input, el("button", { type: "submit" }, "Save")), async (key) => {
    const raw = input.value.trim();
    if (!raw) throw new Error("give the value");
    await post(`screens/${item.screen.id}/review/${item.id}`, { value: typeof item.value === "string" ? raw : Number(raw) }, { key });
    return "saved";
  });
}
