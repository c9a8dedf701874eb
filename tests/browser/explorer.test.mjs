// Browser test of the histogram explorer: a histogram of one spill with the reference (the good
// spills of a reference run) overlaid and its check result beside it, log scale, and a 2D histogram
// as a heat map. Real server and simulator, headless Debian Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, sim, watch } from './common.mjs';

test('the explorer draws a histogram with its reference and its check result', async (t) => {
  const { dir, server, browser } = await setup(t);
  await sim(server.url, '--run', '20', '--spills', '3');                          // the reference: good spills
  await sim(server.url, '--run', '21', '--spills', '3', '--fault', 'hcal_dead@2'); // module 2 dead in spill 2
  const good = await (await fetch(server.url + '/api/v1/histograms/hcal2?run=20&quality=good')).json();
  assert.ok(good.entries > 1000, 'run 20 has good spills: ' + good.entries);

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems = watch(page);
  await page.goto(server.url + '/explorer.html?h=hcal2&scope=spill&run=21&spills=2&ref=run-good&refrun=20');
  await page.waitForFunction(() => document.body.dataset.ref && Number(document.body.dataset.ref) > 0, null,
    { timeout: 15000 });
  const datasets = await page.evaluate(() => Chart.getChart(document.getElementById('chart')).data.datasets
    .map(d => ({ label: d.label, sum: d.data.reduce((a, b) => a + b, 0), peakBin: d.data.indexOf(Math.max(...d.data)) })));
  assert.deepEqual(datasets.map(d => d.label), ['data', 'reference (scaled)']);
  // The reference is scaled to the data's entries; the dead module sits at 0, the reference at the MIP.
  assert.ok(Math.abs(datasets[0].sum - datasets[1].sum) / datasets[0].sum < 0.05, JSON.stringify(datasets));
  assert.ok(datasets[1].peakBin > datasets[0].peakBin + 10, JSON.stringify(datasets));
  await page.waitForSelector('#checks tbody tr');
  assert.equal(await page.textContent('#checks tbody tr td:first-child'), 'hcal2_mip');
  assert.equal(await page.textContent('#checks tbody tr .badge'), 'BAD');
  // Each verdict says what judged it (its provenance): the dead module by its physical window, and
  // against the median of the four modules by its peer check.
  const rows = await page.$$eval('#checks tbody tr', trs => trs.map(tr => [...tr.cells].map(td => td.textContent)));
  const mip = rows.find(r => r[0] === 'hcal2_mip'), peer = rows.find(r => r[0] === 'hcal2_peer');
  assert.match(mip[6], /^physical window around 2\.400 \(profile\)/, JSON.stringify(mip));
  assert.match(mip[4], /^\[1\.920, 2\.880\]$/, JSON.stringify(mip));
  assert.match(peer[6], /^median of 4 peers/, JSON.stringify(peer));
  assert.match(peer[1], /BAD/, JSON.stringify(peer));
  assert.match(await page.textContent('#title'), /HCAL module 2 energy — spill · run 21/);
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'explorer.png'), fullPage: true });

  // Log scale.
  await page.check('#log');
  await page.waitForFunction(() => Chart.getChart(document.getElementById('chart'))?.options.scales.y.type === 'logarithmic');
  assert.match(page.url(), /log=1/);

  // A 2D histogram from the list, as a heat map.
  await page.click('#hist-list a[data-h="xy_tgt"]');
  await page.waitForFunction(() => document.body.dataset.hist === 'xy_tgt' && !document.getElementById('heat').hidden);
  const lit = await page.evaluate(() => {
    const c = document.getElementById('heat');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 120) n++;
    return n;
  });
  assert.ok(lit > 500, 'the heat map has coloured bins: ' + lit);
  assert.deepEqual(problems, []);
});
