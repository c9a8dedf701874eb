// trends.js — the overview's trend charts over the whole run of the run shown (GET
// /api/v1/trends/Q?run=R: every spill), by default the last DEFAULT_SPILLS spills, with zoom and pan
// (chartjs-plugin-zoom) shared by all charts, and a button back to the default view.
// - Each line's points are coloured (and shaped) by the verdict of its own check: the point's
//   "state" of a check.NAME trend. A quantity that is no check's statistic is drawn through the
//   check that judges it when the profile has one (mot -> check.mot: the same number), else in a
//   neutral colour.
// - The good (green) and warn (amber) windows that judged each spill are bands behind the line.
//   The windows move from spill to spill with the baseline, so they are datasets of their own
//   (two per window, one value per spill, filled between by Chart.js's Filler), not annotation
//   boxes: a whole run would need one box per spill and per window, while a dataset costs one
//   point per spill and zooms, pans and clips with the data.
// - The y axis spans the visible data and good windows (not 0–200 GeV/c for p_in).
// - Manual flags and alarm transitions are vertical lines with labels (chartjs-plugin-annotation).
// - A click on a point opens that spill in the explorer with the check's histogram.
import { api, fmt, fmtTime, setText, $ } from '/lib.js';

export const DEFAULT_SPILLS = 50;
const COLOURS = { GOOD: '#2fb45a', WARN: '#e0a100', BAD: '#e0433a', UNKNOWN: '#7d8694', EXCLUDED: '#7d8694' };
const SHAPES = { GOOD: 'circle', WARN: 'triangle', BAD: 'rectRot', UNKNOWN: 'crossRot', EXCLUDED: 'crossRot' };
const NEUTRAL = '#5b8def';
const LINE_COLOURS = ['#5b8def', '#c678dd', '#56b6c2', '#f2c14e'];
const BAND = { good: 'rgba(47, 180, 90, 0.16)', warn: 'rgba(224, 161, 0, 0.12)' };
const GRID = { color: '#2a3240' };
const TEXT = '#8a94a3';

// The charts: canvas, axis title, the quantities (one line each). check: the check that judges a
// quantity that is not check.* itself. hist: the explorer's histogram when the check reads none.
// percent: a fraction shown in %.
export const TRENDS = [
  { id: 'trend-mot', axis: 'MOT per spill', lines: [{ q: 'mot', check: 'mot' }], hist: 'p_in' },
  { id: 'trend-rate', axis: 'rate', unit: 'Hz', lines: [{ q: 'trigger_rate' }], hist: 'trigger' },
  { id: 'trend-tpm', axis: 'triggers / MOT', lines: [{ q: 'per_mot.trig_physics', check: 'physics_per_mot' }],
    hist: 'trigger' },
  { id: 'trend-dead', axis: 'dead time', percent: true, lines: [{ q: 'dead_time', check: 'dead_time' }], hist: 'trigger' },
  { id: 'trend-pin', axis: 'p_in mean', lines: [{ q: 'check.p_in_mean' }], hist: 'p_in' },
  { id: 'trend-ecal', axis: 'MIP peak', lines: [{ q: 'check.ecal_mip' }], hist: 'ecal' },
  { id: 'trend-hcal', axis: 'MIP peak', lines: [0, 1, 2, 3].map(m => ({ q: `check.hcal${m}_mip`, label: `hcal${m}` })),
    hist: 'hcal0' },
];

const charts = [];
let checks = new Map(); // the profile's checks by name (GET /api/v1/checks)
let histNames = null; // the profile's histograms, to keep a drill-down on one that exists
let view = null; // null: the last DEFAULT_SPILLS spills, following new ones; 'all'; or {min, max}
let span = { first: 1, last: 1 }; // spills of the run shown
let runShown = null;
let markers = {};
let markersAt = {}; // spill -> the markers' texts, for the point tooltips

// The quantity a line draws and the check that colours it (null: neutral).
function resolve(line) {
  const name = line.check || (line.q.startsWith('check.') ? line.q.slice(6) : null);
  if (name && checks.has(name)) return { ...line, quantity: 'check.' + name, check: name };
  if (line.q.startsWith('check.')) return null; // the profile has no such check
  return { ...line, quantity: line.q, check: null };
}

