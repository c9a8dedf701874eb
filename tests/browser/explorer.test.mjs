// Browser tests of the histogram explorer: the drill-down URL (a spill, its check highlighted, the
// reference overlaid), the check values in words, the charts (linear x axis with round ticks, bars
// one bin wide, "entries / bin", the reference kept on a log scale, category ticks of the trigger
// mix, the 2D heat map's colour bar, tick values and square cells), a missing spill or run said in
// place of the chart, a range's check table (worst verdict and its spills, as links), and the
// ROOT export links of the scope shown.
// Real server and simulator, headless Debian Chromium; values read from the Chart.js instances and
// the DOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, sim, watch } from './common.mjs';

const chart = (page, what) => page.evaluate(what);
const round = (ticks) => {
  // all multiples of one step of 1, 2, 2.5 or 5 x 10^k
  if (ticks.length < 3) return false;
  const step = ticks[1] - ticks[0];
  const m = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
  return [1, 2, 2.5, 5].some(x => Math.abs(m - x) < 1e-6) &&
    ticks.every(t => Math.abs(t / step - Math.round(t / step)) < 1e-6);
};
const shot = async (page, dir, name) => {
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
};

test('drill-down: a spill with its check highlighted, the reference overlaid, the charts a physicist reads', async (t) => {
  const { dir, server, browser } = await setup(t);
  await sim(server.url, '--run', '20', '--spills', '3');                          // good spills
  await sim(server.url, '--run', '21', '--spills', '4', '--fault', 'hcal_dead@3'); // module 2 dead in spill 3

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems = watch(page);
  // No h: the histogram of the check (GET /api/v1/checks "hist").
  await page.goto(server.url + '/explorer.html?scope=spill&run=21&spills=3&ref=last-good&check=hcal2_mip');
  await page.waitForFunction(() => document.body.dataset.hist === 'hcal2' && Number(document.body.dataset.ref) > 0 &&
    document.querySelector('#checks tbody tr.focus'), null, { timeout: 15000 });
  assert.equal(await page.textContent('#title'), 'HCAL module 2 energy');
  assert.match(await page.textContent('#where'), /one spill · run 21 · spill 3/);
  assert.match(page.url(), /h=hcal2/);
  // The highlighted row is the check of the URL, BAD, its value in words with units.
  const focus = await page.$$eval('#checks tbody tr.focus', trs => trs.map(tr => [...tr.cells].map(td => td.textContent)));
  assert.equal(focus.length, 1);
  assert.match(focus[0][0], /^HCAL module 2 MIP peak hcal2_mip$/);
  assert.equal(focus[0][1], 'BAD');
  assert.match(focus[0][2], /^[0-9.]+ GeV = [0-9.]+ % of nominal 2\.4 GeV \(good 80–120 %, warn 60–140 %\)$/, focus[0][2]);
  assert.match(focus[0][3], /^physical window around 2\.4 \(profile\)/);
  const peer = await page.$$eval('#checks tbody tr[data-check="hcal2_peer"] td', tds => tds.map(td => td.textContent));
  assert.equal(peer[1], 'BAD');
  assert.match(peer[3], /^median of 4 peers · [0-9.]+ σ$/);

  // The reference: an outline through the bin edges, scaled to the data's area; the dead module sits
  // at the pedestal, the reference at the MIP.
  const c1 = await chart(page, () => {
    const c = Chart.getChart(document.getElementById('chart'));
    const [d, r] = c.data.datasets;
    const x = c.scales.x, w = c.$sw.binWidth;
    const bar = c.getDatasetMeta(0).data[40];
    return { labels: c.data.datasets.map(s => s.label), xType: x.type, ticks: x.ticks.map(tk => tk.value),
      tickLabels: x.ticks.map(tk => x.getLabelForValue ? String(tk.label) : ''), yTitle: c.options.scales.y.title.text,
      sumData: d.data.reduce((a, b) => a + b, 0), sumRef: r.data.slice(0, -1).reduce((a, p) => a + p.y, 0),
      peakData: d.data.indexOf(Math.max(...d.data)), refPeakX: r.data.reduce((m, p) => (p.y > m.y ? p : m)).x,
      barWidth: bar.width, binPx: x.getPixelForValue(w) - x.getPixelForValue(0), stepped: r.stepped };
  });
  assert.deepEqual(c1.labels.map(l => l.replace(/ \(.*/, '')), ['data', 'reference: last 20 good spills of run 21']);
  assert.ok(Math.abs(c1.sumData - c1.sumRef) / c1.sumData < 0.05, JSON.stringify(c1));
  assert.ok(c1.refPeakX > 1.5 && c1.peakData < 5, JSON.stringify(c1));
  // A linear x axis in GeV with round ticks, bars one bin wide, "entries / bin (0.1 GeV)".
  assert.equal(c1.xType, 'linear');
  assert.ok(round(c1.ticks), 'round x ticks: ' + c1.ticks);
  assert.ok(c1.tickLabels.every(l => !/\d\.\d*5$/.test(l)), 'no bin-centre labels: ' + c1.tickLabels);
  assert.ok(Math.abs(c1.barWidth - c1.binPx) < 1, JSON.stringify(c1));
  assert.equal(c1.yTitle, 'entries / bin (0.1 GeV)');
  // The profile's ranges start on round numbers; one that does not (0.5–10.5, as a histogram of
  // integers centred on its bins) still gets round ticks, not 0.5, 1.5, ... (charts.js on a canvas of
  // its own, with a reply shaped as the server's).
  const offGrid = await page.evaluate(async () => {
    const { drawHistogram } = await import('/charts.js');
    const box = document.createElement('div');
    box.style.width = '600px';
    box.style.height = '300px';
    document.body.append(box);
    const canvas = document.createElement('canvas');
    box.append(canvas);
    const c = drawHistogram(canvas, { name: 'n', title: 'n', unit: 'hits', x: { bins: 10, min: 0.5, max: 10.5 },
      counts: [1, 4, 9, 16, 25, 16, 9, 4, 1, 0], entries: 85 }, {});
    const ticks = c.scales.x.ticks.map(tk => tk.value);
    c.destroy();
    box.remove();
    return ticks;
  });
  assert.ok(round(offGrid) && offGrid.every(v => Number.isInteger(v)), 'round ticks off the grid: ' + offGrid);

  // Log scale: the y axis starts at the floor and the reference stays drawn along it (no point of the
  // outline below the plot area, none at -infinity).
  await page.check('#log');
  await page.waitForFunction(() => Chart.getChart(document.getElementById('chart'))?.options.scales.y.type === 'logarithmic');
  assert.match(page.url(), /log=1/);
  const c2 = await chart(page, () => {
    const c = Chart.getChart(document.getElementById('chart'));
    const a = c.chartArea;
    const pts = c.getDatasetMeta(1).data.map(p => p.y);
    return { min: c.scales.y.min, floor: c.$sw.floor, values: c.data.datasets[1].data.map(p => p.y),
      inside: pts.every(y => Number.isFinite(y) && y >= a.top - 0.5 && y <= a.bottom + 0.5), hidden: c.getDatasetMeta(1).hidden,
      zeroBars: c.data.datasets[0].data.filter(v => v === 0).length, labels: c.scales.y.ticks.map(tk => tk.label).filter(Boolean) };
  });
  assert.ok(c2.floor > 0 && c2.min === c2.floor, JSON.stringify(c2));
  assert.ok(c2.values.every(v => v >= c2.floor), 'the reference is floored: ' + c2.values);
  assert.ok(c2.values.some(v => v === c2.floor), 'empty reference bins run along the floor');
  assert.ok(c2.inside && !c2.hidden, JSON.stringify(c2));
  assert.equal(c2.zeroBars, 0);
  assert.ok(c2.labels.every(l => !/e[+-]?\d/.test(l)), 'no exponent notation: ' + c2.labels);
  await shot(page, dir, 'explorer.png');

  // Every check of the profile: the momentum offset from its baseline in GeV/c, no exponent anywhere.
  await page.check('#allchecks');
  await page.waitForSelector('#checks tbody tr[data-check="p_in_mean"]');
  const pin = await page.textContent('#checks tbody tr[data-check="p_in_mean"] td:nth-child(3)');
  assert.match(pin, /^[+−]?[0-9]+\.[0-9]{2} GeV\/c from baseline 1[0-9]{2}(\.[0-9]+)? GeV\/c \(good within ±1\.6 GeV\/c, warn within ±4\.8 GeV\/c\)$/, pin);
  const table = await page.textContent('#checks tbody');
  assert.ok(!/[0-9]e[+-]?[0-9]/.test(table), 'no exponent notation in the check table');
  assert.equal(await page.$$eval('#checks tbody tr.focus', trs => trs.map(tr => tr.dataset.check).join()), 'hcal2_mip');

  // The trigger mix: a category axis with the names.
  await page.click('#hist-list a[data-h="trigger"]');
  await page.waitForFunction(() => document.body.dataset.hist === 'trigger' &&
    Chart.getChart(document.getElementById('chart'))?.$sw.kind === 'category');
  const trig = await chart(page, () => {
    const c = Chart.getChart(document.getElementById('chart'));
    return { ticks: c.scales.x.ticks.map(tk => c.scales.x.getLabelForValue(tk.value)), yTitle: c.options.scales.y.title.text };
  });
  assert.deepEqual(trig.ticks, ['physics', 'beam', 'random', 'led']);
  assert.equal(trig.yTitle, 'entries');

  // The beam spot: a heat map with a colour bar (drawn, with round tick values), axis ticks and
  // titles in cm, square cells (x and y in the same unit over the same range), on a log scale.
  await page.click('#hist-list a[data-h="xy_tgt"]');
  await page.waitForFunction(() => document.body.dataset.hist === 'xy_tgt' &&
    Chart.getChart(document.getElementById('chart'))?.$sw.colourBar?.box);
  await page.waitForFunction(() => {
    const c = Chart.getChart(document.getElementById('chart'));
    return Math.abs(c.chartArea.width - c.chartArea.height) < 3;
  }, null, { timeout: 5000 }).catch(() => {});
  const heat = await chart(page, () => {
    const c = Chart.getChart(document.getElementById('chart'));
    const cb = c.$sw.colourBar, a = c.chartArea;
    const g = c.canvas.getContext('2d'), k = c.currentDevicePixelRatio;
    const px = (x, y) => [...g.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data];
    return { type: c.config.data.datasets[0].type, cells: c.data.datasets[0].data.length, log: cb.log,
      cbTicks: cb.ticks.map(tk => tk.label), cbTop: px(cb.box.left + cb.box.width / 2, cb.box.top + 2),
      cbBottom: px(cb.box.left + cb.box.width / 2, cb.box.top + cb.box.height - 2),
      w: a.width, h: a.height, xTicks: c.scales.x.ticks.map(tk => tk.value), yTicks: c.scales.y.ticks.map(tk => tk.value),
      xLabels: c.scales.x.ticks.map(tk => tk.label), xTitle: c.options.scales.x.title.text, yTitle: c.options.scales.y.title.text,
      cbTitle: cb.title };
  });
  assert.equal(heat.type, 'matrix');
  assert.ok(heat.cells > 100, JSON.stringify(heat));
  assert.equal(heat.log, true);
  assert.ok(heat.cbTicks.length >= 2 && heat.cbTicks.includes('1') && heat.cbTicks.includes('10'), JSON.stringify(heat.cbTicks));
  // viridis: yellow at the top of the bar, purple at the bottom
  assert.ok(heat.cbTop[0] > 200 && heat.cbTop[1] > 200 && heat.cbBottom[2] > heat.cbBottom[1], JSON.stringify(heat));
  assert.ok(Math.abs(heat.w - heat.h) < 3, `square plot area: ${heat.w} x ${heat.h}`);
  assert.ok(round(heat.xTicks) && round(heat.yTicks), JSON.stringify(heat));
  assert.ok(heat.xLabels.every(l => l !== ''), JSON.stringify(heat.xLabels));
  assert.equal(heat.xTitle, 'cm');
  assert.equal(heat.yTitle, 'cm');
  assert.equal(heat.cbTitle, 'entries / bin (0.5 cm × 0.5 cm)');
  await shot(page, dir, 'explorer-2d.png');
  assert.deepEqual(problems, []);
});

test('the ROOT exports of the scope shown: this histogram and every histogram', async (t) => {
  const { server, browser } = await setup(t);
  await sim(server.url, '--run', '22', '--spills', '3');
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = watch(page);
  await page.goto(server.url + '/explorer.html?h=xy_tgt&scope=range&run=22&spills=1-2&good=1');
  await page.waitForFunction(() => document.body.dataset.hist === 'xy_tgt' && !document.getElementById('exports').hidden);
  const [one, all] = await page.$$eval('#exports a', as => as.map(a => a.getAttribute('href')));
  assert.equal(one, '/api/v1/histograms/xy_tgt?run=22&spills=1-2&quality=good&format=root');
  assert.equal(all, '/api/v1/histograms?run=22&spills=1-2&quality=good&format=root');
  const got = await page.evaluate(async (urls) => Promise.all(urls.map(async u => {
    const r = await fetch(u);
    const j = await r.json();
    return [r.status, r.headers.get('content-disposition'), j._typename, j.fName || j.name, (j.arr || []).length];
  })), [one, all]);
  assert.deepEqual(got[0], [200, 'attachment; filename="spillwatch-run22-spills1-2-good-xy_tgt.json"', 'TH2D', 'xy_tgt', 0]);
  assert.equal(got[1][2], 'TList');
  assert.equal(got[1][3], 'spillwatch-run22-spills1-2-good');
  assert.ok(got[1][4] > 10, 'every histogram in the bundle');
  assert.deepEqual(problems, []);
});

test('a spill or run that does not exist is said in place of the chart', async (t) => {
  const { server, browser } = await setup(t);
  await sim(server.url, '--run', '21', '--spills', '3');
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = watch(page, ['404']);
  await page.goto(server.url + '/explorer.html?h=hcal2&scope=spill&run=21&spills=99&ref=last-good');
  await page.waitForSelector('#chart-msg:not([hidden])');
  assert.equal(await page.textContent('#chart-msg'), 'Run 21 has no spill 99: its spills are 1–3.');
  assert.equal(await page.isVisible('#chart'), false);
  assert.equal(await page.evaluate(() => Chart.getChart(document.getElementById('chart')) === undefined), true);
  // From there to a spill that exists: the chart comes back.
  await page.fill('#spills', '2');
  await page.press('#spills', 'Enter');
  await page.waitForFunction(() => Chart.getChart(document.getElementById('chart')) && document.getElementById('chart-msg').hidden);
  assert.equal(await page.isVisible('#chart'), true);
  // (the refresh has finished, so leaving the page aborts no request)
  await page.waitForFunction(() => /spill 2 of run 21/.test(document.getElementById('checks-where').textContent));
  // A run that does not exist.
  await page.goto(server.url + '/explorer.html?h=hcal2&scope=spill&run=99&spills=1');
  await page.waitForSelector('#chart-msg:not([hidden])');
  assert.equal(await page.textContent('#chart-msg'), 'Run 99 does not exist.');
  assert.deepEqual(problems.filter(p => !/^HTTP 404: .*run=99/.test(p)), []);
});

test('a range check table: the worst verdict and its spills, as links to those spills', async (t) => {
  const { server, browser } = await setup(t);
  await sim(server.url, '--run', '30', '--spills', '5', '--fault', 'hcal_dead@3');
  await sim(server.url, '--run', '31', '--spills', '4', '--fault', 'hcal_dead@1-4'); // dead from the first spill
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems = watch(page);
  const row = (name) => page.$$eval(`#checks tbody tr[data-check="${name}"] td`, tds => tds.map(td => td.textContent));

  await page.goto(server.url + '/explorer.html?h=hcal2&scope=run&run=30&check=hcal2_mip');
  await page.waitForSelector('#checks tbody tr[data-check="hcal2_mip"]');
  assert.deepEqual(await page.$$eval('#checks thead th', ths => ths.map(th => th.textContent)),
    ['check', 'worst', 'spills per verdict', 'not GOOD in spills']);
  assert.match(await page.textContent('#checks-where'), /worst verdict in spills 1–5 of run 30/);
  let mip = await row('hcal2_mip');
  assert.equal(mip[1], 'BAD');
  assert.equal(mip[2], 'GOOD 4 · BAD 1');
  assert.equal(mip[3], 'BAD: 3');
  assert.equal(await page.getAttribute('#checks tbody tr[data-check="hcal2_mip"]', 'class'), 'focus');
  // The spill's link switches the explorer to that spill with its per-spill table.
  await page.click('#checks tbody tr[data-check="hcal2_mip"] a.spill-link[data-spill="3"]');
  await page.waitForFunction(() => document.querySelector('#checks thead th:nth-child(2)')?.textContent === 'result');
  assert.equal(await page.inputValue('#scope'), 'spill');
  assert.equal(await page.inputValue('#spills'), '3');
  assert.match(page.url(), /scope=spill&run=30&spills=3.*check=hcal2_mip/);
  mip = await row('hcal2_mip');
  assert.equal(mip[1], 'BAD');
  assert.match(await page.textContent('#checks-where'), /spill 3 of run 30, started \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}, BAD/);

  // A module dead from the first spill: every spill of the range, compressed and linked.
  await page.goto(server.url + '/explorer.html?h=hcal2&scope=range&run=31&spills=1-4&ref=last-good');
  await page.waitForSelector('#checks tbody tr[data-check="hcal2_peer"]');
  const peer = await row('hcal2_peer');
  assert.equal(peer[1], 'BAD');
  assert.equal(peer[2], 'BAD 4');
  assert.equal(peer[3], 'BAD: 1–4');
  assert.deepEqual(await page.$$eval('#checks tbody tr[data-check="hcal2_peer"] a.spill-link', as => as.map(a => a.textContent)), ['1', '4']);
  // No good spill in run 31 for the reference: the last good spills of any run.
  await page.waitForFunction(() => Number(document.body.dataset.ref) > 0);
  assert.match(await page.textContent('#stats'), /reference: last 20 good spills \(run 31 has none\)/);
  assert.deepEqual(problems, []);
});
