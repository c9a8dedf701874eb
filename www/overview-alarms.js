// overview-alarms.js — the overview's alarm box (firing, acknowledged, pending and silenced alarms
// with the acknowledge button, so a shifter acts without leaving the overview), the silences in
// force (who, why, until when, which alarms: shown whether or not the alarms they mute are active
// now), and the alarms part of the alert banner (banner.js). Polls every 2 s.
import { $, api, el, every, fmtTime } from '/lib.js';
import { renderActive } from '/alarmui.js';
import { setAlarms } from '/banner.js';
import { fmtDuration } from '/datagap.js';
import { on } from '/stream.js';

function matcherText(m) {
  return Object.entries(m || {}).map(([k, v]) => (k === 'alertname' ? v : `${k}=${v}`)).join(', ');
}

function renderSilences(silences) {
  const now = Date.now() / 1000;
  const active = silences.filter(s => s.active);
  $('silences-box').hidden = active.length === 0;
  const key = JSON.stringify(active.map(s => [s.id, s.ends_at, s.matches]));
  const list = $('silences');
  if (list.dataset.key === key && active.length) {
    for (const li of list.children) li.querySelector('.left').textContent = `(${fmtDuration(Number(li.dataset.ends) - now)} left)`;
    return;
  }
  list.dataset.key = key;
  list.replaceChildren(...active.map(s => {
    const who = s.creator || s.who || 'someone';
    const muted = s.matches && s.matches.length ? s.matches.join(', ') : matcherText(s.matchers);
    return el('li', { dataset: { silence: s.id, ends: s.ends_at } },
      el('span', { class: 'sil-what' }, `mutes ${muted}`), ' · ',
      el('span', { class: 'sil-who' }, `by ${who}`), ' · ',
      el('span', { class: 'sil-until' }, `until ${fmtTime(s.ends_at)}`), ' ',
      el('span', { class: 'left small' }, `(${fmtDuration(s.ends_at - now)} left)`), ' · ',
      el('q', { class: 'sil-why' }, s.comment || ''));
  }));
}

async function refresh() {
  try {
    const [res, sil] = await Promise.all([api('/api/v1/alarms'), api('/api/v1/silences?active=1')]);
    renderActive($('overview-alarms'), $('overview-quiet'), res.alarms, refresh);
    setAlarms(res.alarms);
    renderSilences(sil.silences || []);
  } catch (e) {
    /* the overview's own poll shows the connection state */
  }
}

every(2000, refresh);
on('alarm', refresh); // a transition shows at once
on('reset', refresh);
