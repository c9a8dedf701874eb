// explorer.js — the histogram explorer: every histogram of the profile in any scope (live, one spill,
// a range, the whole run, the last N spills; good spills only), on a linear or log scale, with a
// reference overlaid (the good spills of a reference run, or the last N good spills, scaled to the
// same area in range), drawn by charts.js, and the checks beside it: for one spill each check's
// verdict with its value in words (checktext.js), for a range each check's worst verdict and the
// spills that had it, as links to those spills. The state lives in the URL, so a view can be passed
// on, and other pages link here to drill down:
//   /explorer.html?h=hcal2&scope=spill&run=21&spills=3&ref=last-good&check=hcal2_mip
// (check=: that check's row is highlighted; without h the check's histogram is shown). A spill or
// run that does not exist says so in place of the chart. Live scope refreshes every 2 s.
import { $, api, el, every, flagBadge, fmt, fmtTime, header, say, setText, spanText, spans, staleness } from '/lib.js';
import { clearChart, drawHistogram } from '/charts.js';
import { judgedBy, num, valueText } from '/checktext.js';

header('/explorer.html', 'histograms');
const live = staleness(8);
const params = new URLSearchParams(location.search);
const FIELDS = ['scope', 'run', 'spills', 'last', 'ref', 'refrun'];
const BOXES = ['good', 'log', 'allchecks'];
let defs = [];
let checkDefs = [];
let current = params.get('h');
let focus = params.get('check');
let scrolled = false;

for (const id of FIELDS) if (params.has(id)) $(id).value = params.get(id);
for (const id of BOXES) if (params.has(id)) $(id).checked = params.get(id) === '1';

const scope = () => $('scope').value;
const lastN = () => $('last').value.trim() || '20';

function query(withQuality) {
  const q = new URLSearchParams();
  const run = $('run').value.trim();
  if (scope() !== 'live' && run) q.set('run', run);
  if (scope() === 'spill') q.set('spill', $('spills').value.trim());
  if (scope() === 'range') q.set('spills', $('spills').value.trim());
  if (scope() === 'last') q.set('last', lastN());
  if (withQuality && $('good').checked) q.set('quality', 'good');
  return q;
}

// The reference: {q, label} or null. "last N good spills" takes them from the run shown when there is
// one (a drill-down into an old run compares with that run, not with tonight's).
function refQuery(h) {
  const kind = $('ref').value;
  if (kind === 'run-good') {
    const r = $('refrun').value.trim();
    return r ? { q: new URLSearchParams({ run: r, quality: 'good' }), label: `good spills of run ${r}` } : null;
  }
  if (kind === 'last-good') {
    const q = new URLSearchParams({ last: lastN(), quality: 'good' });
    if (h.run !== null && h.run !== undefined && scope() !== 'live') q.set('run', h.run);
    return { q, label: `last ${lastN()} good spills${q.has('run') ? ' of run ' + h.run : ''}` };
  }
  return null;
}

async function fetchRef(h) {
  const r = refQuery(h);
  if (!r) return null;
  const get = (q) => api(`/api/v1/histograms/${encodeURIComponent(current)}?${q}`).catch(() => null);
  let ref = await get(r.q);
  if ((!ref || !ref.entries) && r.q.has('run') && $('ref').value === 'last-good') {
    // that run has no good spill: the last good spills of any run
    r.q.delete('run');
    ref = await get(r.q);
    r.label = `last ${lastN()} good spills (run ${h.run} has none)`;
  }
  if (!ref) return null;
  ref.label = `reference: ${r.label} (${ref.spills ?? 0} spills, scaled)`;
  return ref;
}

// The view as a URL (for replaceState and for the spill links of the range table).
function viewParams(over = {}) {
  const p = new URLSearchParams();
  if (current) p.set('h', current);
  for (const id of FIELDS) if ($(id).value) p.set(id, $(id).value);
  for (const id of BOXES) if ($(id).checked) p.set(id, '1');
  if (focus) p.set('check', focus);
  for (const [k, v] of Object.entries(over)) if (v === null) p.delete(k); else p.set(k, String(v));
  return p;
}

function saveState() {
  history.replaceState(null, '', '?' + viewParams());
}

function renderList() {
  const f = $('filter').value.toLowerCase();
  $('hist-list').replaceChildren(...defs.filter(d => !f || d.name.includes(f) || d.title.toLowerCase().includes(f))
    .map(d => el('li', {}, el('a', { href: '?' + viewParams({ h: d.name }), class: d.name === current ? 'here' : null,
      dataset: { h: d.name }, onclick: (ev) => { ev.preventDefault(); show(d.name); } },
    d.title, el('span', { class: 'small' }, ' ' + d.name + (d.dim === 2 ? ' (2D)' : ''))))));
}

