// explorer.js — the histogram explorer: every histogram of the profile in any scope (live, one spill,
// a range, the whole run, the last N spills; good spills only), on a linear or log scale, with a
// reference overlaid (the good spills of a reference run, or the last N good spills, scaled to the
// same area in range), the check results beside it, and 2D histograms as a heat map. The state
// lives in the URL, so a view can be passed on. Live scope refreshes every 2 s.
import { $, api, el, every, flagBadge, fmt, header, say, setText, staleness } from '/lib.js';

header('/explorer.html', 'histograms');
const live = staleness(8);
const params = new URLSearchParams(location.search);
let defs = [];
let current = params.get('h');
let chart = null;

for (const [k, v] of params) {
  const e = $(k === 'h' ? 'none' : k);
  if (!e) continue;
  if (e.type === 'checkbox') e.checked = v === '1';
  else e.value = v;
}

function query(base) {
  const scope = $('scope').value;
  const q = new URLSearchParams();
  const run = $('run').value.trim();
  if (scope !== 'live' && run) q.set('run', run);
  if (scope === 'spill') q.set('spill', $('spills').value.trim());
  if (scope === 'range') q.set('spills', $('spills').value.trim());
  if (scope === 'last') q.set('last', $('last').value.trim() || '20');
  if (base && $('good').checked) q.set('quality', 'good');
  return q;
}

function refQuery() {
  const kind = $('ref').value;
  if (!kind) return null;
  const q = new URLSearchParams({ quality: 'good' });
  if (kind === 'run-good') {
    if (!$('refrun').value.trim()) return null;
    q.set('run', $('refrun').value.trim());
  } else {
    q.set('last', $('last').value.trim() || '20');
  }
  return q;
}

function saveState() {
  const p = new URLSearchParams();
  if (current) p.set('h', current);
  for (const id of ['scope', 'run', 'spills', 'last', 'ref', 'refrun'])
    if ($(id).value) p.set(id, $(id).value);
  for (const id of ['good', 'log']) if ($(id).checked) p.set(id, '1');
  history.replaceState(null, '', '?' + p);
}

function renderList() {
  const f = $('filter').value.toLowerCase();
  $('hist-list').replaceChildren(...defs.filter(d => !f || d.name.includes(f) || d.title.toLowerCase().includes(f))
    .map(d => el('li', {}, el('a', { href: '#', class: d.name === current ? 'here' : null, dataset: { h: d.name },
      onclick: (ev) => { ev.preventDefault(); current = d.name; renderList(); refresh(); } },
    d.name, el('span', { class: 'small' }, ' ' + d.title + (d.dim === 2 ? ' (2D)' : ''))))));
}

const GRID = { color: '#2a3240' };
const TICKS = { color: '#8a94a3' };

function draw1D(h, ref) {
  $('heat').hidden = true;
  $('chart').hidden = false;
  const w = (h.x.max - h.x.min) / h.x.bins;
  const labels = h.counts.map((_, i) => +(h.x.min + (i + 0.5) * w).toPrecision(4));
  const datasets = [{ type: 'bar', label: 'data', data: h.counts, backgroundColor: '#5b8def', barPercentage: 1, categoryPercentage: 1 }];
  if (ref && ref.entries > 0 && ref.counts.length === h.counts.length) {
    const area = (a) => a.reduce((x, y) => x + y, 0); /* in range: under/overflow differ between them */
    const k = area(ref.counts) > 0 ? area(h.counts) / area(ref.counts) : 1;
    datasets.push({ type: 'line', label: 'reference (scaled)', data: ref.counts.map(c => c * k), borderColor: '#f2c14e',
                    borderWidth: 1.5, pointRadius: 0, stepped: 'middle' });
  }
  const log = $('log').checked;
  if (chart) chart.destroy();
  chart = new Chart($('chart'), {
    data: { labels, datasets },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: datasets.length > 1, labels: { color: '#e6e9ee' } } },
      scales: { x: { title: { display: !!h.unit, text: h.unit, color: '#8a94a3' }, grid: { display: false },
                     ticks: Object.assign({ maxTicksLimit: 12 }, TICKS) },
                y: { type: log ? 'logarithmic' : 'linear', grid: GRID, ticks: TICKS, beginAtZero: !log } } },
  });
}

// A heat map on a plain canvas: counts flat with x fastest (docs/api.md), a dark-to-yellow scale.
function draw2D(h) {
  if (chart) { chart.destroy(); chart = null; }
  $('chart').hidden = true;
  const c = $('heat');
  c.hidden = false;
  const box = c.parentElement.getBoundingClientRect();
  c.width = Math.max(200, Math.floor(box.width));
  c.height = Math.max(200, Math.floor(box.height));
  const g = c.getContext('2d');
  g.fillStyle = '#0c0f13';
  g.fillRect(0, 0, c.width, c.height);
  const nx = h.x.bins, ny = h.y.bins, log = $('log').checked;
  const scale = (v) => (log ? Math.log10(1 + v) : v);
  const max = Math.max(1e-9, ...h.counts.map(scale));
  const m = 40, W = c.width - m - 10, H = c.height - m - 10;
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const v = h.counts[iy * nx + ix];
      if (!v) continue;
      const t = scale(v) / max;
      g.fillStyle = `hsl(${240 - 180 * t}, 80%, ${20 + 45 * t}%)`;
      g.fillRect(m + (ix * W) / nx, 10 + H - ((iy + 1) * H) / ny, Math.ceil(W / nx), Math.ceil(H / ny));
    }
  }
  g.fillStyle = '#8a94a3';
  g.font = '12px system-ui';
  g.fillText(`${h.x.min} … ${h.x.max} ${h.unit || ''}`, m, c.height - 4);
  g.save();
  g.translate(12, 10 + H);
  g.rotate(-Math.PI / 2);
  g.fillText(`${h.y.min} … ${h.y.max} ${h.unit_y || h.y.unit || ''}`, 0, 0);
  g.restore();
}

