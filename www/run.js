// run.js — the run page: the spill table (start time, effective flag with the checks' verdict beside
// a manual one, reasons, numbers with units; sortable, bad spills first on demand; a row opens the
// spill in the explorer on its worst check, a reason on its own check), manual flags for one spill or
// a range, sign-off and reopen (runcert.js), the audit trail and the good-spill export links.
// ?run=R, default the newest run. Polls every 3 s.
import { $, api, el, every, flagBadge, fmt, fmtTime, fmtUnit, header, say, staleness } from '/lib.js';
import { certify } from '/runcert.js';
import { on } from '/stream.js';

header('/run.html', 'run');
const live = staleness(8);
const SEVERITY = { BAD: 0, UNKNOWN: 1, WARN: 2, EXCLUDED: 3, GOOD: 4 };
let run = Number(new URLSearchParams(location.search).get('run')) || null;
let spills = [];
let checkDefs = [];   // GET /api/v1/checks: the profile's checks, profile order
let worst = new Map(); // spill -> [{name, state}] its non-GOOD checks, worst first
let worstKey = '';
let sortKey = 'spill';
let sortDir = 1;
const cert = certify({ run: () => run, refresh: () => refresh() });

const hz = (v) => fmtUnit(v, 'Hz', 4).replace(/ ([kMGT]) Hz$/, ' $1Hz');

function value(s, key) {
  switch (key) {
    case 'trigger_hz': return s.rates ? s.rates.trigger_hz : null;
    case 'reasons': return (s.reasons || []).join('; ');
    case 'flag': return SEVERITY[s.flag] ?? 9;
    case 'manual': return s.manual ? 0 : 1;
    default: return s[key];
  }
}

// The explorer on one spill: the check's histogram, the last good spills as reference.
function explorerUrl(s, checkName) {
  const def = checkDefs.find(c => c.name === checkName);
  const q = new URLSearchParams();
  let hist = def && def.hist;
  if (!hist) { // a check on counters: the worst of the spill's checks that reads a histogram, else the first
    const other = (worst.get(s.spill) || []).map(w => checkDefs.find(c => c.name === w.name)).find(c => c && c.hist);
    hist = other ? other.hist : (checkDefs.find(c => c.hist) || {}).hist;
  }
  if (hist) q.set('h', hist);
  q.set('scope', 'spill');
  q.set('run', String(s.run));
  q.set('spills', String(s.spill));
  q.set('ref', 'last-good');
  if (checkName) q.set('check', checkName);
  return '/explorer.html?' + q;
}

function rowUrl(s) {
  const w = worst.get(s.spill);
  return explorerUrl(s, w && w.length ? w[0].name : null);
}

// A reason names its check first, by its title ("Mean incoming momentum: ..."; older reasons by its
// name, "p_in_mean [beam]: ..."): a link to that check.
function reasonCheck(text) {
  const i = text.indexOf(':');
  const tag = i < 0 ? text : text.slice(0, i);
  return checkDefs.find(c => c.title === tag || c.name === tag || tag.startsWith(c.name + ' ['));
}

function reasonItem(s, text) {
  const c = reasonCheck(text);
  return el('li', {}, c ? el('a', { href: explorerUrl(s, c.name), dataset: { check: c.name } }, text) : text);
}

// Three reasons (the cause first, as the server orders them) and "+N more" that lists the rest in
// place: nothing is cut.
const expanded = new Set();
const SHOWN = 3;
function reasonList(s, reasons) {
  if (!reasons.length) return null;
  const open = expanded.has(s.spill) || reasons.length <= SHOWN + 1;
  const items = (open ? reasons : reasons.slice(0, SHOWN)).map(r => reasonItem(s, r));
  if (!open)
    items.push(el('li', { class: 'more' }, el('button', { type: 'button', class: 'link', onclick: () => {
      expanded.add(s.spill);
      renderSpills();
    } }, `+${reasons.length - SHOWN} more`)));
  return el('ul', { class: 'plain' }, items);
}