function show(name) {
  current = name;
  renderList();
  refresh();
}

// A message in place of the chart (a spill that does not exist, a pruned spill, no data yet).
function chartMessage(text) {
  clearChart($('chart'));
  $('chart').hidden = true;
  const m = $('chart-msg');
  m.hidden = false;
  setText(m, text);
  setText('stats', '');
  document.body.dataset.ref = '';
  document.body.dataset.missing = '1';
}

function chartShown() {
  $('chart').hidden = false;
  $('chart-msg').hidden = true;
  delete document.body.dataset.missing;
}

async function runSpills(run) {
  const r = await api(`/api/v1/runs/${run}/spills`);
  const list = r.spills.map(s => s.spill);
  return list.length ? `its spills are ${spanText(list)}` : 'it has no closed spill yet';
}

// Why a stored scope summed no spill, in words.
async function emptyText(h, err) {
  const run = $('run').value.trim();
  const what = $('spills').value.trim();
  const good = $('good').checked ? ' GOOD' : '';
  if (err && err.status === 410) return err.message;
  if (err && err.status === 404) return run ? `Run ${run} does not exist.` : err.message;
  if (scope() === 'live') return 'No data yet: the live scope shows the open spill as soon as a collector sends one.';
  if (!run && scope() !== 'last') return 'Choose a run.';
  if (scope() === 'last') return `No${good} closed spill${run ? ' in run ' + run : ''} yet.`;
  const spills = await runSpills(run).catch(() => '');
  if (scope() === 'spill') {
    return good ? `Spill ${what} of run ${run} is not GOOD (good spills only is on).`
      : `Run ${run} has no spill ${what}${spills ? ': ' + spills : ''}.`;
  }
  if (scope() === 'range') return `Run ${run} has no${good} spill in ${what}${spills ? ': ' + spills : ''}.`;
  return `Run ${run} has no${good} stored spill yet${spills ? ': ' + spills : ''}.`;
}

const withUnit = (v, unit, d = 4) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : num(v, d) + (unit ? ' ' + unit : ''));

function statsText(h, def, ref) {
  const unit = h.unit || def.unit || '';
  const labels = (h.x && h.x.labels) || (def.x && def.x.labels);
  const tail = `under ${fmt(h.underflow)}  over ${fmt(h.overflow)}  missing ${fmt(h.missing)}` +
    (ref ? `  · ${ref.label}: ${fmt(ref.entries)} entries` : '');
  if (Array.isArray(labels) && labels.length === h.counts.length) {
    const total = h.counts.reduce((a, b) => a + b, 0) || 1;
    return `entries ${fmt(h.entries)}  ` + labels.map((l, i) => `${l} ${fmt(h.counts[i])} (${num(100 * h.counts[i] / total, 3)} %)`).join('  ') + '  ' + tail;
  }
  const uy = h.y ? h.y.unit || (def.y && def.y.unit) || unit : '';
  const y = h.y ? `  mean y ${withUnit(h.mean_y, uy)}  rms y ${withUnit(h.rms_y, uy, 3)}` : '';
  return `entries ${fmt(h.entries)}  mean ${withUnit(h.mean, unit)}  rms ${withUnit(h.rms, unit, 3)}` +
    (h.y ? y : `  peak ${withUnit(h.peak, unit)}`) + '  ' + tail;
}

function whereText(h) {
  if (h.scope === 'live') return h.run === null ? 'live: no data yet' : `live: run ${h.run} spill ${h.spill}${h.open ? ' (open)' : ''}`;
  const r = h.spill_range;
  // (the last N spills of no run may span runs: no spill numbers then)
  const oneRun = h.run !== null && h.run !== undefined;
  const span = r && oneRun ? (r[0] === r[1] ? `spill ${r[0]}` : `spills ${r[0]}–${r[1]}`) : '';
  const scopeWord = { spill: 'one spill', range: 'spill range', run: 'whole run', last: `last ${lastN()} spills` }[h.scope] || h.scope;
  return [scopeWord, oneRun ? `run ${h.run}` : null, span,
    h.spills !== undefined ? `${h.spills} spill${h.spills === 1 ? '' : 's'} summed` : null, h.good_only ? 'good spills only' : null]
    .filter(Boolean).join(' · ');
}

// The ROOT exports of the scope shown (GET …?format=root: the histogram, and the TList of all).
function showExports() {
  const q = query(true);
  q.set('format', 'root');
  $('root-one').href = `/api/v1/histograms/${encodeURIComponent(current)}?${q}`;
  $('root-all').href = `/api/v1/histograms?${q}`;
  $('exports').hidden = false;
}

