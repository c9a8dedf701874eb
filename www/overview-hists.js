// overview-hists.js — the overview's live histograms: the current spill of the run that started
// last, one small chart each, refreshed every 2 s and at once when a spill closes.
import { $, api, every, fmt, setText } from '/lib.js';
import { on } from '/stream.js';

const HISTS = ['p_in', 'p_out', 'ecal', 'hcal0', 'hcal1', 'hcal2', 'hcal3'];
const charts = {};
const GRID = { color: '#2a3240' };
const TICKS = { color: '#8a94a3' };

function barChart(canvas, unit) {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [{ data: [], backgroundColor: '#5b8def', barPercentage: 1.0, categoryPercentage: 1.0 }] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { title: { display: !!unit, text: unit, color: '#8a94a3' }, grid: { display: false },
                     ticks: Object.assign({ maxTicksLimit: 8 }, TICKS) },
                y: { grid: GRID, ticks: TICKS, beginAtZero: true } },
    },
  });
}

function buildHistPanels() {
  const box = $('hists');
  for (const name of HISTS) {
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.id = 'h-' + name + '-title';
    cap.textContent = name;
    const wrap = document.createElement('div');
    wrap.className = 'chart';
    const canvas = document.createElement('canvas');
    canvas.id = 'h-' + name;
    wrap.appendChild(canvas);
    const stats = document.createElement('div');
    stats.className = 'stats';
    stats.id = 'h-' + name + '-stats';
    fig.append(cap, wrap, stats);
    box.appendChild(fig);
    charts[name] = barChart(canvas, '');
  }
}

function updateHist(name, h) {
  const chart = charts[name];
  const w = (h.x.max - h.x.min) / h.x.bins;
  const labels = h.counts.map((_, i) => +(h.x.min + (i + 0.5) * w).toPrecision(4));
  chart.data.labels = labels;
  chart.data.datasets[0].data = h.counts;
  chart.options.scales.x.title.text = h.unit || '';
  chart.options.scales.x.title.display = !!h.unit;
  chart.update('none');
  const where = h.run === null ? 'no data yet' : `run ${h.run} spill ${h.spill}${h.open ? ' (open)' : ''}`;
  setText('h-' + name + '-title', `${h.title} — ${where}`);
  setText('h-' + name + '-stats',
    `entries ${h.entries}  mean ${fmt(h.mean, 4)}  rms ${fmt(h.rms, 3)}  peak ${fmt(h.peak, 4)}` +
    `  under ${h.underflow}  over ${h.overflow}  missing ${h.missing}`);
}

async function refresh() {
  try {
    const hists = await Promise.all(HISTS.map(n => api('/api/v1/histograms/' + n)));
    hists.forEach((h, i) => updateHist(HISTS[i], h));
  } catch (e) {
    /* the overview's own poll shows the connection state */
  }
}

buildHistPanels();
every(2000, refresh);
on('spill', () => setTimeout(refresh, 250));
on('reset', refresh);
