// What needs attention today: new alerts, ingest errors, studies without dose values, devices gone quiet.
import { get } from "../lib/api.js";
import { el, table } from "../lib/dom.js";

const QUIET_DAYS = 7;

async function optional(path, params) {
  try { return await get(path, params); } catch { return null; }
}

export async function today() {
  const [health, errors, devices, alerts] = await Promise.all([
    get("health"), get("ingest-errors", { limit: 20 }), get("devices"), optional("alerts", { status: "new", limit: 20 }),
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
      : alerts.alerts?.length ? table(alerts.alerts, [["study_instance_uid", "Study"], ["rule", "Rule"], ["message", "Why"]],
        { rowLink: (a) => `#/studies/${encodeURIComponent(a.study_instance_uid)}` }) : el("p", {}, "No new alerts."),
    el("h2", {}, "Ingest errors"),
    errors.errors.length ? table(errors.errors, [["status", "Status"], ["sop_class_uid", "SOP class"], ["reason", "Reason"],
      ["processed_at", "When"]]) : el("p", {}, "No ingest errors."),
    el("h2", {}, `Devices silent for more than ${QUIET_DAYS} days`),
    quiet.length ? table(quiet, [["station_name", "Station"], ["model", "Model"], ["last_seen", "Last study"]])
      : el("p", {}, "Every device has sent recently."),
  );
}
