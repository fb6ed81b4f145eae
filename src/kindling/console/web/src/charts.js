// Small SVG charts for metric series: bars for counts, lines for durations, and a sparkline for the list.
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const HEIGHT = 90;

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** Values per slot of a grid: slots[i] is the sum of the points whose timestamp falls in slot i. */
export function onGrid(series, start, period, slots) {
  const out = Array(slots).fill(null);
  if (!series) return out;
  series.timestamps.forEach((t, i) => {
    const seconds = typeof t === "number" ? t : Date.parse(t) / 1000;
    const slot = Math.floor((seconds - start) / period);
    if (slot >= 0 && slot < slots) out[slot] = (out[slot] || 0) + series.values[i];
  });
  return out;
}

/** A chart of one or more series over the same slots; label says what a screen reader hears. */
export function chart(title, series, { kind = "bars", unit = "", label } = {}) {
  const slots = series[0].values.length;
  const max = Math.max(1, ...series.flatMap((s) => s.values.map((v) => v || 0)));
  const svg = svgEl("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label || title, preserveAspectRatio: "none" });
  const x = (i) => (i * WIDTH) / slots;
  const y = (v) => HEIGHT - 2 - ((v || 0) / max) * (HEIGHT - 6);
  for (const s of series) {
    if (kind === "bars") {
      s.values.forEach((v, i) => {
        if (v) svg.append(svgEl("rect", { x: x(i) + 0.5, y: y(v), width: Math.max(1, WIDTH / slots - 1), height: HEIGHT - 2 - y(v), fill: s.color }));
      });
    } else {
      const points = s.values.map((v, i) => (v === null ? null : `${x(i) + WIDTH / slots / 2},${y(v)}`)).filter(Boolean);
      svg.append(svgEl("polyline", { points: points.join(" "), fill: "none", stroke: s.color, "stroke-width": 2 }));
      for (const p of points) {
        const [cx, cy] = p.split(",");
        svg.append(svgEl("circle", { cx, cy, r: 2, fill: s.color }));
      }
    }
  }
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = `${title}${unit ? ` (${unit})` : ""} · max ${Math.round(max * 100) / 100}`;
  const legend = document.createElement("div");
  legend.className = "legend";
  if (series.length > 1) for (const s of series) legend.append(Object.assign(document.createElement("span"), { textContent: s.name, style: `color:${s.color}` }));
  figure.append(caption, svg, legend);
  return figure;
}

/** A tiny line of the values, for a table cell. */
export function sparkline(values, label) {
  const max = Math.max(1, ...values.map((v) => v || 0));
  const w = 60;
  const hgt = 16;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: "img", "aria-label": label, class: "spark" });
  const points = values.map((v, i) => `${(i * w) / Math.max(1, values.length - 1)},${hgt - 1 - ((v || 0) / max) * (hgt - 2)}`);
  svg.append(svgEl("polyline", { points: points.join(" "), fill: "none", stroke: "#0972d3", "stroke-width": 1.5 }));
  return svg;
}
