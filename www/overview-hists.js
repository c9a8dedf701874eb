// overview-hists.js — the overview's live histograms: the current spill of the run that started
// last, one small chart each (charts.js: linear axis in the histogram's unit, round ticks, "entries /
// bin"), refreshed every 2 s and at once when a spill closes. Each title opens the histogram in the
// explorer (live scope).
import { $, api, el, every, fmtUnit, setText } from '/lib.js';
import { drawHistogram } from '/charts.js';
import { on } from '/stream.js';

const HISTS = ['p_in', 'p_out', 'ecal', 'hcal0', 'hcal1', 'hcal2', 'hcal3'];

function buildHistPanels() {
  $('hists').replaceChildren(...HISTS.map(name => el('figure', {},
    el('figcaption', {}, el('a', { href: '/explorer.html?h=' + encodeURIComponent(name), id: 'h-' + name + '-title',
      class: 'hist-title' }, name)),
    el('div', { class: 'chart' }, el('canvas', { id: 'h-' + name })),
    el('div', { class: 'stats', id: 'h-' + name + '-stats' }))));
}

function updateHist(name, h) {
  drawHistogram($('h-' + name), h, { compact: true });
  const where = h.run === null ? 'no data yet' : `run ${h.run} spill ${h.spill}${h.open ? ' (open)' : ''}`;
  setText('h-' + name + '-title', `${h.title} — ${where}`);
  setText('h-' + name + '-stats',
    `entries ${h.entries}  mean ${fmtUnit(h.mean, h.unit, 4)}  rms ${fmtUnit(h.rms, h.unit)}  peak ${fmtUnit(h.peak, h.unit, 4)}` +
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
