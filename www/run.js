// run.js — the run page: the spill table (sortable, bad spills first on demand), manual flags for one
// spill or a range, sign-off, the audit trail and the good-spill export links. ?run=R, default the
// newest run. Polls every 3 s.
import { $, api, el, every, flagBadge, fmt, fmtTime, header, say, staleness } from '/lib.js';
import { on } from '/stream.js';

header('/run.html', 'run');
const live = staleness(8);
const SEVERITY = { BAD: 0, UNKNOWN: 1, WARN: 2, EXCLUDED: 3, GOOD: 4 };
let run = Number(new URLSearchParams(location.search).get('run')) || null;
let spills = [];
let sortKey = 'spill';
let sortDir = 1;

function value(s, key) {
  switch (key) {
    case 'trigger_hz': return s.rates ? s.rates.trigger_hz : null;
    case 'reasons': return (s.reasons || []).join('; ');
    case 'flag': return SEVERITY[s.flag] ?? 9;
    case 'manual': return s.manual ? 0 : 1;
    default: return s[key];
  }
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
  $('spills').tBodies[0].replaceChildren(...rows.map(s => el('tr', { dataset: { spill: s.spill, flag: s.flag } },
    el('td', {}, String(s.spill)), el('td', {}, flagBadge(s.flag)),
    el('td', { class: 'reasons-cell' }, (s.reasons || []).join('; ')),
    el('td', { class: 'num' }, fmt(s.mot)), el('td', { class: 'num' }, String(s.events)),
    el('td', { class: 'num' }, fmt(s.dead_time, 3)),
    el('td', { class: 'num' }, s.rates ? fmt(s.rates.trigger_hz, 4) + ' Hz' : '—'),
    el('td', {}, s.manual ? `${s.manual.flag} by ${s.manual.shifter || s.manual.who}: ${s.manual.reason}` : ''))));
  for (const th of $('spills').tHead.rows[0].cells)
    th.dataset.sorted = th.dataset.key === sortKey ? (sortDir > 0 ? 'asc' : 'desc') : '';
}

function renderRun(r) {
  const flags = ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'].map(f => `${f} ${r.flags[f] || 0}`).join(' · ');
  $('run-summary').textContent = `${r.open ? 'running' : 'ended'} · ${r.spills} spills · MOT ${fmt(r.mot)} · good MOT ` +
    `${fmt(r.good_mot)} · ${flags}`;
  $('signoff').textContent = r.signoff ? `signed off by ${r.signoff.shifter || r.signoff.who} ${fmtTime(r.signoff.time)}` : 'not signed off';
  $('export-json').href = `/api/v1/runs/${r.run}/good-spills`;
  $('export-csv').href = `/api/v1/runs/${r.run}/good-spills?format=csv`;
}

function renderAudit(entries) {
  $('audit').tBodies[0].replaceChildren(...entries.map(a => el('tr', {},
    el('td', {}, fmtTime(a.time)), el('td', {}, a.shifter || a.who), el('td', {}, a.action),
    el('td', {}, a.spill ?? '—'), el('td', {}, `${a.old ?? '—'} → ${a.new ?? '—'}`),
    el('td', {}, [a.reason, a.comment].filter(Boolean).join(' · ')))));
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
    renderRun(r);
    renderSpills();
    renderAudit(audit.entries);
    live.fresh();
  } catch (e) {
    live.failed(e);
  }
}

async function loadReasons() {
  const defs = await api('/api/v1/histograms');
  const reasons = defs.manual_reasons || ['other'];
  $('reason').replaceChildren(...reasons.map(r => el('option', { value: r }, r)));
}

$('run-select').addEventListener('change', (ev) => {
  run = Number(ev.target.value);
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

$('signoff-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    await api(`/api/v1/runs/${run}/signoff`, { method: 'POST', body: { shifter: f.get('shifter'), comment: f.get('comment') } });
    say('signoff-msg', `run ${run} signed off`);
    refresh();
  } catch (e) {
    say('signoff-msg', e.message, false);
  }
});

loadReasons().catch(e => say('flag-msg', 'reasons: ' + e.message, false));
every(3000, refresh);
on('spill', (d) => { if (d.run === run) setTimeout(refresh, 250); }); // the new spill's row at once
on('reset', refresh);
