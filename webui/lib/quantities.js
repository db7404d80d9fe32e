// The quantities Kerma knows (GET quantities: label, unit, level, description), read once per page load, so that
// screens show "DLP (exam, mGy·cm)" instead of a field name.
import { get } from "./api.js";

let known = null;

// Every quantity by key, in the table's order.
export function quantities() {
  known ??= get("quantities").then((data) => new Map(data.quantities.map((q) => [q.key, q])))
    .catch((error) => { known = null; throw error; });
  return known;
}

// How a quantity reads: its label, level and unit ("DLP (exam, mGy·cm)").
export function nameOf(quantity) {
  const unit = quantity.unit_display ? `, ${quantity.unit_display}` : "";
  return `${quantity.label} (${quantity.level}${unit})`;
}

// A key of `known` (from quantities()) with its unit, as a column names it ("DLP (mGy·cm)"); an unknown key reads as itself.
export function heading(known, key) {
  const q = known.get(key);
  if (!q) return key;
  return q.unit_display ? `${q.label} (${q.unit_display})` : q.label;
}