const fmtAxis = (def, v) => (def.percent ? fmt(100 * v, 3) + ' %' : fmt(v, 3));
const fmtValue = (def, unit, v) => (def.percent ? fmt(100 * v, 3) + ' %' : fmt(v, 4) + (unit ? ' ' + unit : ''));

function newChart(def, lines) {
  const canvas = $(def.id);
  let down = null;
  canvas.addEventListener('pointerdown', e => { down = { x: e.clientX, y: e.clientY }; });
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
      interaction: { mode: 'nearest', intersect: true },
      plugins: {
        legend: { display: lines.length > 1, labels: { color: TEXT, boxWidth: 10, filter: item => item.datasetIndex < lines.length },
          onClick: (e, item, legend) => toggleLine(legend.chart, item.datasetIndex) },
        tooltip: { filter: item => item.datasetIndex < lines.length, callbacks: {
          title: items => (items.length ? `spill ${items[0].raw.x} · ${fmtTime(items[0].raw.p.time)}` : ''),
          label: item => tooltipLine(chart, item),
          afterLabel: item => windowText(chart, item),
          footer: items => (items.length ? (markersAt[items[0].raw.x] || []) : []),
        } },
        annotation: { annotations: {} },
        zoom: {
          limits: { x: { min: 0, max: 2, minRange: 2 } },
          pan: { enabled: true, mode: 'x', modifierKey: 'shift', onPanComplete: ({ chart: c }) => userView(c) },
          zoom: { mode: 'x', wheel: { enabled: true, modifierKey: 'ctrl' }, pinch: { enabled: true },
            drag: { enabled: true, threshold: 8, backgroundColor: 'rgba(91, 141, 239, 0.25)' },
            onZoomComplete: ({ chart: c }) => userView(c) },
        },
      },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'spill', color: TEXT }, grid: GRID,
          ticks: { color: TEXT, precision: 0, callback: v => (Number.isInteger(v) ? String(v) : '') } },
        y: { title: { display: true, text: def.axis, color: TEXT }, grid: GRID,
          ticks: { color: TEXT, includeBounds: false, callback: v => fmtAxis(def, v) } },
      },
      onHover: (e, els) => { canvas.style.cursor = els.some(x => x.datasetIndex < lines.length) ? 'pointer' : 'default'; },
      onClick: (e, els) => {
        const moved = down && e.native && Math.hypot(e.native.clientX - down.x, e.native.clientY - down.y) > 4;
        const hit = els.find(x => x.datasetIndex < lines.length);
        if (!moved && hit) drill(chart, hit.datasetIndex, hit.index);
      },
    },
  });
  chart.$sw = { def, lines, replies: [], hidden: new Set() };
  return chart;
}

function tooltipLine(chart, item) {
  const { def, lines, replies } = chart.$sw;
  const p = item.raw.p;
  const unit = (replies[item.datasetIndex] && replies[item.datasetIndex].unit) || def.unit || '';
  const name = lines.length > 1 ? lines[item.datasetIndex].label + ': ' : '';
  return `${name}${fmtValue(def, unit, p.value)}` + (p.state ? ` · ${p.state}` : '') + (p.manual ? ` · manual ${p.manual}` : '');
}

function windowText(chart, item) {
  const { def, replies } = chart.$sw;
  const p = item.raw.p;
  const unit = (replies[item.datasetIndex] && replies[item.datasetIndex].unit) || def.unit || '';
  const w = (name, x) => (x ? `${name} ${x[0] === null ? '…' : fmtValue(def, unit, x[0])} to ${x[1] === null ? '…' : fmtValue(def, unit, x[1])}` : '');
  return [w('good', p.good), w('warn', p.warn)].filter(Boolean).join(' · ');
}

