// shift.js — the shift summary, what one shift hands to the next: for a time range (default the
// last 8 hours; "YYYY-MM-DD HH:MM" in the display zone) the spills per flag, MOT and good MOT per
// run, the BAD and UNKNOWN spills with their reasons (consecutive spills with the same flag and the
// same failing checks in one range), the handover notes (written here, stored on the server), the
// manual flags and sign-offs with their comments, and the alarm episodes. Spills count when they
// started in the range. Printable (a light print style, the zone on the page). ?from=&to= in Unix s.
import { $, api, el, fmt, fmtTime, header, parseTime, say, spanText, staleness, zoneLabel } from '/lib.js';
import { foldEpisodes, episodeRow, overlaps } from '/alarmtime.js';

header('/shift.html', 'shift summary');
const live = staleness(1e9); // a report: stale only when loading fails
const FLAGS = ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'];
const NOTE_BYTES = 8000;
let range = { from: 0, to: 0 };

const show = (t) => fmtTime(t, { seconds: t % 60 !== 0 });

function setRange(from, to) {
  range = { from: Math.floor(from), to: Math.ceil(to) };
  $('from').value = show(range.from);
  $('to').value = show(range.to);
  $('range-zone').textContent = zoneLabel(range.to);
}

// The range typed in, in the display zone; null (with the reason shown) when it is not one.
function readRange() {
  const from = parseTime($('from').value), to = parseTime($('to').value);
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    say('range-msg', `times as YYYY-MM-DD HH:MM (${zoneLabel()}), e.g. ${fmtTime(Date.now() / 1000, { seconds: false })}`, false);
    return null;
  }
  if (!(from < to)) { say('range-msg', 'the range must end after it starts', false); return null; }
  return { from, to };
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

// A problem spill's causes: the manual decision, then each failing check by its reason's tag
// ("p_in_mean [beam]", the text before the first colon), with the reason's text.
function causes(s) {
  const out = (s.reasons || []).map(r => ({ tag: r.split(':')[0], text: s.manual ? `checks (${s.auto_flag}): ${r}` : r }));
  if (s.manual) {
    const m = s.manual;
    out.unshift({ tag: `manual\n${m.flag}\n${m.reason}\n${m.comment}\n${m.shifter || m.who}`,
                  text: `manual ${m.flag} by ${m.shifter || m.who}: ${m.reason || ''}${m.comment ? ' — ' + m.comment : ''}` });
  }
  return out;
}

// Consecutive BAD or UNKNOWN spills (numbers one apart) with the same flag in one range; each cause
// with the spills it holds for and the text of its first one.
function ranges(spills) {
  const out = [];
  for (const s of spills) {
    if (s.flag !== 'BAD' && s.flag !== 'UNKNOWN') continue;
    let g = out[out.length - 1];
    if (!g || g.flag !== s.flag || g.last !== s.spill - 1) {
      g = { first: s.spill, last: s.spill, flag: s.flag, causes: new Map() };
      out.push(g);
    }
    g.last = s.spill;
    for (const c of causes(s)) {
      if (!g.causes.has(c.tag)) g.causes.set(c.tag, { text: c.text, spill: s.spill, spills: [], same: true });
      const k = g.causes.get(c.tag);
      k.spills.push(s.spill);
      k.same &&= k.text === c.text;
    }
  }
  return out;
}

function causeLine(g, c) {
  const n = g.last - g.first + 1;
  if (n === 1) return c.text;
  const values = c.spills.length > 1 && !c.same ? `; values of spill ${c.spill}` : '';
  if (c.spills.length === n) return `${c.text} (${n === 2 ? 'both' : 'all ' + n} spills${values})`;
  return `${c.text} (spill${c.spills.length > 1 ? 's' : ''} ${spanText(c.spills)}${values})`;
}

// Reasons that say the same of several checks over the same spills ("Muons on target: not known: the
// spill has no spill_end", "Spill length: not known: …") in one line: "Muons on target, Spill length: not known: …".
function lines(g) {
  const merged = new Map();
  for (const c of g.causes.values()) {
    const i = c.text.indexOf(': ');
    const plain = i >= 0 && !c.text.startsWith('manual ') && !c.text.startsWith('checks (');
    const [head, rest] = plain ? [c.text.slice(0, i), c.text.slice(i + 2)] : [c.text, ''];
    const key = rest ? `${rest}\n${c.spills.join(',')}` : `\n${c.text}`;
    if (merged.has(key) && rest) merged.get(key).heads.push(head);
    else merged.set(key, { heads: [head], rest, c });
  }
  return [...merged.values()].map(m => causeLine(g, m.rest ? { ...m.c, text: `${m.heads.join(', ')}: ${m.rest}` } : m.c));
}

function problemRows(run, list) {
  return list.map(g => el('tr', { dataset: { run, first: g.first, last: g.last, flag: g.flag } },
    el('td', {}, el('a', { href: `/run.html?run=${run}` }, String(run))),
    el('td', { class: 'num' }, g.first === g.last ? String(g.first) : `${g.first}–${g.last}`),
    el('td', {}, el('span', { class: 'badge ' + g.flag }, g.flag)),
    el('td', { class: 'reasons-cell' }, g.causes.size
      ? el('ul', { class: 'plain' }, lines(g).map(l => el('li', {}, l))) : '(no reason recorded)')));
}

