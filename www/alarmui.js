// alarmui.js — the active-alarms table with its acknowledge and reset forms, shared by the alarms
// page and the overview.
import { api, el, fmt, fmtAgo, fmtTime, say } from '/lib.js';

const ACTIVE = ['firing', 'acknowledged', 'pending'];

function stateBadge(a) {
  const s = a.silenced_by ? a.state + ' (silenced)' : a.state;
  return el('span', { class: 'state ' + a.state }, s);
}

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

export function renderActive(table, quiet, alarms, refresh) {
  const rows = alarms.filter(a => ACTIVE.includes(a.state) || a.silenced_by)
    .sort((x, y) => ACTIVE.indexOf(x.state) - ACTIVE.indexOf(y.state));
  const body = table.tBodies[0];
  // Do not replace a form the shifter is typing in.
  const focus = document.activeElement;
  if (focus && focus.tagName === 'INPUT' && body.contains(focus)) return;
  body.replaceChildren(...rows.map(a => {
    const ackd = a.acknowledged ? `by ${a.acknowledged.by}${a.acknowledged.comment ? ': ' + a.acknowledged.comment : ''}`
      : a.silenced_by ? `silence #${a.silenced_by}` : '';
    const action = a.state === 'firing' ? actionForm(a, 'ack', refresh)
      : (a.latched && (a.state === 'firing' || a.state === 'acknowledged')) ? actionForm(a, 'reset', refresh) : '';
    return el('tr', { class: 'sev-' + a.severity, dataset: { alarm: a.name } },
      el('td', {}, a.name), el('td', {}, stateBadge(a)), el('td', {}, a.severity),
      el('td', { title: fmtTime(a.starts_at || a.since) }, fmtAgo(a.starts_at || a.since)),
      el('td', {}, `${fmt(a.value, 4)} / ${fmt(a.threshold, 4)}`),
      el('td', {}, a.run === null ? '—' : `${a.run} · ${a.spill ?? '—'}`),
      el('td', {}, a.summary || ''), el('td', {}, ackd), el('td', {}, action));
  }));
  if (quiet) quiet.hidden = rows.length > 0;
}

