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
// acks: [{by, comment, time}], expired (acknowledgements that expired), endNote, endBy}. start is
// null when the episode began before the oldest transition given.
export function foldEpisodes(history) {
  const rows = history.slice().sort((a, b) => a.time - b.time || a.id - b.id);
  const open = new Map();
  const episodes = [];
  const quiet = {};
  const begin = (t, start) => {
    const e = { alarm: t.alarm, severity: t.severity, start, end: null, state: 'firing', run: t.run, spill: t.spill,
                acks: [], expired: 0, endNote: null, endBy: null };
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
