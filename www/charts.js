// charts.js — how spillwatch draws a histogram (the explorer and the overview's live histograms).
//
// 1D: the data as bars on a *linear* x axis in the histogram's unit: one bar per bin at the bin's
// centre (the labels are the centres, the data the counts), as wide as the bin (bar and category percentage 1, so a bar fills the distance
// between two bin centres), with round ticks (1, 2, 2.5 or 5 × 10^k) chosen here, not the bin
// centres. Bars rather than a filled step line, because a bar is one bin: hovering it names the
// bin's range and its count. The reference is an outline (a stepped line through the bin edges)
// drawn over the bars, the usual data-versus-reference picture. y: "entries / bin (W unit)".
// Category histograms (definition "x.labels", e.g. the trigger mix) get a category axis with the
// names, and the reference as outlined bars.
// Log scale: the y axis starts at a floor (0.5 entries): empty data bins are not drawn, the
// reference below the floor runs along it, so nothing goes to -infinity and the outline stays.
// 2D: a chartjs-chart-matrix heat map, one cell per bin (empty bins not drawn), viridis colours
// on a linear or log scale with a colour bar and its tick values to the right; axis titles with
// units; square cells when both axes have the same unit (the plot area is kept at the axes'
// ratio), so a round beam spot looks round.
// Every chart keeps what it drew in chart.$sw (kind, bin width, floor, colour bar) for the tests.
import { fmt } from '/lib.js';

export const COLOURS = { data: '#5b8def', ref: '#f2c14e', grid: '#2a3240', ticks: '#8a94a3', text: '#e6e9ee' };
export const LOG_FLOOR = 0.5;
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

// A number for an axis or a tick: no exponent notation, no float noise (0.30000000000000004).
export function tickLabel(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a >= 1e4) return fmt(v, 3).replace(/\.?0+ /, ' ');
  if (a > 0 && a < 1e-4) return fmt(v, 2);
  return String(Number(v.toPrecision(6)));
}

// Round tick values in [lo, hi], at most about n: multiples of 1, 2, 2.5 or 5 × 10^k.
export function niceTicks(lo, hi, n = 10) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, n - 1);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * p).find(s => s >= raw * (1 - 1e-9));
  const out = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

// A log axis labels 1, 2 and 5 × 10^k only (the others stay as grid lines).
function logLabel(v) {
  const m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
  return [1, 2, 5].some(x => Math.abs(m - x) < 1e-6) ? tickLabel(v) : '';
}

