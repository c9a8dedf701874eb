// shift.js — the shift summary, the handover note shifters used to write by hand: for a time range
// (default the last 8 hours) the spills per flag, MOT and good MOT per run, the manual flags and
// sign-offs with their comments, and the alarm transitions. Spills count when they started in the
// range. Printable (a light print style). ?from=&to= in Unix seconds.
import { $, api, el, fmt, fmtTime, header, say, staleness } from '/lib.js';

header('/shift.html', 'shift summary');
const live = staleness(1e9); // a report: stale only when loading fails
const FLAGS = ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'];

function toLocalInput(unix) {
  const d = new Date(unix * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromInput = (id) => new Date($(id).value).getTime() / 1000;

function setRange(from, to) {
  $('from').value = toLocalInput(from);
  $('to').value = toLocalInput(to);
}

// Pages through a newest-first listing until entries are older than from.
async function pages(path, key, from) {
  const out = [];
  let before = null;
  for (let i = 0; i < 50; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api(path + (before ? `${sep}before=${before}` : ''));
    const items = res[key];
    out.push(...items);
    if (!res.next_before || !items.length || (items[items.length - 1].time ?? items[items.length - 1].started ?? 0) < from) break;
    before = res.next_before;
  }
  return out;
}

async function load() {
  const from = fromInput('from'), to = fromInput('to');
  if (!(from < to)) { say('range-msg', 'the range must end after it starts', false); return; }
  say('range-msg', '');
  history.replaceState(null, '', `?from=${Math.round(from)}&to=${Math.round(to)}`);
  try {
    const runs = (await pages('/api/v1/runs?limit=50', 'runs', from))
      .filter(r => (r.started ?? 0) <= to && (r.ended === null || r.ended >= from || r.open));
    const rows = [];
    const total = { spills: 0, mot: 0, good_mot: 0, flags: Object.fromEntries(FLAGS.map(f => [f, 0])) };
    for (const r of runs.sort((a, b) => a.run - b.run)) {
      const spills = (await api(`/api/v1/runs/${r.run}/spills`)).spills
        .filter(s => { const t = s.started ?? s.closed_at; return t >= from && t < to; });
      if (!spills.length) continue;
      const flags = Object.fromEntries(FLAGS.map(f => [f, spills.filter(s => s.flag === f).length]));
      const mot = spills.reduce((a, s) => a + (s.mot || 0), 0);
      const good = spills.filter(s => s.flag === 'GOOD').reduce((a, s) => a + (s.mot || 0), 0);
      total.spills += spills.length; total.mot += mot; total.good_mot += good;
      for (const f of FLAGS) total.flags[f] += flags[f];
      rows.push(el('tr', { dataset: { run: r.run } }, el('td', {}, String(r.run)), el('td', { class: 'num' }, String(spills.length)),
        ...FLAGS.map(f => el('td', { class: 'num' }, String(flags[f]))),
        el('td', { class: 'num' }, fmt(mot)), el('td', { class: 'num' }, fmt(good)),
        el('td', { class: 'num' }, mot ? (100 * good / mot).toFixed(1) + ' %' : '—'),
        el('td', {}, r.signoff ? `${r.signoff.shifter || r.signoff.who}: ${r.signoff.comment}` : 'no')));
    }
    $('totals').tBodies[0].replaceChildren(...rows);
    $('totals').tFoot.replaceChildren(el('tr', { class: 'total' }, el('td', {}, 'total'),
      el('td', { class: 'num', id: 'total-spills' }, String(total.spills)),
      ...FLAGS.map(f => el('td', { class: 'num' }, String(total.flags[f]))),
      el('td', { class: 'num', id: 'total-mot' }, fmt(total.mot)), el('td', { class: 'num', id: 'total-good-mot' }, fmt(total.good_mot)),
      el('td', { class: 'num' }, total.mot ? (100 * total.good_mot / total.mot).toFixed(1) + ' %' : '—'), el('td', {})));

    const audit = (await pages('/api/v1/audit?limit=200', 'entries', from)).filter(a => a.time >= from && a.time < to);
    $('manual').tBodies[0].replaceChildren(...audit.reverse().map(a => el('tr', {},
      el('td', {}, fmtTime(a.time)), el('td', {}, a.shifter || a.who), el('td', {}, `${a.run} · ${a.spill ?? '—'}`),
      el('td', {}, a.action), el('td', {}, `${a.old ?? '—'} → ${a.new ?? '—'}`),
      el('td', {}, [a.reason, a.comment].filter(Boolean).join(' · ')))));

    const hist = ((await api('/api/v1/alarms?history=1&limit=2000')).history || [])
      .filter(h => h.time >= from && h.time < to && h.to !== 'pending' && !(h.from === 'pending' && h.to === 'inactive'));
    $('alarms').tBodies[0].replaceChildren(...hist.reverse().map(h => el('tr', {},
      el('td', {}, fmtTime(h.time)), el('td', {}, h.alarm), el('td', {}, `${h.from} → ${h.to}`),
      el('td', {}, h.run === null ? '—' : `${h.run} · ${h.spill ?? '—'}`),
      el('td', {}, [h.shifter || h.who, h.comment, h.note].filter(Boolean).join(' · ')))));
    $('heading').textContent = `Shift summary ${fmtTime(from)} – ${fmtTime(to)}`;
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
    live.fresh();
  } catch (e) {
    say('range-msg', e.message, false);
    live.failed(e);
  }
}

const p = new URLSearchParams(location.search);
const now = Date.now() / 1000;
setRange(Number(p.get('from')) || now - 8 * 3600, Number(p.get('to')) || now + 60);
$('last8').addEventListener('click', () => { const t = Date.now() / 1000; setRange(t - 8 * 3600, t + 60); load(); });
$('range-form').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
$('print').addEventListener('click', () => window.print());
load();
