// SVG charts drawn from numbers only (no HTML from data): axes with round ticks, units, legends, the DRL as a
// labelled line, a value on hover (each mark's <title>), as wide as the page.  Text from data goes in as text.
import { el } from "./dom.js";
import { number } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const COLOURS = 8; // .s0 … .s7 in style.css
const DASHES = 4; // .d0 … .d3 in style.css: with the colours, 32 series drawn each its own way
const MANY = 12; // a legend of more series than this scrolls in a box of its own, in columns

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attributes)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const child of children.flat()) if (child !== null && child !== undefined) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  return node;
}

const tip = (text) => svg("title", {}, text);

// The width a chart gets: the page's content width
export function chartWidth() {
  const view = document.getElementById("view");
  return Math.max(300, Math.min(1360, (view?.clientWidth || window.innerWidth) - 24));
}

// Round tick values covering [low, high]: 1, 2, 2.5 or 5 × a power of ten, about `count` of them
export function ticks(low, high, count = 5) {
  if (!(high > low)) high = low + 1;
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => raw <= s) || 10 * power;
  const first = Math.floor(low / step) * step;
  const out = [];
  for (let v = first; v <= high + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1] < high) out.push(Number((out[out.length - 1] + step).toPrecision(12)));
  return out;
}

function linear(domain, range) {
  const [d0, d1] = domain, [r0, r1] = range;
  return (v) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0);
}

// how series i is drawn: its colour and, past the colours, its dash pattern
const look = (i) => `s${i % COLOURS} d${Math.floor(i / COLOURS) % DASHES}`;

// Pointing at (or tabbing to) a series' legend entry brings its line forward and dims the others: with tens of
// devices, colours and dashes repeat and the legend is how one line is found.
function pickable(item, index) {
  const show = (picked) => {
    const figure = item.closest("figure");
    if (!figure) return;
    figure.classList.toggle("picking", picked != null);
    for (const mark of figure.querySelectorAll(".picked")) mark.classList.remove("picked");
    if (picked != null) for (const mark of figure.querySelectorAll(`[data-index="${picked}"]`)) mark.classList.add("picked");
  };
  // leaving an entry goes back to the one that has the keyboard's focus, if any
  const back = () => show(item.closest("ul")?.querySelector("li[data-index]:focus")?.dataset.index ?? null);
  item.addEventListener("mouseenter", () => show(index));
  item.addEventListener("focus", () => show(index));
  item.addEventListener("mouseleave", back);
  item.addEventListener("blur", () => show(null));
  return item;
}

function legend(items) {
  return el("ul", { class: `legend${items.length > MANY ? " many" : ""}` }, items.map(([text, index, kind]) => (kind === "line"
    ? pickable(el("li", { tabindex: "0", title: text, "data-index": index },
      el("span", { class: `swatch line ${look(index)}`, "aria-hidden": "true" }), el("span", { class: "name" }, text)), index)
    : el("li", { title: text }, el("span", { class: `swatch ${kind || ""} s${index % COLOURS}`, "aria-hidden": "true" }),
      el("span", { class: "name" }, text)))));
}

function figure(title, what, chart, legendItems, attributes = {}) {
  return el("figure", { class: "chart-figure", ...attributes },
    el("figcaption", {}, el("strong", {}, title), what ? el("span", { class: "chart-what" }, ` — ${what}`) : null),
    chart, legendItems && legendItems.length ? legend(legendItems) : null);
}

// the y axis (values) of a vertical chart: gridlines, ticks, title with unit
function yAxis(root, y, values, box, title) {
  for (const t of values) {
    root.appendChild(svg("line", { x1: box.left, x2: box.right, y1: y(t), y2: y(t), class: "grid" }));
    root.appendChild(svg("text", { x: box.left - 6, y: y(t) + 4, class: "tick", "text-anchor": "end" }, number(t)));
  }
  root.appendChild(svg("text", { x: 14, y: (box.top + box.bottom) / 2, class: "axis-title", "text-anchor": "middle",
    transform: `rotate(-90 14 ${(box.top + box.bottom) / 2})` }, title));
}

