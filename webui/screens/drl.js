// DRL sets: national ones with their sources, local ones and achievable doses to edit.
import { get, post } from "../lib/api.js";
import { el, field, message, table } from "../lib/dom.js";
import { params } from "../app.js";
import { can } from "../lib/user.js";

export async function drl() {
  const sets = (await get("drl/sets")).sets;
  const selected = Number(params().set) || sets[0]?.id;
  const detail = selected ? await get(`drl/sets/${selected}`) : null;
  const name = el("input", { name: "name" });
  const kind = el("select", { name: "kind" }, ["local", "achievable"].map((k) => el("option", { value: k }, k)));
  const result = el("div");
  const newSet = el("form", { onsubmit: async (e) => {
    e.preventDefault();
    try { const s = await post("drl/sets", { name: name.value, kind: kind.value }); location.hash = `#/drl?set=${s.id}`; }
    catch (error) { result.replaceChildren(message(error.message, "error")); }
  } }, el("h2", {}, "New local set"), field("Name", name), field("Kind", kind), el("button", {}, "Create"), result);
  const exam = el("input", { name: "standard_exam_id", type: "number" });
  const quantity = el("input", { name: "quantity", value: "total_dlp_mGycm" });
  const value = el("input", { name: "value", type: "number", step: "any" });
  const added = el("div");
  const newValue = detail && detail.kind !== "national" ? el("form", { onsubmit: async (e) => {
    e.preventDefault();
    try { await post(`drl/sets/${selected}/values`, { standard_exam_id: Number(exam.value), quantity: quantity.value, value: Number(value.value) });
      window.dispatchEvent(new HashChangeEvent("hashchange")); }
    catch (error) { added.replaceChildren(message(error.message, "error")); }
  } }, el("h3", {}, "Add a value"), field("Standard exam id", exam), field("Quantity", quantity), field("Value", value),
  el("button", {}, "Add"), added) : null;
  return el("section", {},
    el("h1", {}, "Diagnostic reference levels"),
    table(sets, [["name", "Set"], ["kind", "Kind"], ["status", "Status"], ["enabled", "Enabled", (v) => (v ? "yes" : "no")],
      ["source", "Source"]], { rowLink: (s) => `#/drl?set=${s.id}` }),
    detail ? el("h2", {}, detail.name) : null,
    detail ? table(detail.values, [["standard_exam_id", "Exam"], ["patient_group", "Group"], ["quantity", "Quantity"], ["level", "Level"],
      ["value", "Value"], ["verification", "Verification"], ["enabled", "Enabled", (v) => (v ? "yes" : "no (unverified)")],
      ["source", "Source"]]) : null,
    can("physicist") ? [newValue, newSet] : null,
  );
}