export function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
  const c = VIRIDIS[i].map((a, k) => Math.round(a + f * (VIRIDIS[i + 1][k] - a)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export const binWidth = (axis) => (axis.max - axis.min) / axis.bins;
const withUnit = (v, unit) => `${tickLabel(v)}${unit ? ' ' + unit : ''}`;
const labelsOf = (h, def) => {
  const l = (h.x && h.x.labels) || (def && def.x && def.x.labels);
  return Array.isArray(l) && l.length === h.x.bins ? l : null;
};

// The x axis ticks of a histogram: round values (afterBuildTicks replaces Chart.js's own, which
// start at the axis minimum, e.g. -0.2, 0.3, 0.8 ...).
function roundTicks(count) {
  return (axis) => { axis.ticks = niceTicks(axis.min, axis.max, count).map(value => ({ value })); };
}

function axisTitle(text) {
  return { display: !!text, text: text || '', color: COLOURS.ticks };
}

// Draws histogram reply h on canvas (a new chart, or the one there updated in place).
// o: {def (the definition from GET /api/v1/histograms), ref (a reply to overlay, same binning),
//     refLabel, log, compact (small panels: fewer ticks, no legend)}.
export function drawHistogram(canvas, h, o = {}) {
  const kind = h.y ? '2d' : labelsOf(h, o.def) ? 'category' : '1d';
  const config = kind === '2d' ? matrixConfig(h, o) : barConfig(h, o, kind);
  let chart = Chart.getChart(canvas);
  if (chart && chart.$sw && chart.$sw.kind === kind && chart.$sw.plugins === config.plugins.length) {
    chart.data = config.data;
    chart.options = config.options;
    chart.$sw = config.sw;
    chart.update('none');
    return chart;
  }
  if (chart) chart.destroy();
  chart = new Chart(canvas, { data: config.data, options: config.options, plugins: config.plugins });
  chart.$sw = config.sw;
  return chart;
}

export function clearChart(canvas) {
  const chart = Chart.getChart(canvas);
  if (chart) chart.destroy();
}

function barConfig(h, o, kind) {
  const log = !!o.log, compact = !!o.compact;
  const unit = h.unit || (o.def && o.def.unit) || '';
  const w = binWidth(h.x);
  const cat = kind === 'category' ? labelsOf(h, o.def) : null;
  const shown = (c) => (log && !(c > 0) ? null : c);
  const centre = (i) => h.x.min + (i + 0.5) * w;
  // counts as plain numbers, placed by the labels: the category names, or the bin centres (numbers,
  // which the linear x axis parses as positions)
  const data = h.counts.map(shown);
  const datasets = [{ type: 'bar', label: 'data', data, backgroundColor: COLOURS.data, borderWidth: 0, grouped: false,
                      barPercentage: cat ? 0.8 : 1, categoryPercentage: 1, order: 2 }];
  let refScale = null;
  if (o.ref && o.ref.entries > 0 && o.ref.counts.length === h.counts.length) {
    // scaled to the data's area in range (under/overflow differ between the two)
    const area = (a) => a.reduce((x, y) => x + y, 0);
    refScale = area(o.ref.counts) > 0 && area(h.counts) > 0 ? area(h.counts) / area(o.ref.counts) : 1;
    const v = o.ref.counts.map(c => (log ? Math.max(LOG_FLOOR, c * refScale) : c * refScale));
    const label = o.refLabel || 'reference (scaled)';
    if (cat) {
      datasets.push({ type: 'bar', label, data: v, backgroundColor: 'rgba(0,0,0,0)', borderColor: COLOURS.ref,
                      borderWidth: 2, grouped: false, barPercentage: 0.8, categoryPercentage: 1, order: 1 });
    } else {
      // through the bin edges: bin i from edge i to edge i+1 at its value, then a step
      const pts = v.map((y, i) => ({ x: h.x.min + i * w, y }));
      pts.push({ x: h.x.max, y: v[v.length - 1] });
      datasets.push({ type: 'line', label, data: pts, borderColor: COLOURS.ref, borderWidth: 1.5, pointRadius: 0,
                      pointHitRadius: 0, stepped: 'before', fill: false, order: 1 });
    }
  }
  const x = cat
    ? { type: 'category', labels: cat, grid: { display: false }, title: axisTitle(unit),
        ticks: { color: COLOURS.text, autoSkip: false, maxRotation: 0 } }
    : { type: 'linear', min: h.x.min, max: h.x.max, offset: false, grid: { display: false }, title: axisTitle(unit),
        afterBuildTicks: roundTicks(compact ? 6 : 11),
        ticks: { color: COLOURS.ticks, autoSkip: true, autoSkipPadding: 8, maxRotation: 0, callback: tickLabel } };
  const yTitle = cat ? 'entries' : `entries / bin (${withUnit(w, unit)})`;
  const y = { type: log ? 'logarithmic' : 'linear', grid: { color: COLOURS.grid }, title: axisTitle(yTitle),
              ticks: { color: COLOURS.ticks, maxTicksLimit: compact ? 5 : 9, autoSkip: true, callback: log ? logLabel : tickLabel } };
  if (log) y.min = LOG_FLOOR;
  else y.beginAtZero = true;
  // mode 'x': the bin under the pointer (the outline's points have no hit area); the reference's
  // value of that bin goes into the footer.
  const refValues = datasets.length > 1 && !cat ? datasets[1].data : null;
  const tooltip = {
    callbacks: {
      title: (items) => {
        const i = items[0].dataIndex;
        if (cat) return cat[i];
        return `${tickLabel(centre(i) - w / 2)} – ${tickLabel(centre(i) + w / 2)}${unit ? ' ' + unit : ''}`;
      },
      label: (item) => `${item.dataset.label}: ${fmt(item.parsed.y, 4)} entries`,
      footer: (items) => (refValues && items.length ? `${datasets[1].label}: ${fmt(refValues[items[0].dataIndex].y, 4)}` : ''),
    },
  };
  return {
    data: { labels: cat || h.counts.map((_, i) => centre(i)), datasets },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'x', intersect: false },
      plugins: { legend: { display: datasets.length > 1 && !compact, labels: { color: COLOURS.text, boxHeight: 10, sort: (a, b) => a.datasetIndex - b.datasetIndex } }, tooltip },
      scales: { x, y } },
    plugins: [],
    sw: { kind, log, unit, binWidth: w, floor: log ? LOG_FLOOR : null, refScale, labels: cat, plugins: 0 },
  };
}

