// Alert rules: what raises an alert, at which level, and the regulation or publication each rule cites.
import { get, put } from "../lib/api.js";
import { explained, refresh, screen } from "../lib/dom.js";
import { describe, label, number, withUnit, words } from "../lib/format.js";
import { actionButton } from "../lib/forms.js";
import { dataTable } from "../lib/table.js";
import { can } from "../lib/user.js";

// which DRLs a rule compares with (its drl_kind), as people say it
const DRL_KINDS = { any: "local or national DRL", local: "local DRL", national: "national DRL" };

// the rule's level in words: a threshold in the quantity's unit, a factor of the DRL, or its other parameters
function level(rule) {
  const p = rule.parameters || {};
  const parts = [];
  if (p.threshold != null) parts.push(rule.quantity ? withUnit(rule.quantity, p.threshold) : number(p.threshold));
  if (p.factor != null) parts.push(`${number(p.factor)} × DRL`);
  const drl = DRL_KINDS[p.drl_kind] ?? "DRL";
  if (p.k != null) parts.push(`${number(p.k)} × ${drl}`);
  else if (p.drl_kind) parts.push(`against the ${drl}`);
  for (const [k, v] of Object.entries(p)) {
    if (["threshold", "factor", "k", "drl_kind", "conditions"].includes(k) || v === null || typeof v === "object") continue;
    parts.push(`${label(k).toLowerCase()} ${typeof v === "number" ? number(v) : v}`);
  }
  if (Array.isArray(p.conditions) && p.conditions.length) parts.push(`when ${p.conditions.map((c) => `${label(c.field).toLowerCase()} ${words(c.op)} ${c.value ?? ""}`.trim()).join(" and ")}`);
  return parts.join("; ") || "—";
}

export async function alertRules() {
  const rules = (await get("alerts/rules")).rules;
  return screen("Alert rules", "What raises an alert: each rule's kind, quantity, level and severity, with the source it cites.",
    dataTable({ id: "alert-rules", caption: "Alert rules", columns: [
      { key: "name", label: "Rule", sort: true, wide: true },
      { key: "kind", label: "Kind", sort: true, render: (r) => words(r.kind) },
      { key: "severity", label: "Severity", sort: true },
      { key: "modality", label: "Modality", sort: true, render: (r) => r.modality ?? "any" },
      { key: "quantity", label: "Quantity", sort: true, render: (r) => (r.quantity ? explained(label(r.quantity), describe(r.quantity)) : "—") },
      { key: "level", label: "Level", wide: true, value: level },
      { key: "source", label: "Source", wide: true, hidden: false },
      { key: "verification", label: "Verified", hidden: true, render: (r) => words(r.verification) },
      { key: "enabled", label: "Enabled", sort: true, fixed: true, render: (r) => (can("physicist")
        ? actionButton(r.enabled ? "Disable" : "Enable", async () => { await put(`alerts/rules/${r.id}`, { enabled: !r.enabled }); refresh(); },
          { class: r.enabled ? "secondary" : "", "aria-label": `${r.enabled ? "Disable" : "Enable"} ${r.name}` })
        : (r.enabled ? "yes" : "no")) },
    ], rows: rules, sort: "severity", empty: "No alert rule." }));
}