// Each refresh supersedes the ones still waiting for the server: they drop their answers (so a slow
// reply never paints over a newer view).
let generation = 0;

async function refresh() {
  const gen = ++generation;
  const stale = () => gen !== generation;
  if (!current && defs.length) current = defs[0].name;
  const def = defs.find(d => d.name === current);
  if (!def) return;
  saveState();
  setText('title', def.title);
  let h;
  try {
    h = await api(`/api/v1/histograms/${encodeURIComponent(current)}?${query(true)}`);
  } catch (e) {
    if (stale()) return;
    $('exports').hidden = true;
    if (e.status === 404 || e.status === 410) {
      const text = await emptyText(null, e);
      if (stale()) return;
      chartMessage(text);
      setText('where', '');
      checksNone('');
      say('scope-msg', '');
      live.fresh();
    } else {
      if (e.status) say('scope-msg', e.message, false);
      live.failed(e);
    }
    return;
  }
  if (stale()) return;
  document.body.dataset.hist = current;
  setText('where', whereText(h));
  showExports();
  say('scope-msg', '');
  if ((h.scope === 'live' && h.run === null) || (h.scope !== 'live' && !h.spills)) {
    const text = await emptyText(h, null);
    if (stale()) return;
    chartMessage(text);
    checksNone('');
    live.fresh();
    return;
  }
  const ref = await fetchRef(h);
  if (stale()) return;
  chartShown();
  drawHistogram($('chart'), h, { def, ref, refLabel: ref && ref.label, log: $('log').checked });
  setText('stats', statsText(h, def, ref));
  document.body.dataset.ref = ref ? String(ref.entries) : '';
  try {
    await renderChecks(def, h, stale);
  } catch (e) {
    if (!stale()) checksNone(`(${e.message})`);
  }
  live.fresh();
}

// ---- the check table ----

const checkDef = (name) => checkDefs.find(c => c.name === name);
const checkTitle = (name, title) => el('td', { class: 'check' }, title || name, ' ', el('span', { class: 'small name' }, name));

function checksNone(note) {
  $('checks').tHead.replaceChildren();
  $('checks').tBodies[0].replaceChildren();
  setText('checks-where', note);
}

function tableHead(cols) {
  $('checks').tHead.replaceChildren(el('tr', {}, cols.map(c => el('th', {}, c))));
}

function shownChecks(def) {
  return $('allchecks').checked ? null : def.checks;
}

function markFocus() {
  const row = focus ? $('checks').querySelector(`tr[data-check="${CSS.escape(focus)}"]`) : null;
  if (row) {
    row.classList.add('focus');
    if (!scrolled) { row.scrollIntoView({ block: 'nearest' }); scrolled = true; }
  }
}

async function renderChecks(def, h, stale) {
  const names = shownChecks(def);
  setText('checks-what', names ? 'on this histogram' : 'of the profile');
  if (names && !names.length) return checksNone('(no check reads this histogram)');
  const r = h.spill_range;
  if (h.scope === 'live' || (r && r[0] === r[1] && h.scope === 'spill')) {
    if (h.run === null || h.run === undefined) return checksNone('');
    const spill = h.scope === 'live' ? h.spill : r[0];
    return spillChecks(names, h.run, spill, h.scope === 'live' && h.open, stale);
  }
  return rangeChecks(names, h, stale);
}

async function spillChecks(names, run, spill, open, stale) {
  if (open) return checksNone(`(spill ${spill} of run ${run} is still open: its checks come when it closes)`);
  const s = await api(`/api/v1/runs/${run}/spills/${spill}`);
  if (stale()) return;
  setText('checks-where', `— spill ${spill} of run ${run}, started ${fmtTime(s.started)}, ${s.flag}`);
  tableHead(['check', 'result', 'value', 'judged by']);
  const order = (c) => { const i = checkDefs.findIndex(d => d.name === c.name); return i < 0 ? 1e9 : i; };
  const rows = s.checks.filter(c => !names || names.includes(c.name)).sort((a, b) => order(a) - order(b));
  $('checks').tBodies[0].replaceChildren(...rows.map(c =>
    el('tr', { dataset: { check: c.name }, title: c.reason || null },
      checkTitle(c.name, c.title), el('td', {}, flagBadge(c.state)),
      el('td', { class: 'value' }, valueText(c, checkDef(c.name))), el('td', { class: 'small' }, judgedBy(c)))));
  markFocus();
}

