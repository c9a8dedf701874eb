// status.js — the overview's status rows: one per subsystem of the profile (GET /api/v1/checks
// "subsystems"), judged by the last closed spill's checks (each has its "subsystem"). A row is
// GOOD/WARN/BAD/UNKNOWN in colour and in words with one sentence of what is wrong now: its worst
// check's reason, told with the check's title instead of its internal name. The DAQ row puts a
// stall (no data for longer than the run's normal gap, datagap.js) and an incomplete spill above
// its checks. Rows are worst first; a row with more than one problem has a "+N more" that lists
// every one in place: nothing is cut.
import { el, flagBadge } from '/lib.js';
import { gapSentence } from '/datagap.js';

// Worst first, ranked as the spill flag ranks its checks: BAD, then WARN, then UNKNOWN.
const RANK = { BAD: 0, WARN: 1, UNKNOWN: 2, GOOD: 3, EXCLUDED: 4 };
const rank = s => (s in RANK ? RANK[s] : RANK.UNKNOWN);
const DAQ = 'daq';

// A check's reason opened by its title: the server's reasons say "HCAL module 2 MIP peak: 0.0500
// GeV, …"; one stored in the older form "hcal2_mip [detector]: …" gets the title instead of the name.
function checkItem(c) {
  const title = c.title || c.name;
  const r = String(c.reason || '');
  const text = !r ? `${title}: ${c.state}` : r.startsWith(title) ? r
    : `${title}: ${r.replace(/^[A-Za-z0-9_.:-]+ \[[^\]]*\]:\s*/, '')}`;
  return { state: c.state, text, check: c.name };
}

// -> [{name, title, state, items: [{state, text, check?}], summary, cause}] worst first; within a
// row worst first, then in the profile's order (checkOrder: the check names).
export function statusRows(subsystems, spill, gap, checkOrder = []) {
  const pos = new Map(checkOrder.map((n, i) => [n, i]));
  const at = c => (pos.has(c.name) ? pos.get(c.name) : pos.size);
  const subs = subsystems.length ? [...subsystems] : [];
  if (!subs.some(s => s.name === DAQ)) subs.push({ name: DAQ, title: 'DAQ / trigger' });
  const rows = subs.map((s, order) => {
    const checks = spill ? (spill.checks || []).filter(c => (c.subsystem || c.category) === s.name) : [];
    const judged = checks.filter(c => c.state !== 'EXCLUDED');
    const items = judged.filter(c => c.state !== 'GOOD').sort((a, b) => rank(a.state) - rank(b.state) || at(a) - at(b)).map(checkItem);
    let cause = false;
    if (s.name === DAQ) {
      const first = [];
      if (gap && gap.stale) first.push({ state: 'BAD', text: gapSentence(gap) });
      if (spill && spill.complete === false) {
        const why = (spill.reasons || []).find(r => /^incomplete/i.test(r)) || 'incomplete: no spill_end';
        first.push({ state: 'BAD', text: `spill ${spill.spill} incomplete: ${why.replace(/^incomplete( spill)?:\s*/i, '')}` });
      }
      cause = first.length > 0;
      items.unshift(...first);
    }
    const excluded = checks.length - judged.length;
    let state;
    let summary;
    if (items.length) {
      state = items.reduce((w, i) => (rank(i.state) < rank(w) ? i.state : w), 'GOOD');
      summary = items[0].text;
    } else if (!spill) {
      state = 'UNKNOWN';
      summary = 'no spill judged yet';
    } else if (!judged.length) {
      state = checks.length ? 'EXCLUDED' : 'UNKNOWN';
      summary = checks.length ? `${checks.length} checks not judged (no beam)` : 'no check of this subsystem in the profile';
    } else {
      state = 'GOOD';
      summary = `all ${judged.length} checks good` + (excluded ? ` (${excluded} not judged: no beam)` : '');
    }
    return { name: s.name, title: s.title || s.name, state, items, summary, cause, order };
  });
  return rows.sort((a, b) => (b.cause - a.cause) || (rank(a.state) - rank(b.state)) || (a.order - b.order));
}

const expanded = new Set(); // subsystems whose every problem is listed (kept across refreshes)
let shownKey = '';

// link(item): the explorer URL of a check's item (its spill, its histogram, the check highlighted),
// or null: the reason is then plain text.
export function renderStatus(box, rows, onChange, link = () => null) {
  const key = JSON.stringify([rows, [...expanded]]);
  if (key === shownKey) return;
  shownKey = key;
  box.replaceChildren(...rows.map(r => {
    const open = expanded.has(r.name) && r.items.length > 1;
    const toggle = () => {
      if (expanded.has(r.name)) expanded.delete(r.name);
      else expanded.add(r.name);
      renderStatus(box, rows, onChange);
      if (onChange) onChange();
    };
    const more = r.items.length > 1
      ? el('button', { type: 'button', class: 'link more', id: `status-${r.name}-more`, onclick: toggle },
        open ? 'less' : `+${r.items.length - 1} more`)
      : null;
    const words = (i, cls) => {
      const href = i.check ? link(i) : null;
      return href ? el('a', { class: cls, href, title: 'open this spill in the explorer' }, i.text) : el('span', { class: cls }, i.text);
    };
    const text = open
      ? el('ul', { class: 'status-items' }, r.items.map(i =>
        el('li', { dataset: { state: i.state } }, flagBadge(i.state), ' ', words(i, 'item-text'))))
      : r.items.length ? words(r.items[0], 'status-text') : el('span', { class: 'status-text' }, r.summary);
    return el('div', { class: 'status-row ' + r.state, id: `status-${r.name}`, dataset: { subsystem: r.name, state: r.state } },
      el('span', { class: 'status-name' }, r.title), flagBadge(r.state), el('div', { class: 'status-what' }, text), more);
  }));
}
