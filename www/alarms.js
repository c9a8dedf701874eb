// alarms.js — the alarms page: active alarms with acknowledge/reset (and every rule an active silence
// mutes, whatever its state), silences (form, list with the rules each mutes and their state now, end),
// and the history folded into episodes (firing → resolved, who acknowledged; pending steps that never
// fired counted, not listed; who was notified through which hook, and whether it arrived, a failure
// in red with its error), with every transition one click away. Polls every 2 s.
import { $, api, el, every, fmt, fmtTime, header, say, staleness } from '/lib.js';
import { renderActive } from '/alarmui.js';
import { deliveriesCell, foldEpisodes, episodeRow } from '/alarmtime.js';
import { on } from '/stream.js';

header('/alarms.html', 'alarms');
const live = staleness();
let rulesKnown = '';
let last = null; // the last replies, to redraw the history when the toggle changes

function renderRules(alarms) {
  const names = alarms.map(a => a.name).join(',');
  if (names === rulesKnown) return;
  rulesKnown = names;
  $('silence-alarm').replaceChildren(el('option', { value: '' }, '(by label)'),
    ...alarms.map(a => el('option', { value: a.name }, a.name)));
}

function silenceState(s) {
  if (s.active) return 'active';
  if (s.expired_by) return 'ended';
  return s.starts_at > Date.now() / 1000 ? 'scheduled' : 'expired';
}

function renderSilences(list, alarms) {
  const state = Object.fromEntries(alarms.map(a => [a.name, a.state]));
  const order = { active: 0, scheduled: 1, ended: 2, expired: 2 };
  const rows = list.slice().sort((a, b) => order[silenceState(a)] - order[silenceState(b)] || b.id - a.id);
  $('silences').tBodies[0].replaceChildren(...rows.map(s => {
    const st = silenceState(s);
    const end = el('button', { type: 'button', onclick: async () => {
      try { await api(`/api/v1/silences/${s.id}`, { method: 'DELETE' }); refresh(); } catch (e) { alert(e.message); }
    } }, 'End');
    const mutes = (s.matches || []).map(name => el('li', { dataset: { rule: name } }, name + ' ',
      el('span', { class: 'state ' + (state[name] || 'gone') }, state[name] ? `(${state[name]})` : '(no such rule now)')));
    return el('tr', { class: st === 'active' ? 'silence-active' : 'ended', dataset: { silence: s.id, state: st } },
      el('td', {}, String(s.id)),
      el('td', {}, el('ul', { class: 'plain' }, mutes),
        el('div', { class: 'small' }, Object.entries(s.matchers || {}).map(([k, v]) => `${k}=${v}`).join(', '))),
      el('td', {}, fmtTime(s.starts_at)), el('td', {}, fmtTime(s.ends_at)), el('td', {}, s.creator || s.who),
      el('td', {}, s.comment), el('td', {}, st === 'active' ? end : st));
  }));
}

function renderHistory(hist) {
  const raw = $('raw').checked;
  $('history').hidden = !raw;
  $('episodes').hidden = raw;
  if (raw) {
    $('history').tBodies[0].replaceChildren(...hist.slice(0, 200).map(h => el('tr', { dataset: { alarm: h.alarm } },
      el('td', {}, fmtTime(h.time)), el('td', {}, h.alarm), el('td', {}, `${h.from} → ${h.to}`),
      el('td', {}, h.run === null ? '—' : `${h.run} · ${h.spill ?? '—'}`), el('td', {}, fmt(h.value, 4)),
      el('td', {}, [h.shifter || h.who, h.comment, h.note].filter(Boolean).join(' · ')))));
    $('history-note').textContent = `The last ${Math.min(hist.length, 200)} transitions, newest first.`;
    return;
  }
  const { episodes, quiet } = foldEpisodes(hist);
  $('episodes').tBodies[0].replaceChildren(...episodes.slice(0, 100).map(e => {
    const tr = episodeRow(e);
    tr.append(deliveriesCell(e));
    return tr;
  }));
  const q = Object.entries(quiet);
  $('history-note').textContent = (episodes.length ? 'Each episode in one row, newest first.' : 'No alarm fired in the listed history.') +
    (q.length ? ` Pending without firing (not listed): ${q.map(([a, n]) => `${a} ${n}×`).join(', ')}.` : '');
}

function render() {
  if (!last) return;
  const [alarms, silences] = last;
  renderRules(alarms.alarms);
  renderActive($('active'), $('quiet'), alarms.alarms, refresh, silences.silences);
  renderSilences(silences.silences, alarms.alarms);
  renderHistory(alarms.history || []);
}

async function refresh() {
  try {
    last = await Promise.all([api('/api/v1/alarms?history=1&limit=500'), api('/api/v1/silences?limit=50')]);
    render();
    live.fresh();
  } catch (e) {
    live.failed(e);
  }
}

$('raw').addEventListener('change', render);
$('silence-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { duration: Number(f.get('duration')), comment: f.get('comment'), creator: f.get('creator') };
  const label = (f.get('label') || '').trim();
  if (f.get('alarm')) body.alarm = f.get('alarm');
  else if (label) {
    const i = label.indexOf('=');
    body.matchers = { [label.slice(0, i)]: label.slice(i + 1) };
  } else {
    say('silence-msg', 'choose an alarm or give a label', false);
    return;
  }
  try {
    const res = await api('/api/v1/silences', { method: 'POST', body });
    say('silence-msg', `silence #${res.silence.id} mutes ${res.matches.join(', ')}`);
    ev.target.reset();
    refresh();
  } catch (e) {
    say('silence-msg', e.message, false);
  }
});

every(2000, refresh);
on('alarm', refresh);
on('reset', refresh);
