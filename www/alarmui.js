// alarmui.js — the active-alarms table with its acknowledge and reset forms, shared by the alarms
// page and the overview. A rule that an active silence mutes is listed whatever its state (the server
// names a silence in silenced_by only while the rule fires), so a silence never hides.
import { api, el, fmt, fmtAgo, fmtTime, say } from '/lib.js';

const ACTIVE = ['firing', 'acknowledged', 'pending'];
const rank = (a) => (ACTIVE.includes(a.state) ? ACTIVE.indexOf(a.state) : ACTIVE.length);

function stateBadge(a, muted) {
  const s = a.silenced_by || muted ? a.state + ' (silenced)' : a.state;
  return el('span', { class: 'state ' + a.state }, s);
}

// The active silences muting each rule: {rule name: [silence...]}.
export function mutedBy(silences) {
  const out = {};
  for (const s of silences || []) {
    if (!s.active) continue;
    for (const name of s.matches || []) (out[name] = out[name] || []).push(s);
  }
  return out;
}

const silenceText = (s) => `silence #${s.id} by ${s.creator || s.who} until ${fmtTime(s.ends_at)}${s.comment ? ': ' + s.comment : ''}`;

// A small inline form: who and why, then the action.
function actionForm(a, action, refresh) {
  const form = el('form', { class: 'inline', dataset: { alarm: a.name, action } },
    el('input', { name: 'shifter', placeholder: 'name', required: true, size: 8 }),
    el('input', { name: 'comment', placeholder: action === 'ack' ? 'comment' : 'why', size: 14 }),
    el('button', { type: 'submit' }, action === 'ack' ? 'Acknowledge' : 'Reset'),
    el('span', { class: 'msg' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { shifter: f.get('shifter'), comment: f.get('comment') };
    try {
      await api(`/api/v1/alarms/${encodeURIComponent(a.name)}/${action}`, { method: 'POST', body });
      say(form.querySelector('.msg'), action === 'ack' ? 'acknowledged' : 'reset');
      if (document.activeElement) document.activeElement.blur();
      refresh();
    } catch (e) {
      say(form.querySelector('.msg'), e.message, false);
    }
  });
  return form;
}

// silences (optional): GET /api/v1/silences' list; the rules its active ones mute are listed too.
export function renderActive(table, quiet, alarms, refresh, silences = []) {
  const muted = mutedBy(silences);
  const rows = alarms.filter(a => ACTIVE.includes(a.state) || a.silenced_by || muted[a.name])
    .sort((x, y) => rank(x) - rank(y));
  const body = table.tBodies[0];
  // Do not replace a form the shifter is typing in.
  const focus = document.activeElement;
  if (focus && focus.tagName === 'INPUT' && body.contains(focus)) return;
  body.replaceChildren(...rows.map(a => {
    const mutes = muted[a.name] || [];
    const ackd = [a.acknowledged ? `acknowledged by ${a.acknowledged.by}${a.acknowledged.comment ? ': ' + a.acknowledged.comment : ''}` : '',
      ...mutes.map(silenceText),
      a.silenced_by && !mutes.some(s => s.id === a.silenced_by) ? `silence #${a.silenced_by}` : ''].filter(Boolean).join('; ');
    const action = a.state === 'firing' ? actionForm(a, 'ack', refresh)
      : (a.latched && (a.state === 'firing' || a.state === 'acknowledged')) ? actionForm(a, 'reset', refresh) : '';
    const since = a.starts_at || a.since;
    return el('tr', { class: 'sev-' + a.severity, dataset: { alarm: a.name, state: a.state, silenced: mutes.length || a.silenced_by ? '1' : null } },
      el('td', {}, a.name), el('td', {}, stateBadge(a, mutes.length > 0)), el('td', {}, a.severity),
      el('td', {}, fmtTime(since), el('span', { class: 'small' }, ' · ' + fmtAgo(since))),
      el('td', {}, `${fmt(a.value, 4)} / ${fmt(a.threshold, 4)}`),
      el('td', {}, a.run === null ? '—' : `${a.run} · ${a.spill ?? '—'}`),
      el('td', {}, a.summary || ''), el('td', {}, ackd), el('td', {}, action));
  }));
  if (quiet) quiet.hidden = rows.length > 0;
}