function flagCell(s) {
  if (!s.manual) return el('td', { class: 'flagcell' }, flagBadge(s.flag));
  return el('td', { class: 'flagcell' }, flagBadge(s.flag), ' ', el('span', { class: 'mark manual', title: 'a shifter set this flag' }, 'manual'),
    el('div', { class: 'auto' }, 'checks: ', flagBadge(s.auto_flag || 'UNKNOWN'),
      s.conflict ? el('span', { class: 'mark conflict', title: 'the manual flag disagrees with the checks' }, '≠ checks') : null));
}

function manualCell(s) {
  if (!s.manual) return el('td', {});
  const m = s.manual;
  return el('td', { class: 'manualcell' }, `${m.flag} by ${m.shifter || m.who}`,
    el('div', {}, [m.reason, m.comment].filter(Boolean).join(' — ')),
    el('div', { class: 'small' }, fmtTime(m.time)));
}

function renderSpills() {
  const rows = spills.slice();
  rows.sort((a, b) => {
    if ($('bad-first').checked) {
      const d = (SEVERITY[a.flag] ?? 9) - (SEVERITY[b.flag] ?? 9);
      if (d) return d;
    }
    const x = value(a, sortKey), y = value(b, sortKey);
    return (x < y ? -1 : x > y ? 1 : 0) * sortDir || a.spill - b.spill;
  });
  $('spills').tBodies[0].replaceChildren(...rows.map(s => {
    const href = rowUrl(s);
    const reasons = s.reasons || [];
    return el('tr', { class: ['link', s.manual ? 'manual' : '', s.conflict ? 'conflict' : ''].filter(Boolean).join(' '),
                      dataset: { spill: s.spill, flag: s.flag, auto: s.auto_flag, manual: s.manual ? s.manual.flag : null,
                                 conflict: s.conflict ? '1' : null, href } },
      el('td', {}, el('a', { href, class: 'spill-link' }, String(s.spill))),
      el('td', { class: 'time' }, fmtTime(s.started)),
      flagCell(s),
      el('td', { class: 'reasons-cell' + (s.manual && reasons.length ? ' overridden' : '') },
        s.manual && reasons.length ? el('div', { class: 'small' }, 'the checks said (overridden by the manual flag):') : null,
        reasonList(s, reasons)),
      el('td', { class: 'num' }, fmt(s.mot)), el('td', { class: 'num' }, fmt(s.events)),
      el('td', { class: 'num' }, fmtUnit(s.dead_time, 'fraction')),
      el('td', { class: 'num' }, s.rates ? hz(s.rates.trigger_hz) : '—'),
      manualCell(s));
  }));
  for (const th of $('spills').tHead.rows[0].cells)
    th.dataset.sorted = th.dataset.key === sortKey ? (sortDir > 0 ? 'asc' : 'desc') : '';
}

function renderRun(r) {
  const flags = ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'].map(f => `${f} ${r.flags[f] || 0}`).join(' · ');
  const when = r.ended === null || r.ended === undefined ? `running since ${fmtTime(r.started)}`
    : `${fmtTime(r.started)} – ${fmtTime(r.ended)}`;
  const frac = r.mot ? ` (${(100 * r.good_mot / r.mot).toFixed(1)} %)` : '';
  $('run-summary').textContent = `${when} · ${r.spills} spills · MOT ${fmt(r.mot)} · good MOT ${fmt(r.good_mot)}${frac} · ${flags}`;
  $('signoff').textContent = r.signoff ? `signed off by ${r.signoff.shifter || r.signoff.who} ${fmtTime(r.signoff.time)}` : 'not signed off';
  $('export-json').href = `/api/v1/runs/${r.run}/good-spills`;
  $('export-csv').href = `/api/v1/runs/${r.run}/good-spills?format=csv`;
  $('export-ranges').href = `/api/v1/runs/${r.run}/good-spills?format=ranges`;
}

function renderAudit(entries) {
  $('audit').tBodies[0].replaceChildren(...entries.map(a => el('tr', {},
    el('td', {}, fmtTime(a.time)), el('td', {}, a.shifter || a.who), el('td', {}, a.action),
    el('td', {}, a.spill ?? '—'), el('td', {}, `${a.old ?? '—'} → ${a.new ?? '—'}`),
    el('td', {}, [a.reason, a.comment].filter(Boolean).join(' · ')))));
}

