// What needs attention today: new alerts, ingest errors, studies without dose values, devices gone quiet.
import { get, post } from "../lib/api.js";
import { el, message, table } from "../lib/dom.js";

const QUIET_DAYS = 7;

async function optional(path, params) {
  try { return await get(path, params); } catch { return null; }
}

export async function today() {
  const [health, errors, devices, alerts, screens] = await Promise.all([
    get("health"), get("ingest-errors", { limit: 20 }), get("devices"), optional("alerts", { status: "new", limit: 20 }),
    get("screens", { state: "needs_review", limit: 20 }),
  ]);
  const now = Date.now();
  const quiet = devices.devices.filter((d) => d.last_seen && now - Date.parse(d.last_seen) > QUIET_DAYS * 86400e3);
  const counts = health.counts.dose_objects;
  return el("section", {},
    el("h1", {}, "Today"),
    el("p", { class: "summary" },
      `Ingestion ${health.status}: ${health.lag ?? "?"} change(s) behind Orthanc; ${health.counts.studies} studies, `,
      `${counts.ok || 0} dose objects, ${counts.error || 0} errors.`),
    el("h2", {}, "New alerts"),
    alerts === null ? el("p", {}, "Alerts are not available on this server.")
      : alerts.alerts?.length ? table(alerts.alerts,
        [[(a) => a.study_instance_uid ?? `person #${a.person_id}`, "Study"], ["rule", "Rule"], ["message", "Why"]],
        { rowLink: (a) => (a.study_instance_uid ? `#/studies/${encodeURIComponent(a.study_instance_uid)}` : `#/alerts/${a.id}`) }) : el("p", {}, "No new alerts."),
    el("h2", {}, "Dose screen values to confirm"),
    reviewList(screens.screens),
    el("h2", {}, "Ingest errors"),
    errors.errors.length ? table(errors.errors, [["status", "Status"], ["sop_class_uid", "SOP class"], ["reason", "Reason"],
      ["processed_at", "When"]]) : el("p", {}, "No ingest errors."),
    el("h2", {}, `Devices silent for more than ${QUIET_DAYS} days`),
    quiet.length ? table(quiet, [["station_name", "Station"], ["model", "Model"], ["last_seen", "Last study"]])
      : el("p", {}, "Every device has sent recently."),
  );
}

// Values read from dose screens that failed a check or were read unsurely: counted only once a person confirms them
// (the value read) or corrects them (another value); the API audits either.
function reviewList(screens) {
  const items = screens.flatMap((s) => s.review.filter((i) => !i.resolution).map((i) => ({ ...i, screen: s })));
  if (!items.length) return el("p", {}, "No value waits for confirmation.");
  return table(items, [
    [(i) => i.screen.study_instance_uid, "Study"], [(i) => (i.event === null ? "total" : `row ${i.event + 1}`), "Where"],
    ["field", "Value"], ["text", "Read"], ["confidence", "Confidence"], [(i) => i.reasons.join("; "), "Why"],
    [(i) => i, "Confirm or correct", (i) => confirmForm(i)],
  ]);
}

function confirmForm(item) {
  const input = el("input", { type: "text", value: item.value ?? "", "aria-label": `${item.field} as it should read` });
  const status = el("span", {});
  const submit = async (event) => {
    event.preventDefault();
    const raw = input.value.trim();
    if (!raw) { status.replaceChildren(message("give the value", "error")); return; }
    const value = typeof item.value === "string" ? raw : Number(raw);
    try {
      await post(`screens/${item.screen.id}/review/${item.id}`, { value });
      status.replaceChildren(message("saved"));
    } catch (error) {
      status.replaceChildren(message(error.message, "error"));
    }
  };
  return el("form", { onsubmit: submit }, input, el("button", { type: "submit" }, "Save"), status);
}
