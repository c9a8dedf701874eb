// alarmtime.js — alarm transitions folded into episodes, for the alarms page's history and the shift
// summary's timeline. An episode is what a shifter cares about: a rule firing, perhaps acknowledged
// (and the acknowledgement expiring), until it resolved or went inactive. The pending steps of a
// condition that came and went without firing (pending → inactive, pending → resolved) are noise:
// counted per rule, not listed.
import { el, fmtClock, fmtTime } from '/lib.js';

const UP = ['firing', 'acknowledged'];
const by = (t) => t.shifter || t.who || null;

// history: transitions as GET /api/v1/alarms?history=1 gives them (any order). Returns
// {episodes (newest start first), quiet: {alarm: pending steps that never fired}}. An episode:
// {alarm, severity, start, end (null: still firing/acknowledged), state (the last state), run, spill,
// acks: [{by, comment, time}], expired (acknowledgements that expired), endNote, endBy, deliveries
// (the delivery log rows of the episode's notices, from the transition that started it; null when
// the episode began before the oldest transition given)}. start is null in that case too.
export function foldEpisodes(history) {
  const rows = history.slice().sort((a, b) => a.time - b.time || a.id - b.id);
  const open = new Map();
  const episodes = [];
  const quiet = {};
  const begin = (t, start) => {
    const e = { alarm: t.alarm, severity: t.severity, start, end: null, state: 'firing', run: t.run, spill: t.spill,
                acks: [], expired: 0, endNote: null, endBy: null, deliveries: t.deliveries || null };
    open.set(t.alarm, e);
    return e;
  };
  for (const t of rows) {
    let e = open.get(t.alarm);
    if (UP.includes(t.to)) {
      if (!e) e = begin(t, UP.includes(t.from) ? null : t.time);
      else if (t.to === 'firing' && t.from === 'acknowledged') e.expired++;
      if (t.to === 'acknowledged') e.acks.push({ by: by(t), comment: t.comment || '', time: t.time });
      e.state = t.to;
    } else if (UP.includes(t.from)) {
      if (!e) e = begin(t, null);
      e.end = t.time;
      e.state = t.to;
      e.endNote = t.note || null;
      e.endBy = by(t) && t.note === 'reset' ? by(t) : null;
      episodes.push(e);
      open.delete(t.alarm);
    } else if (t.from === 'pending' && t.to !== 'pending') {
      quiet[t.alarm] = (quiet[t.alarm] || 0) + 1;
    }
  }
  episodes.push(...open.values());
  episodes.sort((a, b) => (b.start ?? -Infinity) - (a.start ?? -Infinity) || (b.end ?? Infinity) - (a.end ?? Infinity));
  return { episodes, quiet };
}

// Whether an episode overlaps [from, to).
export const overlaps = (e, from, to) => (e.start ?? -Infinity) < to && (e.end === null || e.end >= from);

// The end time, as a clock when it falls on the start's date.
function later(start, t) {
  if (start !== null && fmtTime(start).slice(0, 10) === fmtTime(t).slice(0, 10)) return fmtClock(t);
  return fmtTime(t);
}

// One sentence: "firing 2026-12-02 03:12:04 → resolved 03:20:10, acknowledged by A. Shifter (03:14:00: expert called)".
export function episodeText(e) {
  const parts = [`firing ${e.start === null ? '(before the listed history)' : fmtTime(e.start)}`];
  parts[0] += e.end === null ? ` → still ${e.state}` : ` → ${e.state} ${later(e.start, e.end)}`;
  if (e.endBy) parts.push(`reset by ${e.endBy}`);
  for (const a of e.acks)
    parts.push(`acknowledged by ${a.by || 'someone'} (${later(e.start, a.time)}${a.comment ? ': ' + a.comment : ''})`);
  if (e.expired) parts.push(`acknowledgement expired${e.expired > 1 ? ' ×' + e.expired : ''}`);
  return parts.join(', ');
}

// A table row of an episode: alarm, severity, the sentence, run · spill where it started.
export function episodeRow(e) {
  return el('tr', { class: 'episode sev-' + e.severity, dataset: { alarm: e.alarm, end: e.end === null ? 'open' : e.state } },
    el('td', {}, e.alarm), el('td', {}, e.severity || ''), el('td', {}, episodeText(e)),
    el('td', {}, e.run === null || e.run === undefined ? '—' : `${e.run} · ${e.spill ?? '—'}`));
}