// Per spill its non-GOOD checks, worst first (profile order among equals), from the run's check summary.
async function loadWorst() {
  const key = `${run}:${spills.length}:${spills.map(s => s.flag).join('')}`;
  if (key === worstKey) return;
  const res = await api(`/api/v1/runs/${run}/checks`);
  const m = new Map();
  for (const c of res.checks)
    for (const state of ['BAD', 'UNKNOWN', 'WARN'])
      for (const sp of (c.spills && c.spills[state]) || []) {
        if (!m.has(sp)) m.set(sp, []);
        m.get(sp).push({ name: c.name, state });
      }
  for (const list of m.values()) list.sort((a, b) => SEVERITY[a.state] - SEVERITY[b.state]); // stable: profile order
  worst = m;
  worstKey = key;
}

async function loadRuns() {
  const list = await api('/api/v1/runs?limit=200');
  const sel = $('run-select');
  const known = Array.from(sel.options).map(o => o.value).join(',');
  const now = list.runs.map(r => String(r.run)).join(',');
  if (known !== now) sel.replaceChildren(...list.runs.map(r => el('option', { value: r.run }, String(r.run))));
  if (run === null && list.runs.length) run = list.runs[0].run;
  if (run !== null) sel.value = String(run);
}

async function refresh() {
  try {
    await loadRuns();
    if (run === null) { live.fresh(); return; }
    const [r, s, audit] = await Promise.all([api(`/api/v1/runs/${run}`), api(`/api/v1/runs/${run}/spills`),
                                             api(`/api/v1/audit?run=${run}&limit=100`)]);
    spills = s.spills;
    await loadWorst();
    renderRun(r);
    renderSpills();
    renderAudit(audit.entries);
    cert.update(r, spills);
    live.fresh();
  } catch (e) {
    live.failed(e);
  }
}

async function loadDefs() {
  const [defs, checks] = await Promise.all([api('/api/v1/histograms'), api('/api/v1/checks')]);
  const reasons = defs.manual_reasons || ['other'];
  $('reason').replaceChildren(...reasons.map(r => el('option', { value: r }, r)));
  checkDefs = checks.checks;
}

$('run-select').addEventListener('change', (ev) => {
  run = Number(ev.target.value);
  expanded.clear();
  history.replaceState(null, '', `?run=${run}`);
  refresh();
});
$('bad-first').addEventListener('change', renderSpills);
$('spills').tHead.addEventListener('click', (ev) => {
  const key = ev.target.dataset && ev.target.dataset.key;
  if (!key) return;
  sortDir = key === sortKey ? -sortDir : 1;
  sortKey = key;
  renderSpills();
});
// A click anywhere on a row (not on one of its links, not while selecting text) opens its spill.
$('spills').tBodies[0].addEventListener('click', (ev) => {
  if (ev.target.closest('a, button') || String(window.getSelection() || '')) return;
  const tr = ev.target.closest('tr');
  if (tr && tr.dataset.href) location.href = tr.dataset.href;
});

$('flag-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const flag = f.get('flag') || null;
  const body = flag ? { flag, reason: f.get('reason'), comment: f.get('comment'), shifter: f.get('shifter') }
    : { flag: null, shifter: f.get('shifter'), comment: f.get('comment') };
  try {
    const res = await api(`/api/v1/runs/${run}/spills/${f.get('spills')}/flag`, { method: 'PUT', body });
    say('flag-msg', `spill${res.spills.length > 1 ? 's' : ''} ${res.spills.join(', ')}: ${flag || 'manual flag removed'}`);
    refresh();
  } catch (e) {
    say('flag-msg', e.message, false);
  }
});

// The definitions first, so that the first table already has its links.
loadDefs().catch(e => say('flag-msg', 'definitions: ' + e.message, false)).finally(() => {
  every(3000, refresh);
  on('spill', (d) => { if (d.run === run) setTimeout(refresh, 250); }); // the new spill's row at once
  on('reset', refresh);
});