// The colour bar right of a heat map: a viridis strip with round tick values and a title. Its
// geometry and ticks go to chart.$sw.colourBar.
// (The plugins read chart.$sw, or during the first layout, before the constructor returns, the
// config's own.)
const colourBar = (first) => ({
  id: 'swColourBar',
  afterDraw(chart) {
    const sw0 = chart.$sw || first;
    const cb = sw0 && sw0.colourBar;
    if (!cb) return;
    const a = chart.chartArea, g = chart.ctx;
    const left = a.right + 14, width = 14, top = a.top, height = a.bottom - a.top;
    const pos = (v) => (cb.log ? (Math.log10(v) - Math.log10(cb.min)) / (Math.log10(cb.max) - Math.log10(cb.min) || 1)
      : (v - cb.min) / (cb.max - cb.min || 1));
    g.save();
    const grad = g.createLinearGradient(0, a.bottom, 0, a.top);
    for (let i = 0; i <= 10; i++) grad.addColorStop(i / 10, viridis(i / 10));
    g.fillStyle = grad;
    g.fillRect(left, top, width, height);
    g.strokeStyle = COLOURS.grid;
    g.strokeRect(left, top, width, height);
    g.fillStyle = COLOURS.ticks;
    g.font = '12px system-ui, sans-serif';
    g.textBaseline = 'middle';
    for (const t of cb.ticks) {
      const y = a.bottom - pos(t.value) * height;
      g.fillRect(left + width, y - 0.5, 4, 1);
      g.fillText(t.label, left + width + 6, y);
    }
    g.translate(left + width + 56, a.top + height / 2);
    g.rotate(Math.PI / 2);
    g.textAlign = 'center';
    g.fillText(cb.title, 0, 0);
    g.restore();
    cb.box = { left, top, width, height };
  },
});

// Keeps the plot area at the axes' ratio (square cells for equal units) by padding the wider side
// and laying out once more; a resize starts over.
const aspect = (first) => ({
  id: 'swAspect',
  afterLayout(chart) {
    const sw = chart.$sw || first;
    if (!sw || !sw.aspect) return;
    const a = chart.chartArea;
    const want = sw.aspect, w = a.right - a.left, hgt = a.bottom - a.top;
    if (w <= 0 || hgt <= 0 || sw.aspectTries >= 4) return;
    let dx = 0, dy = 0;
    if (w > hgt * want + 1.5) dx = w - hgt * want;
    else if (hgt > w / want + 1.5) dy = hgt - w / want;
    if (!dx && !dy) return;
    sw.aspectTries = (sw.aspectTries || 0) + 1;
    sw.padX = (sw.padX || 0) + dx;
    sw.padY = (sw.padY || 0) + dy;
    chart.options.layout.padding = { left: 6 + sw.padX / 2, right: 80 + sw.padX / 2, top: 6 + sw.padY / 2, bottom: sw.padY / 2 };
    queueMicrotask(() => { if (chart.ctx) chart.update('none'); });
  },
  resize(chart) {
    const sw = chart.$sw || first;
    if (!sw || !sw.aspect) return;
    sw.aspectTries = 0;
    sw.padX = 0;
    sw.padY = 0;
    chart.options.layout.padding = { left: 6, right: 80, top: 6, bottom: 0 };
  },
});

