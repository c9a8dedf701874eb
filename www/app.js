// app.js — the shift overview: polls the REST API every 2 s (and follows the live stream) and fills
// the tiles, the status rows per subsystem (status.js), the data-gap part of the alert banner
// (banner.js, datagap.js) and the trends (trends.js). The alarm box and the silences are
// overview-alarms.js, the live histograms overview-hists.js. Data goes in as text only.
import { $, api, el, every, fmt, fmtTime, header, setText, staleness } from '/lib.js';
import { on } from '/stream.js';
import { dataGap, fmtDuration } from '/datagap.js';
import { renderStatus, statusRows } from '/status.js';
import { setGap } from '/banner.js';
import { initTrends, refreshTrends } from '/trends.js';

header('/', 'shift overview');
const POLL_MS = 2000;
const TRENDS_EVERY_MS = 30000; // trends reload on every new or re-flagged spill, and at least this often
const live = staleness();
let profile = null; // GET /api/v1/checks: subsystems and checks
let detail = { key: null, spill: null }; // the last closed spill with its checks
let starts = []; // the run's spill start times (from the trends): its spill cycle
let lengths = []; // the run's spill lengths (s)
let trends = { key: null, at: 0 };
let current = null; // the run shown
let gapShown = null; // its data gap at the last poll

async function loadProfile() {
  const [p, h] = await Promise.all([api('/api/v1/checks'), api('/api/v1/histograms')]);
  profile = p;
  initTrends(p.checks, (h.histograms || []).map(x => x.name));
}

function updateRunTile(run) {
  setText('run', String(run.run));
  setText('run-state', run.open ? 'running' : 'ended');
  setText('run-when', run.open ? `since ${fmtTime(run.started, { seconds: false })}`
    : `ended ${fmtTime(run.ended, { seconds: false })}`);
}

// The spill tile: the open spill, or between spills, or how long no data came once that is longer
// than the run's normal gap (datagap.js).
function updateSpillTile(run, gap) {
  const state = $('spill-state');
  state.classList.toggle('nodata', gap.stale);
  if (gap.stale) {
    setText('spill', run.live ? String(run.live.spill) : run.last_spill ? String(run.last_spill.spill) : '—');
    setText(state, `no data for ${fmtDuration(gap.since)}`);
    setText('spill-data', `last data ${fmtTime(gap.lastData, { seconds: false })}`);
  } else if (run.live) {
    setText('spill', String(run.live.spill));
    setText(state, `open · ${run.live.events} events`);
    setText('spill-data', `last data ${fmtDuration(gap.since)} ago`);
  } else {
    setText('spill', run.last_spill ? String(run.last_spill.spill) : '—');
    setText(state, run.open ? 'between spills' : 'run ended');
    setText('spill-data', run.last_spill ? `last data ${fmtTime(gap.lastData, { seconds: false })}` : '');
  }
}

function updateTotals(run) {
  setText('run-mot', fmt(run.mot));
  setText('run-good-mot', `good ${fmt(run.good_mot)}`);
  // The run's MOT goal, when the DAQ (or spillwatch-collect sim --mot-goal) put one in run_start meta.
  const goal = run.meta && Number.isFinite(run.meta.mot_goal) && run.meta.mot_goal > 0 ? run.meta.mot_goal : null;
  setText('run-goal', goal ? `goal ${fmt(goal)} · ${(100 * run.good_mot / goal).toFixed(1)} %` : 'no goal set');
  $('goal-bar').hidden = !goal;
  if (goal) $('goal-fill').style.width = Math.min(100, 100 * run.good_mot / goal).toFixed(1) + '%';
  setText('run-spills', String(run.spills));
  const key = JSON.stringify(run.flags);
  const flags = $('run-flags');
  if (flags.dataset.key !== key) {
    flags.dataset.key = key;
    flags.replaceChildren(...['GOOD', 'WARN', 'BAD', 'UNKNOWN'].map(f =>
      el('span', { class: 'flag ' + f, dataset: { flag: f } }, `${run.flags[f] || 0} ${f}`)));
  }
}