// The run and spills a range scope covers; the last N spills of no run are those of the latest run.
async function rangeOf(h) {
  if (h.run !== null && h.run !== undefined && h.spill_range) return { run: h.run, a: h.spill_range[0], b: h.spill_range[1], note: '' };
  const runs = (await api('/api/v1/runs')).runs;
  const latest = runs.find(x => x.last_spill) || null;
  if (!latest) return null;
  const b = latest.last_spill.spill, n = Number(lastN());
  const a = Math.max(1, b - n + 1);
  const note = b - a + 1 < n ? ` (the latest run: ${b - a + 1} of the last ${n} spills)` : ` (the latest run)`;
  return { run: latest.run, a, b, note };
}

function spillLink(run, spill, check) {
  const p = viewParams({ scope: 'spill', run, spills: spill, check });
  return el('a', { href: '?' + p, class: 'spill-link', dataset: { spill: String(spill) }, onclick: (ev) => {
    ev.preventDefault();
    $('scope').value = 'spill';
    $('run').value = String(run);
    $('spills').value = String(spill);
    focus = check;
    scrolled = false;
    refresh();
  } }, String(spill));
}

const MAX_SPANS = 10;
function spillCell(run, list, check) {
  if (!list || !list.length) return null;
  // ranges of up to three spills stay single links; longer ones show their ends ("12–30")
  const parts = spans(list).flatMap(([a, b]) => (b - a < 3 ? Array.from({ length: b - a + 1 }, (_, i) => [spillLink(run, a + i, check)])
    : [[spillLink(run, a, check), '–', spillLink(run, b, check)]]));
  const shownParts = parts.slice(0, MAX_SPANS);
  const out = [];
  shownParts.forEach((p, i) => { if (i) out.push(', '); out.push(...p); });
  if (parts.length > MAX_SPANS) {
    const rest = el('span', { hidden: true }, parts.slice(MAX_SPANS).flatMap(p => [', ', ...p]));
    const more = el('button', { type: 'button', class: 'link', onclick: () => { rest.hidden = false; more.remove(); } },
      ` +${parts.length - MAX_SPANS} more`);
    out.push(rest, more);
  }
  return out;
}

async function rangeChecks(names, h, stale) {
  const where = await rangeOf(h);
  if (stale()) return;
  if (!where) return checksNone('');
  const r = await api(`/api/v1/runs/${where.run}/checks?spills=${where.a}-${where.b}`);
  if (stale()) return;
  const span = r.spills ? `${r.spills[0]}–${r.spills[1]}` : `${where.a}–${where.b}`;
  setText('checks-where', `— worst verdict in spills ${span} of run ${r.run}${where.note}`);
  tableHead(['check', 'worst', 'spills per verdict', 'not GOOD in spills']);
  const FLAGS = ['BAD', 'WARN', 'UNKNOWN'];
  $('checks').tBodies[0].replaceChildren(...r.checks.filter(c => !names || names.includes(c.name)).map(c => {
    const counts = Object.entries(c.counts || {}).filter(([, n]) => n > 0).map(([f, n]) => `${f} ${n}`).join(' · ');
    const where_ = FLAGS.filter(f => c.spills && c.spills[f] && c.spills[f].length)
      .map(f => el('div', { class: 'where', dataset: { flag: f } }, el('span', { class: 'flagword ' + f }, f + ': '),
        spillCell(r.run, c.spills[f], c.name)));
    return el('tr', { dataset: { check: c.name } }, checkTitle(c.name, c.title), el('td', {}, flagBadge(c.worst)),
      el('td', { class: 'small' }, counts || '—'), el('td', {}, where_.length ? where_ : '—'));
  }));
  markFocus();
}

// ---- start ----

$('filter').addEventListener('input', renderList);
$('scope-form').addEventListener('change', refresh);
$('scope-form').addEventListener('submit', (ev) => { ev.preventDefault(); refresh(); });
$('allchecks').addEventListener('change', refresh);

const [hd, cd] = await Promise.all([api('/api/v1/histograms'), api('/api/v1/checks').catch(() => ({ checks: [] }))]);
defs = hd.histograms;
checkDefs = cd.checks || [];
if (focus) {
  const c = checkDef(focus);
  const hist = c && c.hist ? c.hist : (defs.find(d => d.checks.includes(focus)) || {}).name;
  if (!current && hist) current = hist;
  const d = defs.find(x => x.name === current);
  if (d && !d.checks.includes(focus)) $('allchecks').checked = true;
}
renderList();
every(2000, () => (scope() === 'live' ? refresh() : Promise.resolve()));
if (scope() !== 'live') refresh();
