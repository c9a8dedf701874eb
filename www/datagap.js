// datagap.js — how long the running run has gone without data, and whether that is longer than its
// normal gap between spills. The threshold comes from the run's own data, not from a constant:
//   cycle     = the median time from one spill's start to the next over the run's last 20 spills
//               (the SPS supercycle as this run sees it);
//   threshold = 1.5 × cycle, but never less than the run's median spill length (a pause shorter
//               than a spill cannot mean a lost spill); with fewer than two spills there is no cycle yet, and
//               the threshold is FALLBACK_S (the longest SPS supercycles are under a minute, which
//               is also the profile's daq_stalled limit).
// The clocks compared are the server's (the data's times) and the browser's (now): a control-room
// PC keeps NTP time; a skewed browser clock shifts the gap by its skew.

import { fmt } from '/lib.js';

export const FALLBACK_S = 60;
const CYCLE_SPILLS = 20;

function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// starts: the run's spill start times in spill order (Unix s). null with fewer than two spills.
export function cycleOf(starts) {
  const t = starts.filter(Number.isFinite).slice(-CYCLE_SPILLS - 1);
  const d = [];
  for (let i = 1; i < t.length; i++) if (t[i] >= t[i - 1]) d.push(t[i] - t[i - 1]);
  return median(d);
}

// The time of the run's last data: the open spill's last record, else the last spill's end (its
// last record when it timed out), else the run's start.
export function lastDataOf(run) {
  if (run.live && Number.isFinite(run.live.last_data)) return run.live.last_data;
  if (run.last_spill && Number.isFinite(run.last_spill.ended)) return run.last_spill.ended;
  if (run.last_spill && Number.isFinite(run.last_spill.started)) return run.last_spill.started;
  return run.started;
}

// starts, lengths: the run's spill start times and spill lengths (s), in spill order.
// -> {run, running, lastData, since (s), cycle (s | null), threshold (s), stale}
export function dataGap(run, starts, lengths = [], now = Date.now() / 1000) {
  const lastData = lastDataOf(run);
  const since = Math.max(0, now - lastData);
  const cycle = cycleOf(starts);
  const length = median(lengths.filter(Number.isFinite).slice(-CYCLE_SPILLS)) || 0;
  const threshold = cycle === null ? FALLBACK_S : Math.max(1.5 * cycle, length);
  const running = !!run.open;
  return { run: run.run, running, lastData, since, cycle, threshold, stale: running && since > threshold };
}

// "86 s", "12 min", "3.5 h": a duration as a shifter reads it.
export function fmtDuration(s) {
  if (!Number.isFinite(s)) return '—';
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

// "no data for 86 s while run 12 is running (its spills start every 17 s)"
export function gapSentence(gap) {
  const normal = gap.cycle === null ? `too few spills to know its cycle: stale after ${fmtDuration(gap.threshold)}`
    : `its spills start every ${fmt(gap.cycle, 2)} s`;
  return `no data for ${fmtDuration(gap.since)} while run ${gap.run} is running (${normal})`;
}
