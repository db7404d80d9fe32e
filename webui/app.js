// Kerma's web UI: a hash-routed page per task, each built from Kerma's REST API only.
import { clear, el, message } from "./lib/dom.js";
import { loadQuantities } from "./lib/format.js";
import { can, me } from "./lib/user.js";
import { today } from "./screens/today.js";
import { studies } from "./screens/studies.js";
import { study } from "./screens/study.js";
import { patient, patients } from "./screens/patient.js";
import { statistics } from "./screens/statistics.js";
import { mapping } from "./screens/mapping.js";
import { drl } from "./screens/drl.js";
import { compliance, complianceAbove } from "./screens/compliance.js";
import { alertDetail, alerts } from "./screens/alerts.js";
import { manual } from "./screens/manual.js";
import { occupational } from "./screens/occupational.js";
import { alertRules } from "./screens/alert_rules.js";
import { reports } from "./screens/reports.js";
import { reconciliation } from "./screens/reconciliation.js";
import { hl7 } from "./screens/hl7.js";
import { mpps } from "./screens/mpps.js";
import { notifications } from "./screens/notifications.js";
import { auditLog } from "./screens/audit.js";
import { ingestErrors } from "./screens/ingest_errors.js";
import { gettingStarted } from "./screens/getting_started.js";
import { corrections } from "./screens/corrections.js";
import { acceptance } from "./screens/acceptance.js";

// [pattern, screen, nav entry it belongs to, role needed to see it in the menu]
const ROUTES = [
  [/^#\/studies\/([^/?]+)\/manual$/, (uid) => manual(decodeURIComponent(uid)), "#/manual"],
  [/^#\/manual$/, () => manual(), "#/manual"],
  [/^#\/studies\/([^/?]+)$/, (uid) => study(decodeURIComponent(uid)), "#/studies"],
  [/^#\/studies$/, studies, "#/studies"],
  [/^#\/patients\/([^/?]+)$/, (id) => patient(decodeURIComponent(id)), "#/patients"],
  [/^#\/patients$/, patients, "#/patients"],
  [/^#\/statistics$/, statistics, "#/statistics"],
  [/^#\/mapping$/, mapping, "#/mapping"],
  [/^#\/drl$/, drl, "#/drl"],
  [/^#\/compliance\/above$/, complianceAbove, "#/compliance"],
  [/^#\/compliance$/, compliance, "#/compliance"],
  [/^#\/alerts\/(\d+)$/, alertDetail, "#/alerts"],
  [/^#\/alerts$/, alerts, "#/alerts"],
  [/^#\/alert-rules$/, alertRules, "#/alert-rules"],
  [/^#\/reports$/, reports, "#/reports"],
  [/^#\/reconciliation$/, reconciliation, "#/reconciliation"],
  [/^#\/hl7$/, hl7, "#/hl7"],
  [/^#\/mpps$/, mpps, "#/mpps"],
  [/^#\/notifications$/, notifications, "#/notifications"],
  [/^#\/audit$/, auditLog, "#/audit"],
  [/^#\/ingest-errors$/, ingestErrors, "#/ingest-errors"],
  [/^#\/getting-started$/, gettingStarted, "#/getting-started"],
  [/^#\/occupational$/, occupational, "#/occupational"],
  [/^#\/corrections$/, corrections, "#/corrections"],
  [/^#\/acceptance$/, acceptance, "#/acceptance"],
  [/^#\/today$/, today, "#/today"],
];

// the menu: the daily screens first, the rest under "More"; each entry only for the roles that may use it
const NAV = [["#/today", "Today"], ["#/studies", "Studies"], ["#/patients", "Patients"], ["#/statistics", "Statistics"],
  ["#/compliance", "DRL compliance"], ["#/alerts", "Alerts"], ["#/mapping", "Mapping"], ["#/drl", "DRLs"], ["#/reports", "Reports"],
  ["#/manual", "Manual entry"],
  ["#/occupational", "Staff dose", "physicist"]];
const MORE = [["#/reconciliation", "Reconciliation"], ["#/alert-rules", "Alert rules"],
  ["#/notifications", "Notifications", "physicist"], ["#/hl7", "HL7 messages"], ["#/mpps", "MPPS"],
  ["#/ingest-errors", "Ingest errors"], ["#/acceptance", "Acceptance"], ["#/corrections", "Correction factors"], ["#/audit", "Audit log", "admin"], ["#/getting-started", "Getting started"]];

export function params() {
  const query = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(query));
}

function navigation() {
  const link = ([href, text]) => el("a", { href }, text);
  const nav = document.getElementById("nav");
  nav.replaceChildren(...NAV.filter(([, , role]) => !role || can(role)).map(link), el("details", { class: "more" }, el("summary", {}, "More"),
    el("div", { class: "more-menu" }, MORE.filter(([, , role]) => !role || can(role)).map(link))));
  nav.addEventListener("click", (event) => {
    if (event.target.closest(".more-menu a")) nav.querySelector("details.more").open = false;
  });
}

let started = 0;
let drawing = 0;

async function render() {
  const view = document.getElementById("view");
  const hash = location.hash.split("?")[0] || "#/today";
  const route = ROUTES.find(([pattern]) => pattern.test(hash)) || ROUTES[ROUTES.length - 1];
  const match = hash.match(route[0]) || [];
  const turn = ++drawing;
  for (const a of document.querySelectorAll("#nav a")) {
    const active = a.getAttribute("href") === route[2];
    a.classList.toggle("active", active);
    if (active) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  view.setAttribute("aria-busy", "true");
  try {
    const page = await route[1](...match.slice(1));
    await Promise.all([...page.querySelectorAll(".data-table")].map((t) => t.ready));
    if (turn !== drawing) return; // another screen was asked for meanwhile
    clear(view).appendChild(page);
  } catch (error) {
    if (turn !== drawing) return;
    clear(view).appendChild(el("section", { class: "screen" }, el("h1", {}, "Not available"), message(error.message, "error")));
  } finally {
    if (turn === drawing) {
      view.removeAttribute("aria-busy");
      // how long the screen took to be drawn (tests and bench read it): from the click or the page load
      document.body.dataset.drawn = `${route[2]} ${Math.round(performance.now() - started)}`;
      window.scrollTo(0, 0);
    }
  }
}

document.getElementById("user").textContent = me.user
  ? `${me.user} · ${me.roles.length ? me.roles.join(", ") : "no role"}` : "";
navigation();
window.addEventListener("hashchange", () => { started = performance.now(); delete document.body.dataset.drawn; render(); });
loadQuantities().then(render);