function referenceLine(root, y, box, line, cls) {
  if (!line || !Number.isFinite(line.value)) return;
  root.appendChild(svg("line", { x1: box.left, x2: box.right, y1: y(line.value), y2: y(line.value), class: cls, "data-value": line.value },
    tip(line.label)));
  root.appendChild(svg("text", { x: box.right - 4, y: y(line.value) - 5, class: `${cls}-label`, "text-anchor": "end" }, line.label));
}

// Median per period for several series (devices), against the DRL.
// series: [{label, points: [{x: period, xText, y, n}]}]; lines: [{value, label}] (DRL, achievable)
export function lineChart({ title, what, series, yTitle, format = number, lines = [], width = chartWidth() }) {
  const height = 300;
  const box = { left: 64, right: width - 16, top: 16, bottom: height - 40 };
  const periods = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort();
  const text = new Map(series.flatMap((s) => s.points.map((p) => [p.x, p.xText ?? p.x])));
  const values = series.flatMap((s) => s.points.map((p) => p.y)).concat(lines.map((l) => l.value)).filter(Number.isFinite);
  const yTicks = ticks(0, Math.max(...values, 0) * 1.05);
  const y = linear([0, yTicks[yTicks.length - 1]], [box.bottom, box.top]);
  const step = periods.length > 1 ? (box.right - box.left - 24) / (periods.length - 1) : 0;
  const x = (p) => (periods.length > 1 ? box.left + 12 + periods.indexOf(p) * step : (box.left + box.right) / 2);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img", "aria-label": `${title}: ${what || ""}` });
  yAxis(root, y, yTicks, box, yTitle);
  const every = Math.max(1, Math.ceil(periods.length / Math.max(2, Math.floor((box.right - box.left) / 70))));
  periods.forEach((p, i) => {
    if (i % every) return;
    root.appendChild(svg("text", { x: x(p), y: box.bottom + 18, class: "tick", "text-anchor": "middle" }, text.get(p)));
  });
  root.appendChild(svg("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, class: "axis" }));
  lines.forEach((line, i) => referenceLine(root, y, box, line, i === 0 ? "drl" : "achievable"));
  series.forEach((s, i) => {
    const points = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => (a.x < b.x ? -1 : 1));
    root.appendChild(svg("polyline", { points: points.map((p) => `${x(p.x)},${y(p.y)}`).join(" "), class: `series ${look(i)}`,
      "data-index": i }));
    for (const p of points) {
      root.appendChild(svg("circle", { cx: x(p.x), cy: y(p.y), r: 4, class: `point s${i % COLOURS}`, "data-index": i, "data-median": p.y,
        "data-period": p.x, "data-series": s.label }, tip(`${s.label}, ${text.get(p.x)}: ${format(p.y)}${p.n ? ` (n = ${p.n})` : ""}`)));
    }
  });
  const items = series.map((s, i) => [s.label, i, "line"]).concat(lines.map((l, i) => [l.label, 0, i === 0 ? "drl" : "achievable"]));
  return figure(title, what, root, items, { class: "chart-figure exam-chart" });
}

// Distribution per device: box (25th–75th percentile), median, whiskers min–max, against the DRL.
// boxes: [{label, min, p25, median, p75, max, n}]
export function boxPlot({ title, what, boxes, xTitle, format = number, lines = [], width = chartWidth() }) {
  const row = 34;
  const left = Math.min(220, Math.max(90, Math.max(...boxes.map((b) => b.label.length)) * 7 + 16));
  const height = 24 + boxes.length * row + 44;
  const box = { left, right: width - 16, top: 12, bottom: height - 44 };
  const values = boxes.flatMap((b) => [b.min, b.max]).concat(lines.map((l) => l.value)).filter(Number.isFinite);
  const xTicks = ticks(0, Math.max(...values, 0) * 1.05);
  const x = linear([0, xTicks[xTicks.length - 1]], [box.left, box.right]);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img", "aria-label": `${title}: ${what || ""}` });
  for (const t of xTicks) {
    root.appendChild(svg("line", { x1: x(t), x2: x(t), y1: box.top, y2: box.bottom, class: "grid" }));
    root.appendChild(svg("text", { x: x(t), y: box.bottom + 16, class: "tick", "text-anchor": "middle" }, number(t)));
  }
  root.appendChild(svg("text", { x: (box.left + box.right) / 2, y: height - 8, class: "axis-title", "text-anchor": "middle" }, xTitle));
  boxes.forEach((b, i) => {
    const cy = box.top + i * row + row / 2;
    const label = b.label.length > 30 ? `${b.label.slice(0, 29)}…` : b.label;
    root.appendChild(svg("text", { x: left - 8, y: cy + 4, class: "tick", "text-anchor": "end" }, label, tip(b.label)));
    const summary = `${b.label}: median ${format(b.median)}, 25th–75th percentile ${format(b.p25)}–${format(b.p75)}, `
      + `range ${format(b.min)}–${format(b.max)}${b.n ? `, n = ${b.n}` : ""}`;
    const g = svg("g", { class: "box-group" }, tip(summary));
    g.appendChild(svg("line", { x1: x(b.min), x2: x(b.max), y1: cy, y2: cy, class: "whisker" }));
    g.appendChild(svg("rect", { x: x(b.p25), y: cy - 10, width: Math.max(1, x(b.p75) - x(b.p25)), height: 20, class: "box" }));
    g.appendChild(svg("line", { x1: x(b.median), x2: x(b.median), y1: cy - 10, y2: cy + 10, class: "median", "data-median": b.median }));
    root.appendChild(g);
  });
  lines.forEach((line, i) => {
    if (!Number.isFinite(line.value)) return;
    const cls = i === 0 ? "drl" : "achievable";
    root.appendChild(svg("line", { x1: x(line.value), x2: x(line.value), y1: box.top, y2: box.bottom, class: cls }, tip(line.label)));
    root.appendChild(svg("text", { x: x(line.value) + 4, y: box.top + 10 + i * 12, class: `${cls}-label` }, line.label));
  });
  return figure(title, what, root, lines.map((l, i) => [l.label, 0, i === 0 ? "drl" : "achievable"]));
}

// Points [x, y]: a quantity against the patient's weight or age
export function scatterChart({ title, what, points, xTitle, yTitle, format = number, lines = [], width = chartWidth() }) {
  const height = 320;
  const box = { left: 64, right: width - 16, top: 16, bottom: height - 44 };
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]).concat(lines.map((l) => l.value)).filter(Number.isFinite);
  const xTicks = ticks(Math.min(...xs, 0), Math.max(...xs, 1) * 1.02);
  const yTicks = ticks(0, Math.max(...ys, 0) * 1.05);
  const x = linear([xTicks[0], xTicks[xTicks.length - 1]], [box.left, box.right]);
  const y = linear([0, yTicks[yTicks.length - 1]], [box.bottom, box.top]);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart", role: "img", "aria-label": `${title}: ${what || ""}` });
  yAxis(root, y, yTicks, box, yTitle);
  for (const t of xTicks) root.appendChild(svg("text", { x: x(t), y: box.bottom + 18, class: "tick", "text-anchor": "middle" }, number(t)));
  root.appendChild(svg("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, class: "axis" }));
  root.appendChild(svg("text", { x: (box.left + box.right) / 2, y: height - 6, class: "axis-title", "text-anchor": "middle" }, xTitle));
  lines.forEach((line, i) => referenceLine(root, y, box, line, i === 0 ? "drl" : "achievable"));
  const dots = svg("g", { class: "dots" });
  for (const [px, py] of points) {
    dots.appendChild(svg("circle", { cx: x(px), cy: y(py), r: 3, class: "dot s0" }, tip(`${number(px)} → ${format(py)}`)));
  }
  root.appendChild(dots);
  return figure(title, what, root, lines.map((l, i) => [l.label, 0, i === 0 ? "drl" : "achievable"]));
}
