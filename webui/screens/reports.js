// Reports: the ones made (open the PDF), ask for one over any dates, and the schedules that make them by themselves.
import { get, link, post } from "../lib/api.js";
import { el, field, refresh, screen, select } from "../lib/dom.js";
import { date, dateTime, words } from "../lib/format.js";
import { saving } from "../lib/forms.js";
import { dataTable, fromApi } from "../lib/table.js";
import { can } from "../lib/user.js";

const PERIODS = [["monthly", "monthly"], ["quarterly", "quarterly"], ["weekly", "weekly"]];

function requestForm() {
  const from = el("input", { name: "date_from", type: "date", required: true });
  const to = el("input", { name: "date_to", type: "date", required: true });
  return saving(el("form", { class: "card" }, el("h2", {}, "Make a report"),
    field("From", from), field("To", to), el("button", { type: "submit", class: "save" }, "Make the report")),
  async (key) => {
    await post("reports", { date_from: from.value, date_to: to.value }, { key });
    refresh();
    return "Asked for; it is made within a minute.";
  });
}

function scheduleForm() {
  const name = el("input", { name: "name", required: true });
  const period = select("period", PERIODS, "monthly");
  return saving(el("form", { class: "card" }, el("h2", {}, "New schedule"),
    field("Name", name), field("Every", period), el("button", { type: "submit", class: "save" }, "Add the schedule")),
  async (key) => {
    await post("reports/schedules", { name: name.value, period: period.value }, { key });
    refresh();
  });
}

export async function reports() {
  const schedules = (await get("reports/schedules")).schedules;
  return screen("Reports", "The periodic dose reports for the radiation protection committee: open one as PDF, or ask for one.",
    dataTable({ id: "reports", caption: "Reports made", columns: [
      { key: "created_at", label: "Asked for", sort: "created_at", render: (r) => dateTime(r.created_at) },
      { key: "period", label: "Period", sort: "period", render: (r) => words(r.period) },
      { key: "period_start", label: "Dates", sort: "period_start", render: (r) => `${date(r.period_start)} – ${date(r.period_end)}` },
      { key: "status", label: "Status", sort: "status", render: (r) => words(r.status) },
      { key: "requested_by", label: "By", sort: "requested_by", render: (r) => r.requested_by ?? "schedule" },
      { key: "pdf", label: "Report", fixed: true, render: (r) => (r.status === "done"
        ? el("a", { href: link(`reports/${r.id}/pdf`), target: "_blank", rel: "noopener" }, "open the PDF") : r.error ?? "—") },
    ], fetch: fromApi(get, "reports", "reports"), sort: "created_at", order: "desc", empty: "No report yet." }),
    el("h2", {}, "Schedules"),
    dataTable({ caption: "Reports made by themselves", columns: [
      { key: "name", label: "Name", sort: true }, { key: "period", label: "Every", sort: true, render: (s) => words(s.period) },
      { key: "enabled", label: "Enabled", sort: true }, { key: "updated_by", label: "Changed by", render: (s) => s.updated_by ?? "—" },
    ], rows: schedules, empty: "No schedule." }),
    can("physicist") ? el("div", { class: "forms" }, requestForm(), scheduleForm()) : null);
}
