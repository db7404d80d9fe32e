// Kerma's web UI: a hash-routed page per task, each built from Kerma's REST API only.
import { clear, el, message } from "./lib/dom.js";
import { today } from "./screens/today.js";
import { studies } from "./screens/studies.js";
import { study } from "./screens/study.js";
import { statistics } from "./screens/statistics.js";
import { mapping } from "./screens/mapping.js";
import { drl } from "./screens/drl.js";
import { alertDetail, alerts } from "./screens/alerts.js";
import { manual } from "./screens/manual.js";
import { occupational } from "./screens/occupational.js";
import { me } from "./lib/user.js";

const ROUTES = [
  [/^#\/studies\/([^/?]+)\/manual$/, (uid) => manual(decodeURIComponent(uid))],
  [/^#\/manual$/, () => manual()],
  [/^#\/studies\/([^/?]+)$/, (uid) => study(decodeURIComponent(uid))],
  [/^#\/studies$/, studies],
  [/^#\/statistics$/, statistics],
  [/^#\/mapping$/, mapping],
  [/^#\/drl$/, drl],
  [/^#\/alerts\/(\d+)$/, alertDetail],
  [/^#\/alerts$/, alerts],
  [/^#\/occupational$/, occupational],
  [/^#\/today$/, today],
];

export function params() {
  const query = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(query));
}

async function render() {
  const view = document.getElementById("view");
  const hash = location.hash.split("?")[0] || "#/today";
  const route = ROUTES.find(([pattern]) => pattern.test(hash)) || ROUTES[ROUTES.length - 1];
  const match = hash.match(route[0]) || [];
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", hash.startsWith(link.getAttribute("href")));
  }
  clear(view).appendChild(el("p", { class: "loading" }, "Loading…"));
  try {
    const page = await route[1](...match.slice(1));
    clear(view).appendChild(page);
  } catch (error) {
    clear(view).appendChild(message(error.message, "error"));
  }
}

document.getElementById("user").textContent = me.user
  ? `${me.user} · ${me.roles.length ? me.roles.join(", ") : "no role"}` : "";
window.addEventListener("hashchange", render);
render();