function matrixConfig(h, o) {
  const log = !!o.log;
  const def = o.def || {};
  const nx = h.x.bins, ny = h.y.bins, wx = binWidth(h.x), wy = binWidth(h.y);
  const ux = h.unit || def.unit || '', uy = h.y.unit || (def.y && def.y.unit) || '';
  const cells = [];
  let vmax = 0, vmin = Infinity;
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const v = h.counts[iy * nx + ix];
      if (!(v > 0)) continue;
      cells.push({ x: h.x.min + (ix + 0.5) * wx, y: h.y.min + (iy + 0.5) * wy, v });
      vmax = Math.max(vmax, v);
      vmin = Math.min(vmin, v);
    }
  }
  if (!cells.length) { vmax = 1; vmin = 1; }
  const lo = log ? Math.max(0.5, Math.min(vmin, 1)) : 0;
  const hi = Math.max(vmax, log ? lo * 10 : 1);
  const norm = (v) => (log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi);
  let ticks;
  if (log) {
    ticks = [];
    for (let e = Math.ceil(Math.log10(lo)); Math.pow(10, e) <= hi; e++)
      for (const m of [1, 2, 5]) { const v = m * Math.pow(10, e); if (v >= lo && v <= hi) ticks.push(v); }
    if (ticks.length > 9) ticks = ticks.filter(v => logLabel(v) && Math.abs(v / Math.pow(10, Math.round(Math.log10(v))) - 1) < 1e-6);
  } else {
    ticks = niceTicks(0, hi, 6);
  }
  const sameUnit = ux && ux === uy;
  const sw = { kind: '2d', log, unit: ux, unitY: uy, binWidth: wx, binWidthY: wy, plugins: 2,
    aspect: sameUnit ? (h.x.max - h.x.min) / (h.y.max - h.y.min) : null,
    colourBar: { min: lo, max: hi, log, title: `entries / bin (${withUnit(wx, ux)} × ${withUnit(wy, uy)})`,
                 ticks: ticks.map(value => ({ value, label: tickLabel(value) })) } };
  const cellSize = (n, dim) => ({ chart }) => {
    const a = chart.chartArea;
    return a ? (dim === 'x' ? a.right - a.left : a.bottom - a.top) / n + 0.5 : 0;
  };
  const axis = (ax, unit, compactCount) => ({ type: 'linear', min: ax.min, max: ax.max, offset: false, reverse: false,
    grid: { color: COLOURS.grid }, title: axisTitle(unit), afterBuildTicks: roundTicks(compactCount),
    ticks: { color: COLOURS.ticks, autoSkip: true, autoSkipPadding: 8, maxRotation: 0, callback: tickLabel } });
  return {
    data: { datasets: [{ type: 'matrix', label: 'entries', data: cells, borderWidth: 0,
      backgroundColor: (c) => (c.raw ? viridis(norm(c.raw.v)) : 'rgba(0,0,0,0)'),
      width: cellSize(nx, 'x'), height: cellSize(ny, 'y') }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      layout: { padding: { left: 6, right: 80, top: 6, bottom: 0 } },
      plugins: { legend: { display: false }, tooltip: { callbacks: {
        title: (items) => {
          const r = items[0].raw;
          return `x ${tickLabel(r.x - wx / 2)} – ${tickLabel(r.x + wx / 2)} ${ux}, y ${tickLabel(r.y - wy / 2)} – ${tickLabel(r.y + wy / 2)} ${uy}`;
        },
        label: (item) => `${fmt(item.raw.v, 4)} entries` } } },
      scales: { x: axis(h.x, ux, o.compact ? 5 : 9), y: axis(h.y, uy, o.compact ? 5 : 9) } },
    plugins: [aspect(sw), colourBar(sw)],
    sw,
  };
}