// The explorer on that spill: the check's histogram, the last good spills as reference, the check
// highlighted.
function drill(chart, dsIndex, index) {
  const line = chart.$sw.lines[dsIndex];
  const p = chart.data.datasets[dsIndex].data[index].p;
  const c = line.check ? checks.get(line.check) : null;
  let h = (c && c.hist) || chart.$sw.def.hist;
  if (histNames && !histNames.includes(h)) h = histNames[0];
  const q = new URLSearchParams({ h, scope: 'spill', run: String(p.run), spills: String(p.spill), ref: 'last-good' });
  if (line.check) q.set('check', line.check);
  location.assign('/explorer.html?' + q);
}

function toggleLine(chart, i) {
  const h = chart.$sw.hidden;
  if (h.has(i)) h.delete(i);
  else h.add(i);
  applyView(chart);
}

// The view the shifter zoomed or panned to, for every chart.
function userView(chart) {
  view = { min: chart.scales.x.min, max: chart.scales.x.max };
  if (view.min <= span.first - 0.5 && view.max >= span.last + 0.5) view = 'all';
  charts.forEach(applyView);
  showRange();
}

function xRange() {
  const lo = span.first - 0.5;
  const hi = span.last + 0.5;
  if (view === 'all') return [lo, hi];
  if (view === null) return [Math.max(lo, span.last - DEFAULT_SPILLS + 0.5), hi];
  return [Math.max(lo, view.min), Math.min(hi, view.max)];
}

function showRange() {
  const [a, b] = xRange();
  const shown = `spills ${Math.ceil(a)}–${Math.floor(b)} of ${span.first}–${span.last}`;
  setText('trend-range', runShown === null ? 'no run yet' : `run ${runShown}: ${shown}` +
    (view === null ? ` (the last ${DEFAULT_SPILLS}, following new spills)` : view === 'all' ? ' (the whole run)' : ''));
  document.body.dataset.trendView = view === null ? 'last' : view === 'all' ? 'all' : 'zoomed';
}

// Colour and shape of a point: its check's verdict; GOOD points of a chart with several lines
// keep the line's colour so the lines stay apart.
function pointStyle(p, line, i, many) {
  if (!line.check) return { colour: many ? LINE_COLOURS[i % LINE_COLOURS.length] : NEUTRAL, shape: 'circle', r: many ? 1.5 : 2.5 };
  const s = p.state || 'UNKNOWN';
  if (many && s === 'GOOD') return { colour: LINE_COLOURS[i % LINE_COLOURS.length], shape: 'circle', r: 1.5 };
  return { colour: COLOURS[s] || COLOURS.UNKNOWN, shape: SHAPES[s] || 'circle', r: s === 'GOOD' ? 2.5 : 4.5 };
}

// One band edge: two points per spill (its window from spill − 0.5 to spill + 0.5), a gap where a
// spill has no window. An open end reaches beyond the axis.
function edge(points, key, side, beyond) {
  const out = [];
  let prev = null;
  for (const p of points) {
    const w = p[key];
    if (!w || (w[0] === null && w[1] === null)) {
      if (out.length && out[out.length - 1].y !== null) out.push({ x: p.spill, y: null });
      prev = null;
      continue;
    }
    if (prev !== null && p.spill !== prev + 1) out.push({ x: prev + 1, y: null });
    const v = w[side] === null ? beyond[side] : w[side];
    out.push({ x: p.spill - 0.5, y: v }, { x: p.spill + 0.5, y: v });
    prev = p.spill;
  }
  return out;
}

// The y axis around what is visible: the points of the spills in view and their good windows. A
// window end far from the data (beyond 4 data spans, the span at least 5 % of the values) is left
// off the axis, so a wide physical window does not flatten the line; its band then runs off it.
function yRange(chart, x0, x1) {
  const { lines, replies, hidden } = chart.$sw;
  let lo = Infinity;
  let hi = -Infinity;
  const ends = [];
  replies.forEach((r, i) => {
    if (hidden.has(i)) return;
    for (const p of r.points) {
      if (p.spill < x0 || p.spill > x1) continue;
      if (Number.isFinite(p.value)) { lo = Math.min(lo, p.value); hi = Math.max(hi, p.value); }
      if (lines[i].check && p.good) ends.push(...p.good.filter(Number.isFinite));
    }
  });
  if (lo === Infinity) {
    if (!ends.length) return [0, 1];
    lo = Math.min(...ends);
    hi = Math.max(...ends);
  }
  const span = Math.max(hi - lo, 0.05 * Math.max(Math.abs(lo), Math.abs(hi)));
  for (const e of ends) {
    if (e >= lo - 4 * span && e <= hi + 4 * span) { lo = Math.min(lo, e); hi = Math.max(hi, e); }
  }
  const pad = hi > lo ? 0.08 * (hi - lo) : Math.max(Math.abs(hi) * 0.05, 1e-9);
  return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad]; // no negative axis for a positive quantity
}