async function renderChecks(def, h) {
  let run = h.run, spill = h.spill;
  if (h.spill_range && h.spill_range.length === 2) spill = h.spill_range[1];
  if (run === null || run === undefined || spill === null || spill === undefined || !def.checks.length) {
    $('checks').tBodies[0].replaceChildren();
    setText('checks-where', def.checks.length ? '(no closed spill in this scope)' : '(none)');
    return;
  }
  let s;
  try {
    s = await api(`/api/v1/runs/${run}/spills/${spill}`);
  } catch (e) {
    // the live spill is still open: its checks come when it closes
    setText('checks-where', `(spill ${spill} of run ${run} is still open)`);
    $('checks').tBodies[0].replaceChildren();
    return;
  }
  setText('checks-where', `— spill ${spill} of run ${run}`);
  $('checks').tBodies[0].replaceChildren(...s.checks.filter(c => def.checks.includes(c.name)).map(c => {
    const v = verdict(c);
    return el('tr', {},
      el('td', {}, c.name), el('td', {}, flagBadge(c.state)), el('td', { class: 'num' }, withUnit(c.raw, c.unit)),
      el('td', { class: 'num' }, withUnit(v.expected, c.unit)), el('td', {}, range(v.good)), el('td', {}, range(v.warn)),
      el('td', {}, v.from), el('td', {}, c.reason || ''));
  }));
}

const range = (r) => (r && r[0] !== undefined ? `[${fmt(r[0], 4)}, ${fmt(r[1], 4)}]` : '—');
const withUnit = (x, unit) => (x === null || x === undefined ? '—' : `${fmt(x, 4)}${unit ? ' ' + unit : ''}`);

// Where a verdict came from (the provenance the server stored with it), in the statistic's units: the
// layer that made a non-GOOD state, else the stability window when it judged, else the physical one.
function verdict(c) {
  const p = c.provenance || {};
  const ph = p.physical, st = p.stability;
  const stab = st && st.state !== 'EXCLUDED' ? st : null;
  const use = p.layer === 'physical' ? ph : p.layer === 'stability' ? st : (stab || ph || st);
  const src = st && st.source ? st.source : {};
  let from;
  if (use === ph && ph) {
    const nominal = ph.nominal !== undefined ? ` around ${fmt(ph.nominal, 4)} (${ph.nominal_from})` : '';
    const learning = src.kind === 'learning' ? `; ${src.text}` : '';
    from = `physical window${nominal}${learning}`;
  } else if (src.kind === 'baseline') {
    from = `baseline: ${src.text}${src.carried ? ' (carried over)' : ''}`;
  } else if (src.kind === 'learning') {
    from = src.text;
  } else if (src.kind === 'peers') {
    from = `median of ${src.used} peers`;
  } else if (src.kind === 'reference_run') {
    from = `reference run ${src.run}`;
  } else if (src.kind === 'rolling_median') {
    from = 'rolling median';
  } else if (src.kind === 'fixed') {
    from = 'fixed reference';
  } else {
    from = use ? 'absolute limits' : '—';
  }
  if (use && use.z !== undefined && use.z !== null) from += ` · ${fmt(use.z, 3)} σ`;
  const expected = use === ph && ph ? ph.nominal : use ? use.expected : undefined;
  return { expected, good: use ? use.good : null, warn: use ? use.warn : null, from };
}

async function refresh() {
  if (!current && defs.length) current = defs[0].name;
  const def = defs.find(d => d.name === current);
  if (!def) return;
  saveState();
  try {
    const q = query(true);
    const h = await api(`/api/v1/histograms/${encodeURIComponent(current)}?${q}`);
    const rq = def.dim === 1 ? refQuery() : null;
    const ref = rq ? await api(`/api/v1/histograms/${encodeURIComponent(current)}?${rq}`).catch(() => null) : null;
    const where = h.scope === 'live' ? (h.run === null ? 'no data yet' : `live: run ${h.run} spill ${h.spill}${h.open ? ' (open)' : ''}`)
      : `${h.scope}${h.run !== undefined ? ' · run ' + h.run : ''}${h.spills !== undefined ? ' · ' + h.spills + ' spills' : ''}` +
        `${h.good_only ? ' · good only' : ''}`;
    setText('title', `${h.title} — ${where}`);
    if (def.dim === 2) draw2D(h); else draw1D(h, ref);
    setText('stats', `entries ${h.entries}  mean ${fmt(h.mean, 4)}  rms ${fmt(h.rms, 3)}  peak ${fmt(h.peak, 4)}  ` +
      `under ${h.underflow}  over ${h.overflow}  missing ${h.missing}` + (ref ? `  · reference: ${ref.entries} entries` : ''));
    document.body.dataset.hist = current;
    document.body.dataset.ref = ref ? String(ref.entries) : '';
    say('scope-msg', '');
    await renderChecks(def, h);
    live.fresh();
  } catch (e) {
    if (e.status) say('scope-msg', e.message, false);
    live.failed(e);
  }
}

$('filter').addEventListener('input', renderList);
$('scope-form').addEventListener('change', refresh);
$('scope-form').addEventListener('submit', (ev) => { ev.preventDefault(); refresh(); });

defs = (await api('/api/v1/histograms')).histograms;
renderList();
every(2000, () => ($('scope').value === 'live' ? refresh() : Promise.resolve()));
refresh();
