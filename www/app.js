// app.js — the shift overview: polls the REST API every 2 s and updates the tiles and the charts in
// place (Chart.js is the UMD global loaded before this module). Data is inserted with textContent
// only, never as HTML; the page turns grey with the data's age when updates stop (lib.js).
import { $, api as getJSON, every, fmt, setText, staleness } from '/lib.js';
import { on } from '/stream.js';

const POLL_MS = 2000;
const live = staleness();
const TREND_SPILLS = 50; // the overview's trends show the run's last N spills
// canvas id -> the quantities it draws (docs/api.md, Trends); several make one line each.
const TRENDS = {
  'trend-mot': ['mot'], 'trend-rate': ['trigger_rate'], 'trend-tpm': ['per_mot.trig_physics'],
  'trend-dead': ['dead_time'], 'trend-pin': ['check.p_in_mean'], 'trend-ecal': ['check.ecal_mip'],
  'trend-hcal': ['check.hcal0_mip', 'check.hcal1_mip', 'check.hcal2_mip', 'check.hcal3_mip'],
};
const LINE_COLOURS = ['#5b8def', '#c678dd', '#56b6c2', '#f2c14e'];
const FLAG_COLOURS = { GOOD: '#2fb45a', WARN: '#e0a100', BAD: '#e0433a', UNKNOWN: '#7d8694', EXCLUDED: '#7d8694' };
const charts = {};

const GRID = { color: '#2a3240' };
const TICKS = { color: '#8a94a3' };

function lineChart(canvas, n) {
  const many = n > 1;
  return new Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: Array.from({ length: n }, (_, i) => ({
      data: [], label: '', borderColor: LINE_COLOURS[i % LINE_COLOURS.length], borderWidth: 1.5,
      pointRadius: many ? 0 : 3, pointBackgroundColor: [], pointBorderColor: [], tension: 0 })) },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: many, labels: { color: '#8a94a3', boxWidth: 10 } } },
      scales: { x: { title: { display: true, text: 'spill', color: '#8a94a3' }, grid: GRID, ticks: TICKS },
                y: { grid: GRID, ticks: TICKS, beginAtZero: !many } },
    },
  });
}

// One line per quantity, points coloured by the spill's flag when there is one line.
function updateTrend(chart, trends) {
  const pts = trends[0].points.slice(-TREND_SPILLS);
  chart.data.labels = pts.map(p => p.spill);
  trends.forEach((t, i) => {
    const ds = chart.data.datasets[i];
    const last = t.points.slice(-TREND_SPILLS);
    ds.data = last.map(p => p.value);
    ds.label = t.quantity.replace(/^check\./, '').replace(/_mip$/, '');
    if (trends.length === 1) {
      ds.pointBackgroundColor = last.map(p => FLAG_COLOURS[p.flag] || FLAG_COLOURS.UNKNOWN);
      ds.pointBorderColor = ds.pointBackgroundColor;
    }
  });
  chart.update('none');
}

function updateRun(run) {
  setText('run', String(run.run));
  setText('run-state', run.open ? 'running' : 'ended');
  if (run.live) {
    setText('spill', String(run.live.spill));
    const ago = Math.max(0, Date.now() / 1000 - run.live.last_data);
    setText('spill-state', `open · ${run.live.events} events · last data ${ago.toFixed(0)} s ago`);
  } else if (run.last_spill) {
    setText('spill', String(run.last_spill.spill));
    setText('spill-state', 'between spills');
  } else {
    setText('spill', '—');
    setText('spill-state', '');
  }
  setText('run-mot', fmt(run.mot));
  setText('run-good-mot', fmt(run.good_mot));
  // The run's MOT goal, when the DAQ (or spillwatch-collect sim --mot-goal) put one in run_start meta.
  const goal = run.meta && Number.isFinite(run.meta.mot_goal) && run.meta.mot_goal > 0 ? run.meta.mot_goal : null;
  setText('run-goal', goal ? `of goal ${fmt(goal)} (${(100 * run.good_mot / goal).toFixed(1)} %)` : '');
  $('goal-bar').hidden = !goal;
  if (goal) $('goal-fill').style.width = Math.min(100, 100 * run.good_mot / goal).toFixed(1) + '%';
  setText('run-spills', String(run.spills));
  const flags = $('run-flags');
  flags.replaceChildren(...['GOOD', 'WARN', 'BAD', 'UNKNOWN'].map(f => {
    const s = document.createElement('span');
    s.className = 'flag ' + f;
    s.textContent = `${f} ${run.flags[f] || 0}`;
    return s;
  }));
  showLastSpill(run.last_spill, 'poll');
}

// The last-spill tile. The stream's `spill` event fills it the moment a spill is judged; a poll
// answered from before that commit must not put the previous spill back.
let shown = null;
function showLastSpill(last, source) {
  if (last && shown && last.run === shown.run && last.spill < shown.spill) return;
  if (last) shown = { run: last.run, spill: last.spill };
  const tile = $('last-flag-tile');
  const flag = last ? last.flag : '—';
  tile.className = 'tile flag-tile ' + (last ? last.flag : '');
  tile.dataset.source = source;
  $('last-flag').className = 'big flag ' + (last ? last.flag : '');
  setText('last-flag', flag);
  setText('last-spill', last ? String(last.spill) : '—');
  showReasons($('last-reasons'), last ? last.reasons : []);
}

// The reasons of a spill, cause first as the server orders them: the first REASONS_SHOWN, then a
// "+N more" that lists the rest in place. Never cut: every reason is one click away.
const REASONS_SHOWN = 3;
function showReasons(ul, reasons) {
  const item = text => {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  };
  const items = reasons.slice(0, REASONS_SHOWN).map(item);
  if (reasons.length > REASONS_SHOWN) {
    const more = document.createElement('li');
    more.className = 'more';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.id = 'last-reasons-more';
    button.textContent = `+${reasons.length - REASONS_SHOWN} more`;
    button.addEventListener('click', () => ul.replaceChildren(...reasons.map(item)));
    more.append(button);
    items.push(more);
  }
  ul.replaceChildren(...items);
}

async function refresh() {
  try {
    const runs = await getJSON('/api/v1/runs?limit=1&order=recent'); // the run that started last
    const run = runs.runs[0];
    if (run) {
      updateRun(run);
      await Promise.all(Object.entries(TRENDS).map(async ([id, qs]) => {
        const trends = await Promise.all(qs.map(q => getJSON(`/api/v1/trends/${q}?run=${run.run}`)));
        updateTrend(charts[id], trends);
      }));
    }
    live.fresh();
  } catch (e) {
    live.failed(e);
  }
}

for (const [id, qs] of Object.entries(TRENDS)) charts[id] = lineChart($(id), qs.length);
every(POLL_MS, refresh);
// Live push: a closed spill shows at once (its commit ends a few ms later: then the full refresh);
// during a spill the spill tile counts its events every second.
on('spill', (d) => {
  showLastSpill(d, 'stream');
  setTimeout(refresh, 250);
});
on('live', (d) => {
  setText('spill', String(d.spill));
  setText('spill-state', `open · ${d.events} events` + (d.trigger_hz === null ? '' : ` · ${fmt(d.trigger_hz, 3)} Hz`));
});
on('reset', refresh);