function renderNotes(notes) {
  $('notes').replaceChildren(...notes.map(n => el('li', { class: 'note', dataset: { id: n.id } },
    el('div', { class: 'note-head' }, `${fmtTime(n.time)} · ${n.shifter}`, n.who && n.who !== 'open' && n.who !== n.shifter
      ? ` (token ${n.who})` : '', n.from !== null && n.to !== null ? ` · for ${show(n.from)} – ${show(n.to)}` : ''),
    el('div', { class: 'note-text' }, n.text))));
  $('no-notes').hidden = notes.length > 0;
}

async function loadNotes() {
  const res = await api(`/api/v1/shift/notes?from=${range.from}&to=${range.to}&limit=200`);
  renderNotes(res.notes);
}

async function load() {
  const r = readRange();
  if (!r) return;
  setRange(r.from, r.to);
  const { from, to } = range;
  say('range-msg', '');
  history.replaceState(null, '', `?from=${from}&to=${to}`);
  try {
    const runs = (await pages('/api/v1/runs?limit=50', 'runs', from))
      .filter(r => (r.started ?? 0) <= to && (r.ended === null || r.ended >= from || r.open));
    const rows = [];
    const problems = [];
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
        el('td', {}, r.signoff ? `${r.signoff.shifter || r.signoff.who}, ${fmtTime(r.signoff.time)}: ${r.signoff.comment}`
          : r.open ? 'no (running)' : 'no')));
      problems.push(...problemRows(r.run, ranges(spills)));
    }
    $('totals').tBodies[0].replaceChildren(...rows);
    $('totals').tFoot.replaceChildren(el('tr', { class: 'total' }, el('td', {}, 'total'),
      el('td', { class: 'num', id: 'total-spills' }, String(total.spills)),
      ...FLAGS.map(f => el('td', { class: 'num' }, String(total.flags[f]))),
      el('td', { class: 'num', id: 'total-mot' }, fmt(total.mot)), el('td', { class: 'num', id: 'total-good-mot' }, fmt(total.good_mot)),
      el('td', { class: 'num' }, total.mot ? (100 * total.good_mot / total.mot).toFixed(1) + ' %' : '—'), el('td', {})));
    $('problems').tBodies[0].replaceChildren(...problems);
    $('no-problems').hidden = problems.length > 0;

    await loadNotes();

    // Handover notes have their own list; the other human actions are listed here.
    const audit = (await pages('/api/v1/audit?limit=200', 'entries', from))
      .filter(a => a.time >= from && a.time < to && a.action !== 'handover');
    $('manual').tBodies[0].replaceChildren(...audit.reverse().map(a => el('tr', {},
      el('td', {}, fmtTime(a.time)), el('td', {}, a.shifter || a.who), el('td', {}, `${a.run ?? '—'} · ${a.spill ?? '—'}`),
      el('td', {}, a.action), el('td', {}, `${a.old ?? '—'} → ${a.new ?? '—'}`),
      el('td', {}, [a.reason, a.comment].filter(Boolean).join(' · ')))));

    const { episodes, quiet } = foldEpisodes((await api('/api/v1/alarms?history=1&limit=5000')).history || []);
    const shown = episodes.filter(e => overlaps(e, from, to)).reverse(); // oldest first, as the shift went
    $('alarms').tBodies[0].replaceChildren(...shown.map(episodeRow));
    const q = Object.entries(quiet);
    $('alarm-quiet').textContent = q.length ? q.map(([a, n]) => `${a} ${n}×`).join(', ') : 'none';

    const zone = zoneLabel(to);
    $('heading').textContent = `Shift summary ${show(from)} – ${show(to)}`;
    $('zone-line').textContent = `All times in ${zone}.`;
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
    live.fresh();
  } catch (e) {
    say('range-msg', e.message, false);
    live.failed(e);
  }
}

$('note-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const text = f.get('text');
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > NOTE_BYTES) { say('note-msg', `the note is ${bytes} bytes long; at most ${NOTE_BYTES}`, false); return; }
  try {
    const res = await api('/api/v1/shift/notes', { method: 'POST',
      body: { shifter: f.get('shifter'), text, from: range.from, to: range.to } });
    say('note-msg', `note saved ${fmtTime(res.note.time)}`);
    $('note-text').value = '';
    await loadNotes();
  } catch (e) {
    say('note-msg', e.message, false);
  }
});

const p = new URLSearchParams(location.search);
const now = Date.now() / 1000;
const last8 = () => { const t = Math.ceil(Date.now() / 60000) * 60; setRange(t - 8 * 3600, t); };
if (Number(p.get('from')) && Number(p.get('to'))) setRange(Number(p.get('from')), Number(p.get('to')));
else last8();
$('zone-line').textContent = `All times in ${zoneLabel(now)}.`;
$('last8').addEventListener('click', () => { last8(); load(); });
$('range-form').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
$('print').addEventListener('click', () => window.print());
load();