function applyView(chart) {
  const { def, lines, replies, hidden } = chart.$sw;
  const many = lines.length > 1;
  const [x0, x1] = xRange();
  const [y0, y1] = yRange(chart, x0, x1);
  const beyond = [y0 - (y1 - y0), y1 + (y1 - y0)];
  const datasets = replies.map((r, i) => {
    const styles = r.points.map(p => pointStyle(p, lines[i], i, many));
    return { label: lines[i].label || r.title || def.axis, data: r.points.map(p => ({ x: p.spill, y: p.value, p })),
      borderColor: many ? LINE_COLOURS[i % LINE_COLOURS.length] : (lines[i].check ? '#9aa4b2' : NEUTRAL), borderWidth: 1.2,
      pointBackgroundColor: styles.map(s => s.colour), pointBorderColor: styles.map(s => s.colour),
      pointStyle: styles.map(s => s.shape), pointRadius: styles.map(s => s.r), pointHitRadius: 6,
      hidden: hidden.has(i), order: 0, spanGaps: false, tension: 0 };
  });
  // Bands after the lines (so a line's index is its dataset index), drawn below them (order).
  replies.forEach((r, i) => {
    if (!lines[i].check) return;
    const kinds = many ? ['good'] : ['warn', 'good'];
    for (const k of kinds) {
      const colour = many ? LINE_COLOURS[i % LINE_COLOURS.length] + '22' : BAND[k];
      const common = { borderWidth: 0, pointRadius: 0, pointHitRadius: 0, hidden: hidden.has(i), order: 10, spanGaps: false,
        backgroundColor: colour, band: k, line: i };
      datasets.push({ ...common, label: `${k} low`, data: edge(r.points, k, 0, beyond), fill: false },
        { ...common, label: `${k} high`, data: edge(r.points, k, 1, beyond), fill: '-1' });
    }
  });
  chart.data.datasets = datasets;
  const o = chart.options;
  o.scales.x.min = x0;
  o.scales.x.max = x1;
  o.scales.y.min = y0;
  o.scales.y.max = y1;
  const unit = (replies.find(r => r.unit) || {}).unit || def.unit || '';
  o.scales.y.title.text = def.axis + (def.percent ? ' (%)' : unit ? ` (${unit})` : '');
  o.plugins.zoom.limits.x = { min: span.first - 0.5, max: span.last + 0.5, minRange: 2 };
  o.plugins.annotation.annotations = markers;
  chart.update('none');
}

// Vertical lines: manual flags (from the points' "manual") and alarm transitions of the run
// (firing, resolved), at their spill; a transition without a spill at the spill that was going on.
// The label is a symbol (⚑ manual flag, ▲ firing, ▼ resolved) that shows its text under the
// mouse; a point's tooltip lists the markers of its spill too.
function marker(spill, colour, dash, symbol, text, n) {
  return { type: 'line', xMin: spill, xMax: spill, borderColor: colour, borderWidth: 2, borderDash: dash,
    drawTime: 'afterDatasetsDraw', text,
    label: { display: true, content: ctx => (ctx.hovered ? text : symbol), position: ['start', 'center', 'end'][n % 3],
      color: '#fff', backgroundColor: colour, font: { size: 10, weight: 'bold' }, padding: 2 },
    enter: ctx => { ctx.hovered = true; ctx.chart.update('none'); },
    leave: ctx => { ctx.hovered = false; ctx.chart.update('none'); } };
}

