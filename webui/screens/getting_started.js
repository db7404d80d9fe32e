// Getting started: the three things an administrator does first, each a link to its screen.
import { el, screen } from "../lib/dom.js";

const STEPS = [
  ["Load or enable diagnostic reference levels", "#/drl", "National sets come with Kerma, disabled until a physicist checks them "
    + "against their source; add a local set and achievable doses for your own examinations."],
  ["Map the first protocols", "#/mapping", "The most frequent local protocol and study names that are not mapped are listed first: "
    + "map each to a standard examination; the whole history is mapped again."],
  ["Add the recipients of alerts", "#/notifications", "Who is told of which alerts by e-mail, and who gets the morning digest."],
  ["Check what arrives", "#/ingest-errors", "Objects that gave no dose record, and why; devices that stopped sending are on the Today page."],
];

export function gettingStarted() {
  return screen("Getting started", "For an administrator setting Kerma up: the first steps, in order.",
    el("ol", { class: "steps" }, STEPS.map(([title, href, what]) => el("li", {}, el("a", { href }, title), el("p", {}, what)))));
}
