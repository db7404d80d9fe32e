// Notifications: who is told of which alerts (and gets the daily digest), and the messages sent or waiting.
import { get, post, remove } from "../lib/api.js";
import { el, field, refresh, screen, select } from "../lib/dom.js";
import { dateTime, number, words } from "../lib/format.js";
import { actionButton, saving } from "../lib/forms.js";
import { dataTable, fromApi } from "../lib/table.js";

const ROLES = [["mpe", "medical physics expert"], ["rpo", "radiation protection officer"], ["radiologist", "radiologist"], ["radiographer", "radiographer"]];
const SEVERITIES = ["info", "warning", "high", "critical"].map((s) => [s, s]);

function recipientForm() {
  const name = el("input", { name: "name", required: true, autocomplete: "name" });
  const email = el("input", { name: "email", type: "email", required: true, autocomplete: "email" });
  const role = select("role", ROLES, "mpe");
  const severity = select("min_severity", SEVERITIES, "warning");
  const digest = el("input", { type: "checkbox", name: "daily_digest" });
  return saving(el("form", { class: "card" }, el("h2", {}, "Add a recipient"), field("Name", name), field("E-mail", email),
    field("Role", role), field("From severity", severity), field("Daily digest", digest),
    el("button", { type: "submit", class: "save" }, "Add")),
  async (key) => {
    await post("notifications/recipients", { name: name.value, email: email.value, role: role.value, min_severity: severity.value,
      daily_digest: digest.checked }, { key });
    refresh();
  });
}

export async function notifications() {
  const recipients = (await get("notifications/recipients")).recipients;
  return screen("Notifications", "Who receives alerts by e-mail (and the morning digest), and every message sent or waiting to be sent.",
    dataTable({ id: "recipients", caption: "Recipients", columns: [
      { key: "name", label: "Name", sort: true }, { key: "email", label: "E-mail", sort: true },
      { key: "role", label: "Role", sort: true, render: (r) => ROLES.find(([k]) => k === r.role)?.[1] ?? r.role }, { key: "min_severity", label: "From severity", sort: true },
      { key: "scope", label: "For", value: (r) => r.device_name ?? r.site ?? "every device" },
      { key: "daily_digest", label: "Digest", sort: true }, { key: "enabled", label: "Enabled", sort: true },
      { key: "delete", label: "Remove", fixed: true, render: (r) => actionButton("Remove", async () => {
        if (!window.confirm(`Remove ${r.name} from the recipients?`)) return;
        await remove(`notifications/recipients/${r.id}`);
        refresh();
      }, { class: "danger", "aria-label": `Remove ${r.name}` }) },
    ], rows: recipients, empty: "No recipient: alerts are only shown here." }),
    recipientForm(),
    el("h2", {}, "Outbox"),
    dataTable({ id: "outbox", caption: "Messages", columns: [
      { key: "created_at", label: "Made", sort: "created_at", render: (m) => dateTime(m.created_at) },
      { key: "kind", label: "Kind", sort: "kind", render: (m) => words(m.kind) },
      { key: "address", label: "To", sort: "address" },
      { key: "status", label: "Status", sort: "status", render: (m) => words(m.status) },
      { key: "attempts", label: "Attempts", num: true, sort: "attempts", render: (m) => number(m.attempts, 0) },
      { key: "last_error", label: "Last error", wide: true },
      { key: "sent_at", label: "Sent", sort: "sent_at", render: (m) => dateTime(m.sent_at) },
      { key: "retry", label: "Retry", fixed: true, render: (m) => (m.status === "failed" ? actionButton("Retry", async () => {
        await post(`notifications/outbox/${m.id}/retry`, {}); refresh();
      }) : "—") },
    ], fetch: fromApi(get, "notifications/outbox", "messages"), sort: "created_at", order: "desc", empty: "No message." }));
}
