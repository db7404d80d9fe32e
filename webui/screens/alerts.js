// Alerts and their review: why each fired, what the reviewer can do, and the audit trail of every step.
import { get, post } from "../lib/api.js";
import { el, field, message, number, table } from "../lib/dom.js";
import { params } from "../app.js";
import { can } from "../lib/user.js";

const STATUS_FILTERS = ["new", "acknowledged", "under_investigation", "justified", "closed"];

export async function alerts() {
  const current = params();
  const status = current.status || "new,acknowledged,under_investigation";
  const data = await get("alerts", { status, limit: 200 });
  const pick = el("select", { name: "status", onchange: (e) => (location.hash = `#/alerts?status=${e.target.value}`) },
    [["new,acknowledged,under_investigation", "open"], ...STATUS_FILTERS.map((s) => [s, s]), [STATUS_FILTERS.join(","), "all"]]
      .map(([value, label]) => el("option", { value, selected: value === status }, label)));
  return el("section", {},
    el("h1", {}, "Alerts"), field("Show", pick),
    data.alerts.length ? table(data.alerts, [["id", "#"], ["status", "Status"], ["severity", "Severity"], ["study_date", "Date"],
      ["rule", "Rule"], ["quantity", "Quantity"], ["value", "Value"], ["threshold", "Threshold"], ["message", "Why"]],
    { rowLink: (a) => `#/alerts/${a.id}` }) : el("p", {}, "No alert in this state."),
  );
}

export async function alertDetail(id) {
  const [alert, workflow] = await Promise.all([get(`alerts/${id}`), get("alerts/workflow")]);
  const comment = el("input", { name: "comment", placeholder: "comment (optional)" });
  const reportable = el("input", { type: "checkbox", name: "reportable" });
  const result = el("div", { class: "result" });
  const allowed = Object.entries(workflow.actions).filter(([, step]) => step.from.includes(alert.status) && can(step.role));
  const step = (action) => async () => {
    try {
      const body = { comment: comment.value || null };
      if (action === "close") body.reportable = reportable.checked;
      await post(`alerts/${id}/${action}`, body);
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) { result.replaceChildren(message(error.message, "error")); }
  };
  return el("section", {},
    el("h1", {}, `Alert #${alert.id}: ${alert.rule ?? alert.kind}`),
    el("dl", { class: "facts" },
      el("dt", {}, "Status"), el("dd", { class: "status" }, alert.status),
      el("dt", {}, "Why"), el("dd", {}, alert.reason ?? "—"),
      el("dt", {}, "Value"), el("dd", {}, `${number(alert.value, 4)} ${alert.unit ?? ""} (threshold ${number(alert.threshold, 4)})`),
      el("dt", {}, "Reference"), el("dd", {}, alert.reference ?? "—"),
      el("dt", {}, "What to do"), el("dd", {}, alert.actions ?? "—"),
      ...(alert.person_id != null  // an occupational dose alert is about a monitored person, not a study
        ? [el("dt", {}, "Monitored person"), el("dd", {}, `#${alert.person_id} in the occupational dose register`)]
        : [el("dt", {}, "Study"), el("dd", {}, el("a", { href: `#/studies/${encodeURIComponent(alert.study_instance_uid)}` }, alert.study_instance_uid))]),
      el("dt", {}, "Assignee"), el("dd", {}, alert.assignee ?? "—"),
    ),
    allowed.length ? el("form", { class: "review", onsubmit: (e) => e.preventDefault() },
      field("Comment", comment), field("Reportable (on close)", reportable),
      allowed.map(([action]) => el("button", { type: "button", class: `action-${action}`, onclick: step(action) }, action)),
      result) : null,
    el("h2", {}, "Comments"),
    alert.comments.length ? el("ul", {}, alert.comments.map((c) => el("li", {}, `${c.at} ${c.author ?? ""}: ${c.text}`)))
      : el("p", {}, "No comment yet."),
    el("h2", {}, "Audit trail"),
    table(alert.audit, [["at", "When"], ["actor", "Who"], ["action", "What"], [(e) => e.before?.status, "From"],
      [(e) => e.after?.status, "To"], ["note", "Note"]]),
  );
}
