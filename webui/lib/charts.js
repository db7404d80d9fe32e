// Small SVG charts drawn from numbers only (no HTML from data): median over time against the DRL, box plots.
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function scale(values, from, to) {
  const finite = values.filter((v) => Number.isFinite(v));
  const low = Math.min(0, ...finite);
  const high = Math.max(...finite, 1e-9) * 1.1;
  return (v) => to - ((v - low) / (high - low)) * (to - from);
}

// series: [{label, points: [[period, median]]}], drl: number | null
export function medianChart(series, drl, { title = "", unit = "" } = {}) {
  const legendRows = Math.ceil(series.length / 4);
  const width = 640, height = 246 + legendRows * 14, left = 56, right = 16, top = 24, bottom = 26 + legendRows * 14;
  const periods = [...new Set(series.flatMap((s) => s.points.map(([p]) => p)))].sort();
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).concat(drl ?? []);
  const y = scale(values, top, height - bottom);
  const x = (p) => left + (periods.length < 2 ? (width - left - right) / 2 : (periods.indexOf(p) / (periods.length - 1)) * (width - left - right));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  root.appendChild(svg("text", { x: left, y: 16, class: "chart-title" }, title));
  root.appendChild(svg("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis" }));
  root.appendChild(svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" }));
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const max = Math.max(...values.filter(Number.isFinite), 1e-9) * 1.1;
    const value = max * tick;
    root.appendChild(svg("text", { x: left - 6, y: y(value) + 4, class: "tick", "text-anchor": "end" }, Number(value.toPrecision(3))));
  }
  periods.forEach((p) => root.appendChild(svg("text", { x: x(p), y: height - bottom + 16, class: "tick", "text-anchor": "middle" }, p)));
  if (drl) {
    root.appendChild(svg("line", { x1: left, y1: y(drl), x2: width - right, y2: y(drl), class: "drl", "data-drl": drl }));
    root.appendChild(svg("text", { x: width - right, y: y(drl) - 4, class: "drl-label", "text-anchor": "end" }, `DRL ${drl} ${unit}`));
  }
  series.forEach((s, i) => {
    const points = s.points.filter(([, v]) => Number.isFinite(v));
    root.appendChild(svg("polyline", { points: points.map(([p, v]) => `${x(p)},${y(v)}`).join(" "), class: `series s${i % 6}` }));
    points.forEach(([p, v]) => root.appendChild(svg("circle", {
      cx: x(p), cy: y(v), r: 3.5, class: `point s${i % 6}`, "data-period": p, "data-median": v, "data-series": s.label,
    })));
  });
  const legend = svg("g", {});
  series.forEach((s, i) => legend.appendChild(svg("text", {
    x: left + 8 + (i % 4) * 150, y: height - bottom + 30 + Math.floor(i / 4) * 14, class: `legend s${i % 6}`,
  }, s.label)));
  root.appendChild(legend);
  return root;
}

// boxes: [{label, min, p25, median, p75, max}]
export function boxPlot(boxes, { title = "" } = {}) {
  const width = 640, row = 28, left = 160, right = 24, top = 24;
  const height = top + boxes.length * row + 24;
  const values = boxes.flatMap((b) => [b.min, b.max]);
  const max = Math.max(...values.filter(Number.isFinite), 1e-9) * 1.05;
  const x = (v) => left + (v / max) * (width - left - right);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  root.appendChild(svg("text", { x: 8, y: 16, class: "chart-title" }, title));
  boxes.forEach((b, i) => {
    const cy = top + i * row + row / 2;
    root.appendChild(svg("text", { x: left - 8, y: cy + 4, class: "tick", "text-anchor": "end" }, b.label));
    root.appendChild(svg("line", { x1: x(b.min), y1: cy, x2: x(b.max), y2: cy, class: "whisker" }));
    root.appendChild(svg("rect", { x: x(b.p25), y: cy - 8, width: Math.max(1, x(b.p75) - x(b.p25)), height: 16, class: "box" }));
    root.appendChild(svg("line", { x1: x(b.median), y1: cy - 8, x2: x(b.median), y2: cy + 8, class: "median", "data-median": b.median }));
  });
  return root;
}

// points: [{x, y, label}]
export function scatter(points, { title = "", xLabel = "", yLabel = "" } = {}) {
  const width = 640, height = 260, left = 56, right = 16, top = 24, bottom = 40;
  const maxX = Math.max(...points.map((p) => p.x), 1e-9) * 1.05;
  const maxY = Math.max(...points.map((p) => p.y), 1e-9) * 1.05;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  root.appendChild(svg("text", { x: left, y: 16, class: "chart-title" }, title));
  root.appendChild(svg("text", { x: width - right, y: height - 8, class: "tick", "text-anchor": "end" }, xLabel));
  root.appendChild(svg("text", { x: 8, y: top + 10, class: "tick" }, yLabel));
  root.appendChild(svg("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis" }));
  root.appendChild(svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" }));
  for (const p of points) {
    root.appendChild(svg("circle", {
      cx: left + (p.x / maxX) * (width - left - right), cy: height - bottom - (p.y / maxY) * (height - top - bottom), r: 3, class: "point s0",
    }));
  }
  return root;
}
