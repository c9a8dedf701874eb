// runcert.js — the run page's sign-off and reopen. Sign-off is offered only when the server would
// take it (docs/api.md, Certification): the run has ended (a run_end), no spill is open, no spill is
// UNKNOWN without a manual flag, and it is not signed off yet; otherwise the button is disabled and
// says why. It asks first, in a dialog that shows what is being certified (spills per flag, MOT, good
// MOT, the manual overrides); cancelling sends nothing. A signed-off run gets a Reopen form, whose
// reason the server requires.
import { $, api, el, flagBadge, fmt, say, spanText } from '/lib.js';

const FLAGS = ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'];

// Why the run cannot be signed off now, or null when it can.
export function whyNot(r, spills) {
  if (r.signoff) return `run ${r.run} is signed off by ${r.signoff.shifter || r.signoff.who}: reopen it to change it`;
  if (r.ended === null || r.ended === undefined) return `run ${r.run} is running (no run_end yet)`;
  if (r.live) return `run ${r.run} has an open spill (${r.live.spill}): sign off after it closes`;
  const unknown = spills.filter(s => s.flag === 'UNKNOWN' && !s.manual).map(s => s.spill);
  if (unknown.length > 1) return `spills ${spanText(unknown)} are UNKNOWN without a manual flag: flag them (GOOD, BAD or EXCLUDED) first`;
  if (unknown.length) return `spill ${unknown[0]} is UNKNOWN without a manual flag: flag it (GOOD, BAD or EXCLUDED) first`;
  return null;
}

// The manual overrides in groups of consecutive spills with the same decision.
function overrides(spills) {
  const groups = [];
  for (const s of spills.filter(x => x.manual)) {
    const m = s.manual;
    const key = [m.flag, s.auto_flag, m.reason, m.comment, m.shifter || m.who].join('\n');
    const g = groups[groups.length - 1];
    if (g && g.key === key && g.spills[g.spills.length - 1] === s.spill - 1) { g.spills.push(s.spill); g.conflict ||= s.conflict; continue; }
    groups.push({ key, spills: [s.spill], manual: m, auto: s.auto_flag, conflict: !!s.conflict });
  }
  return groups;
}

function summary(r, spills, shifter, comment) {
  const over = overrides(spills);
  const n = spills.filter(s => s.manual).length;
  return [
    el('table', { class: 'grid summary', id: 'dlg-flags' },
      el('thead', {}, el('tr', {}, FLAGS.map(f => el('th', {}, f)))),
      el('tbody', {}, el('tr', {}, FLAGS.map(f => el('td', { class: 'num', dataset: { flag: f } }, String(r.flags[f] || 0)))))),
    el('dl', { class: 'facts' },
      el('dt', {}, 'spills'), el('dd', { id: 'dlg-spills' }, String(r.spills)),
      el('dt', {}, 'MOT'), el('dd', { id: 'dlg-mot' }, fmt(r.mot)),
      el('dt', {}, 'good MOT'), el('dd', { id: 'dlg-good-mot' }, fmt(r.good_mot) + (r.mot ? ` (${(100 * r.good_mot / r.mot).toFixed(1)} % of the MOT)` : '')),
      el('dt', {}, 'manual overrides'), el('dd', { id: 'dlg-manual-count' }, n ? `${n} spill${n > 1 ? 's' : ''}` : 'none'),
      el('dt', {}, 'signed off by'), el('dd', {}, `${shifter}: ${comment}`)),
    over.length ? el('ul', { class: 'plain', id: 'dlg-manual' }, over.map(g => el('li', {},
      `spill${g.spills.length > 1 ? 's' : ''} ${spanText(g.spills)}: `, flagBadge(g.manual.flag), ' by ', g.manual.shifter || g.manual.who,
      ` (${[g.manual.reason, g.manual.comment].filter(Boolean).join(' — ')}); checks: `, flagBadge(g.auto || 'UNKNOWN'),
      g.conflict ? el('span', { class: 'mark conflict' }, '≠ checks') : null))) : null,
  ];
}

// ctx: {run(): the run number, refresh()}. Returns {update(run, spills)} for each refresh.
export function certify(ctx) {
  let current = null;
  let list = [];
  let pending = null;
  const dialog = $('signoff-dialog');

  $('signoff-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!current || whyNot(current, list)) return;
    const f = new FormData(ev.target);
    pending = { run: current.run, body: { shifter: f.get('shifter'), comment: f.get('comment') } };
    $('dlg-title').textContent = `Sign off run ${current.run}?`;
    $('dlg-summary').replaceChildren(...summary(current, list, pending.body.shifter, pending.body.comment));
    $('dlg-confirm').textContent = `Sign off run ${current.run}`;
    dialog.returnValue = '';
    dialog.showModal();
    $('dlg-cancel').focus();
  });

  dialog.addEventListener('close', async () => {
    const p = pending;
    pending = null;
    if (!p) return;
    if (dialog.returnValue !== 'confirm') { say('signoff-msg', `run ${p.run} not signed off (cancelled)`, false); return; }
    try {
      await api(`/api/v1/runs/${p.run}/signoff`, { method: 'POST', body: p.body });
      say('signoff-msg', `run ${p.run} signed off`);
      $('signoff-form').reset();
    } catch (e) {
      say('signoff-msg', e.message, false);
    }
    ctx.refresh();
  });

  $('reopen-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const r = ctx.run();
    try {
      await api(`/api/v1/runs/${r}/reopen`, { method: 'POST',
        body: { reason: f.get('reason'), shifter: f.get('shifter'), comment: f.get('comment') } });
      say('reopen-msg', `run ${r} reopened`);
      ev.target.reset();
    } catch (e) {
      say('reopen-msg', e.message, false);
    }
    ctx.refresh();
  });

  return {
    update(r, spills) {
      if (current && current.run !== r.run) { say('signoff-msg', ''); say('reopen-msg', ''); }
      current = r;
      list = spills;
      const why = whyNot(r, spills);
      const button = $('signoff-button');
      button.disabled = why !== null;
      button.title = why || '';
      button.textContent = `Sign off run ${r.run}…`;
      $('signoff-why').textContent = why || '';
      $('reopen-form').hidden = !r.signoff;
      $('reopen-button').textContent = `Reopen run ${r.run}`;
      // A signed-off run's flags cannot change: say so before the server does.
      $('flag-button').disabled = !!r.signoff;
      $('flag-button').title = r.signoff ? `run ${r.run} is signed off: reopen it to change flags` : '';
    },
  };
}