// The last-spill tile: its flag in colour and words, and one line on why (the status rows below
// say what). The stream's `spill` event fills it the moment a spill is judged; a poll answered
// from before that commit must not put the previous spill back.
let shown = null;
function showLastSpill(last, source, spill = null) {
  if (last && shown && last.run === shown.run && last.spill < shown.spill) return;
  if (last) shown = { run: last.run, spill: last.spill };
  const tile = $('last-flag-tile');
  tile.className = 'tile flag-tile ' + (last ? last.flag : '');
  tile.dataset.source = source;
  $('last-flag').className = 'big flag ' + (last ? last.flag : '');
  setText('last-flag', last ? last.flag : '—');
  setText('last-spill', last ? String(last.spill) : '—');
  let why = '';
  if (last && last.manual) why = `manual ${last.manual.flag}${last.auto_flag ? ` (checks: ${last.auto_flag})` : ''}`;
  else if (last && last.complete === false) why = 'incomplete spill';
  else if (spill && spill.checks && spill.spill === last.spill) {
    const n = s => spill.checks.filter(c => c.state === s).length;
    const parts = ['BAD', 'WARN', 'UNKNOWN'].filter(s => n(s)).map(s => `${n(s)} ${s}`);
    why = parts.length ? `checks: ${parts.join(' · ')}` : `all ${spill.checks.filter(c => c.state === 'GOOD').length} checks good`;
  } else if (last) why = last.reasons && last.reasons.length ? `${last.reasons.length} reasons` : 'no reason given';
  setText('last-why', why);
}

async function spillDetail(run) {
  const last = run.last_spill;
  if (!last) return null;
  const key = `${last.run}/${last.spill}/${last.flag}/${last.closed_at}`;
  if (detail.key !== key) detail = { key, spill: await api(`/api/v1/runs/${last.run}/spills/${last.spill}`) };
  return detail.spill;
}

async function maybeTrends(run) {
  const last = run.last_spill;
  const key = `${run.run}/${run.spills}/${JSON.stringify(run.flags)}/${last ? last.spill + last.flag : ''}`;
  if (key === trends.key && Date.now() - trends.at < TRENDS_EVERY_MS) return;
  const [times, durations] = await Promise.all([refreshTrends(run.run), api(`/api/v1/trends/duration?run=${run.run}`)]);
  starts = times;
  lengths = durations.points.map(p => p.value);
  trends = { key, at: Date.now() };
}

function showStatus(spill, gap) {
  const rows = statusRows(profile ? profile.subsystems : [], spill, gap, profile ? profile.checks.map(c => c.name) : []);
  // a check's reason opens its spill in the explorer on the check's histogram
  const hist = new Map((profile ? profile.checks : []).map(c => [c.name, c.hist]));
  renderStatus($('status'), rows, null, (item) => {
    if (!spill || !hist.get(item.check)) return null;
    return '/explorer.html?' + new URLSearchParams({ h: hist.get(item.check), scope: 'spill', run: String(spill.run),
                                                     spills: String(spill.spill), ref: 'last-good', check: item.check });
  });
  setText('status-spill', spill ? `judged at the end of spill ${spill.spill} of run ${spill.run}` : 'no spill judged yet');
}

async function refresh() {
  try {
    if (!profile) await loadProfile();
    const runs = await api('/api/v1/runs?limit=1&order=recent'); // the run that started last
    const run = runs.runs[0] || null;
    current = run;
    if (run) {
      await maybeTrends(run);
      const gap = dataGap(run, starts, lengths);
      gapShown = gap;
      updateRunTile(run);
      updateSpillTile(run, gap);
      updateTotals(run);
      const spill = await spillDetail(run);
      showLastSpill(run.last_spill, 'poll', spill);
      showStatus(spill, gap);
      setGap(gap);
    } else {
      showStatus(null, null);
      setGap(null);
    }
    live.fresh();
  } catch (e) {
    live.failed(e);
  }
}

every(POLL_MS, refresh);
// Live push: a closed spill shows at once (its commit ends a few ms later: then the full refresh);
// during a spill the spill tile counts its events every second.
on('spill', (d) => {
  showLastSpill(d, 'stream');
  setTimeout(refresh, 250);
});
on('live', (d) => {
  if (current && d.run !== current.run) return;
  // An open spill whose data stopped: the poll's "no data for N s" stands.
  if (gapShown && gapShown.running && Number.isFinite(d.since_data) && d.since_data > gapShown.threshold) return;
  setText('spill', String(d.spill));
  $('spill-state').classList.remove('nodata');
  setText('spill-state', `open · ${d.events} events`);
  setText('spill-data', d.trigger_hz === null ? 'last data just now' : `trigger rate ${fmt(d.trigger_hz, 3)} Hz`);
});
on('alarm', () => { trends.at = 0; }); // the markers of the next refresh show the transition
on('reset', () => { detail.key = null; trends.key = null; refresh(); });