// The notices of an episode, one per hook and notice (firing, repeats, resolved), from its delivery
// log rows: [{hook, kind, target, status, outcome (the last row's), attempts, http_status,
// exit_code, error (the last failure's), time, failures: [{attempt, error}]}], oldest first.
export function notices(rows) {
  const by = new Map();
  for (const r of rows || []) {
    let n = by.get(r.notice);
    if (!n) by.set(r.notice, n = { hook: r.hook, kind: r.kind, target: r.target, status: r.status, failures: [] });
    Object.assign(n, { outcome: r.outcome, attempts: r.attempt, http_status: r.http_status, exit_code: r.exit_code,
                       time: r.time });
    if (r.error && r.outcome !== 'delivered') n.failures.push({ attempt: r.attempt, error: r.error });
  }
  return [...by.values()];
}

const FAILED = ['retrying', 'dropped', 'queue_full'];

// One line per notice: "shift · firing: delivered (HTTP 200) after 2 attempts; attempt 1: HTTP 500: ...".
export function noticeText(n) {
  const answer = n.http_status !== null && n.http_status !== undefined ? `HTTP ${n.http_status}`
    : n.exit_code !== null && n.exit_code !== undefined ? `exit ${n.exit_code}` : null;
  const last = n.failures.length ? n.failures[n.failures.length - 1] : null;
  let what;
  if (n.outcome === 'delivered') what = `delivered${answer ? ` (${answer})` : ''}${n.attempts > 1 ? ` after ${n.attempts} attempts` : ''}`;
  else if (n.outcome === 'retrying') what = `NOT delivered yet: attempt ${n.attempts} failed, retrying`;
  else if (n.outcome === 'dropped') what = `NOT delivered: dropped after ${n.attempts} attempt${n.attempts > 1 ? 's' : ''}`;
  else if (n.outcome === 'queue_full') what = 'NOT delivered: dropped, the hook\'s queue was full';
  else what = 'not sent: held back by a silence';
  // Delivered: every failed attempt before; not delivered: the last failure (and how many before).
  let errors = [];
  if (n.outcome === 'delivered') errors = n.failures.map(f => `attempt ${f.attempt}: ${f.error}`);
  else if (FAILED.includes(n.outcome) && last)
    errors = [`attempt ${last.attempt}: ${last.error}` + (n.failures.length > 1 ? ` (${n.failures.length - 1} earlier failed too)` : '')];
  return `${n.hook} · ${n.status}: ${what}${errors.length ? ' — ' + errors.join('; ') : ''}`;
}

// A table cell: who was notified through which hook, and whether it arrived (a failure in red). The
// repeats of a notice (same hook, same status) share one line: the last one, or the last that
// failed, with how many there were.
export function deliveriesCell(e) {
  if (e.deliveries === null) return el('td', { class: 'deliveries small' }, '—');
  const groups = new Map();
  for (const n of notices(e.deliveries)) {
    const key = `${n.hook}\u0000${n.status}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(n);
  }
  if (!groups.size) return el('td', { class: 'deliveries small' }, 'no notice sent');
  return el('td', { class: 'deliveries small' }, el('ul', { class: 'plain' }, [...groups.values()].map(list => {
    const failed = list.filter(n => FAILED.includes(n.outcome));
    const n = failed.length ? failed[failed.length - 1] : list[list.length - 1];
    const more = list.length > 1
      ? ` · ${list.length} notices (repeats): ${list.filter(x => x.outcome === 'delivered').length} delivered` +
        (failed.length ? `, ${failed.length} not` : '')
      : '';
    return el('li', { class: 'delivery ' + (FAILED.includes(n.outcome) ? 'failed' : n.outcome),
                      dataset: { hook: n.hook, status: n.status, outcome: n.outcome, attempts: n.attempts, notices: list.length },
                      title: `${n.kind} ${n.target}, last attempt ${fmtTime(n.time)}` }, noticeText(n) + more);
  })));
}
