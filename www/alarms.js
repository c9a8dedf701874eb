// alarms.js — the alarms page: active alarms with acknowledge/reset, silences (form, list, end),
// and the transition history. Polls every 2 s.
import { $, api, el, every, fmt, fmtTime, header, say, staleness } from '/lib.js';
import { renderActive } from '/alarmui.js';
import { on } from '/stream.js';

header('/alarms.html', 'alarms');
const live = staleness();
let rulesKnown = '';

function renderRules(alarms) {
  const names = alarms.map(a => a.name).join(',');
  if (names === rulesKnown) return;
  rulesKnown = names;
  $('silence-alarm').replaceChildren(el('option', { value: '' }, '(by label)'),
    ...alarms.map(a => el('option', { value: a.name }, a.name)));
}

function renderSilences(list) {
  $('silences').tBodies[0].replaceChildren(...list.map(s => {
    const end = el('button', { type: 'button', onclick: async () => {
      try { await api(`/api/v1/silences/${s.id}`, { method: 'DELETE' }); refresh(); } catch (e) { alert(e.message); }
    } }, 'End');
    return el('tr', { class: s.active ? '' : 'ended' },
      el('td', {}, String(s.id)), el('td', {}, (s.matches || []).join(', ')),
      el('td', {}, fmtTime(s.starts_at)), el('td', {}, fmtTime(s.ends_at)), el('td', {}, s.creator),
      el('td', {}, s.comment), el('td', {}, s.active ? end : (s.expired_by ? 'ended' : 'expired')));
  }));
}

function renderHistory(hist) {
  $('history').tBodies[0].replaceChildren(...hist.slice(0, 100).map(h => el('tr', {},
    el('td', {}, fmtTime(h.time)), el('td', {}, h.alarm), el('td', {}, `${h.from} → ${h.to}`),
    el('td', {}, h.run === null ? '—' : `${h.run} · ${h.spill ?? '—'}`), el('td', {}, fmt(h.value, 4)),
    el('td', {}, [h.shifter || h.who, h.comment, h.note].filter(Boolean).join(' · ')))));
}

async function refresh() {
  try {
    const [alarms, silences] = await Promise.all([api('/api/v1/alarms?history=1&limit=100'),
                                                  api('/api/v1/silences?limit=50')]);
    renderRules(alarms.alarms);
    renderActive($('active'), $('quiet'), alarms.alarms, refresh);
    renderSilences(silences.silences);
    renderHistory(alarms.history || []);
    live.fresh();
  } catch (e) {
    live.failed(e);
  }
}

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