function buildMarkers(points, history, run) {
  const out = {};
  const texts = {};
  const note = (spill, text) => { (texts[spill] = texts[spill] || []).push(text); return texts[spill].length - 1; };
  for (const p of points) {
    if (!p.manual) continue;
    const text = `manual ${p.manual} (checks: ${p.auto_flag || '—'})`;
    out[`manual-${p.spill}`] = marker(p.spill, COLOURS[p.manual] || TEXT, [5, 3], '⚑', text, note(p.spill, text));
  }
  const sorted = [...points].sort((a, b) => a.time - b.time);
  for (const h of history) {
    if (h.to !== 'firing' && h.to !== 'resolved') continue;
    if (h.run !== run && !(h.run === null && sorted.length && h.time >= sorted[0].time)) continue;
    let spill = h.spill;
    if (spill === null || spill === undefined) {
      const before = sorted.filter(p => p.time <= h.time);
      spill = before.length ? before[before.length - 1].spill : (points[0] && points[0].spill);
    }
    if (spill === undefined || spill === null) continue;
    const firing = h.to === 'firing';
    const text = `${h.alarm} ${h.to} ${fmtTime(h.time)}`;
    out[`alarm-${h.id}`] = marker(spill, firing ? COLOURS.BAD : '#2f8c50', [], firing ? '▲' : '▼', text, note(spill, text));
  }
  return { annotations: out, texts };
}

function setFonts() {
  const px = parseFloat(getComputedStyle(document.body).fontSize) || 15;
  Chart.defaults.font.size = Math.round(px * 0.78);
  Chart.defaults.color = TEXT;
}

// The profile's checks and histograms, then the charts (once).
export function initTrends(checkList, hists) {
  checks = new Map(checkList.map(c => [c.name, c]));
  histNames = hists;
  setFonts();
  for (const def of TRENDS) {
    const lines = def.lines.map(resolve).filter(Boolean);
    const fig = $(def.id).closest('figure');
    if (!lines.length) { fig.hidden = true; continue; }
    const chart = newChart(def, lines);
    charts.push(chart);
    const judged = lines.filter(l => l.check).map(l => checks.get(l.check).title);
    fig.querySelector('figcaption').title = judged.length === 1
      ? `points coloured by the check “${judged[0]}”; bands: its good and warn windows`
      : judged.length ? 'each module’s points coloured by its own check; bands: each module’s good window'
        : 'no check of the profile judges this quantity: neutral colour, no band';
    setText(fig.querySelector('.judged'), judged.length ? '' : '(no check: neutral)');
  }
  const reset = () => { view = null; charts.forEach(applyView); showRange(); };
  $('trend-reset').addEventListener('click', reset);
  $('trend-all').addEventListener('click', () => { view = 'all'; charts.forEach(applyView); showRange(); });
  window.addEventListener('resize', () => { setFonts(); charts.forEach(c => c.update('none')); });
  showRange();
}

// Every chart's data for run R (the whole run), the alarm history for the markers. Returns the
// spill start times (for datagap.js).
export async function refreshTrends(run) {
  const [replies, alarms] = await Promise.all([
    Promise.all(charts.map(c => Promise.all(c.$sw.lines.map(l => api(`/api/v1/trends/${l.quantity}?run=${run}`))))),
    api('/api/v1/alarms?history=1&limit=2000'),
  ]);
  if (run !== runShown) { view = null; runShown = run; }
  const all = replies.flat().flatMap(r => r.points);
  span = all.length ? all.reduce((s, p) => ({ first: Math.min(s.first, p.spill), last: Math.max(s.last, p.spill) }),
    { first: Infinity, last: -Infinity }) : { first: 1, last: 1 };
  const longest = replies.flat().reduce((a, r) => (r.points.length > a.length ? r.points : a), []);
  ({ annotations: markers, texts: markersAt } = buildMarkers(longest, alarms.history || [], run));
  charts.forEach((c, i) => { c.$sw.replies = replies[i]; applyView(c); });
  showRange();
  return longest.map(p => p.time);
}
