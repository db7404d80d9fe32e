// Alerts and their review: acknowledge, comment, justify, close; every step audited by the server.
import { get, post } from "../lib/api.js";
import { el, message, table } from "../lib/dom.js";

export async function alerts() {
  let data;
  try { data = await get("alerts", { limit: 100 }); }
  catch (error) { return el("section", {}, el("h1", {}, "Alerts"), message("Alerts are not available on this server.", "info")); }
  const act = (id, action) => async (event) => {
    event.stopPropagation();
    const comment = prompt(`Comment for "${action}"`) ?? "";
    await post(`alerts/${id}/${action}`, { comment });
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  };
  return el("section", {},
    el("h1", {}, "Alerts"),
    table(data.alerts, [["id", "#"], ["status", "Status"], ["study_instance_uid", "Study"], ["rule", "Rule"], ["message", "Why"],
      ["id", "", (id) => el("span", { class: "actions" },
        el("button", { class: "acknowledge", onclick: act(id, "acknowledge") }, "Acknowledge"),
        el("button", { class: "close", onclick: act(id, "close") }, "Close"))]]),
  );
}
