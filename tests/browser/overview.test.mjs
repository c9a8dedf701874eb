// Browser test of the shift overview: the real server and the real simulator, the page in
// headless Debian Chromium (playwright-core). The page must update by itself, show the run, the
// last spill's flag with reasons, trends and histograms, and log no error.
//
// Env: SW_SERVER, SW_COLLECT, SW_CONFIG, SW_WWW (set by CTest), CHROMIUM (default /usr/bin/chromium),
// SW_ARTIFACTS (where the screenshot goes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, sim, watch } from './common.mjs';

test('shift overview updates by itself while the simulator runs', async (t) => {
  const { dir, server, browser } = await setup(t);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems = watch(page);

  await page.goto(server.url + '/');
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  assert.equal(await page.textContent('#run'), '—', 'empty database: no run yet');
  assert.equal(await page.evaluate(() => typeof Chart), 'function', 'Chart.js served from npm');

  await sim(server.url, '--run', '7', '--spills', '3', '--scale', '0.1', '--fault', 'hcal_dead@3', '--mot-goal', '2e7');
  // No reload: the page must pick the run up by polling.
  await page.waitForFunction(() => document.getElementById('run').textContent === '7', null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '3', null, { timeout: 15000 });
  // The stream fills the last-spill tile the moment spill 3 is judged; the run's totals come from the
  // next poll after its commit, a moment later.
  await page.waitForFunction(() => document.getElementById('run-spills').textContent === '3', null, { timeout: 15000 });
  const flag = await page.textContent('#last-flag');
  assert.ok(['GOOD', 'WARN', 'BAD', 'UNKNOWN'].includes(flag), flag);
  assert.equal(flag, 'BAD');
  // The status rows say why, by subsystem and in words: HCAL first.
  await page.waitForFunction(() => document.querySelector('#status .status-row')?.dataset.subsystem === 'hcal');
  assert.match(await page.textContent('#status-hcal .status-text'), /^HCAL module 2 MIP peak/);
  assert.match(await page.textContent('#last-why'), /^checks: \d+ BAD/);
  assert.match(await page.textContent('#run-mot'), /^[0-9.]+ [kM]$/);
  assert.equal(await page.textContent('#run-spills'), '3');
  // Good MOT against the run's goal from run_start meta (scale 0.1: no spill is GOOD, so 0 %).
  assert.match(await page.textContent('#run-goal'), /^goal 20\.0 M · 0\.0 %$/);
  assert.equal(await page.isVisible('#goal-bar'), true);

  const chartData = () => page.evaluate(() => {
    // trend points are {x: spill, y: value}, histogram bins plain counts
    const get = id => Chart.getChart(document.getElementById(id)).data.datasets[0].data.map(d => (d !== null && typeof d === 'object' ? d.y : d));
    const sum = a => a.reduce((x, y) => x + y, 0);
    return { rate: get('trend-rate').length, mot: get('trend-mot').length, motValues: get('trend-mot'),
      p_in: sum(get('h-p_in')), hcal2: sum(get('h-hcal2')), ecal: sum(get('h-ecal')) };
  });
  // Trends and histograms come from the same refresh, trends first: wait for both.
  await page.waitForFunction(() => Chart.getChart(document.getElementById('trend-mot'))?.data.datasets[0]?.data.length === 3 &&
    Chart.getChart(document.getElementById('h-p_in')).data.datasets[0].data.some(v => v > 0));
  let d = await chartData();
  assert.equal(d.rate, 3);
  assert.ok(d.motValues.every(v => v > 0));
  assert.ok(d.p_in > 0 && d.ecal > 0, JSON.stringify(d));
  // hcal2 is dead in spill 3: its live histogram holds only pedestal entries near 0
  const hcal2 = await page.evaluate(() => Chart.getChart(document.getElementById('h-hcal2')).data.datasets[0].data);
  assert.ok(hcal2[0] > 0 && hcal2.slice(10).every(v => v === 0), 'dead module at pedestal');
  // The HCAL MIP-peak trend: one line per module; module 2's peak collapses in spill 3.
  const hcalTrend = await page.evaluate(() => Chart.getChart(document.getElementById('trend-hcal')).data.datasets.slice(0, 4)
    .map(ds => ({ label: ds.label, data: ds.data.map(d => d.y) })));
  assert.deepEqual(hcalTrend.map(t => t.label), ['hcal0', 'hcal1', 'hcal2', 'hcal3']);
  assert.ok(hcalTrend[2].data[2] < 0.5 && hcalTrend[0].data[2] > 2, JSON.stringify(hcalTrend));
  for (const id of ['trend-tpm', 'trend-dead', 'trend-pin', 'trend-ecal'])
    assert.equal(await page.evaluate(i => Chart.getChart(document.getElementById(i)).data.datasets[0].data.length, id), 3, id);

  // Two more spills, still without reload. The live stream delivers each closed spill (the tile is
  // filled by the stream's handler, before the poll can see the committed spill).
  await page.waitForFunction(() => document.body.dataset.stream === 'open', null, { timeout: 15000 });
  await page.evaluate(() => {
    window.tileSources = [];
    new MutationObserver(() => window.tileSources.push(document.getElementById('last-flag-tile').dataset.source))
      .observe(document.getElementById('last-flag-tile'), { attributes: true, attributeFilter: ['data-source'] });
  });
  const spillEventsBefore = await page.evaluate(() => Number(document.body.dataset.spillEvents || 0));
  await sim(server.url, '--run', '7', '--first-spill', '4', '--spills', '2', '--scale', '0.1', '--seed', '9');
  await page.waitForFunction(n => Number(document.body.dataset.spillEvents || 0) === n + 2, spillEventsBefore,
    { timeout: 15000 });
  assert.ok((await page.evaluate(() => window.tileSources)).includes('stream'));
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '5', null, { timeout: 15000 });
  await page.waitForFunction(() => Chart.getChart(document.getElementById('trend-rate')).data.datasets[0].data.length === 5);
  await page.waitForFunction(() => document.getElementById('run-spills').textContent === '5', null, { timeout: 15000 });
  // Text from the data is inserted as text: no element was created from it.
  assert.equal(await page.$$eval('#status .status-text *', els => els.length), 0);

  // During a spill the spill tile counts its events from the stream's `live` events (1 Hz).
  const realtime = sim(server.url, '--run', '7', '--first-spill', '6', '--spills', '1', '--scale', '0.1', '--realtime',
    '--cycle', '3', '--spill-length', '2.5', '--batch', '50', '--seed', '11');
  await page.waitForFunction(() => Number(document.body.dataset.liveEvents || 0) >= 1 &&
    /^open · \d+ events/.test(document.getElementById('spill-state').textContent), null, { timeout: 15000 });
  assert.equal(await page.textContent('#spill'), '6');
  await realtime;
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '6', null, { timeout: 15000 });

  // A stalled server (SIGSTOP: connections hang, nothing fails) turns the page grey with the age of
  // its data; when the server goes on, the page is fresh again by itself.
  assert.equal(await page.evaluate(() => document.body.classList.contains('stale')), false);
  server.proc.kill('SIGSTOP');
  try {
    await page.waitForFunction(() => document.body.classList.contains('stale'), null, { timeout: 15000 });
    assert.match(await page.textContent('#banner'), /^no update for \d+ s/);
    assert.equal(await page.isVisible('#banner'), true);
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('main')).filter), 'grayscale(1)');
  } finally {
    server.proc.kill('SIGCONT');
  }
  await page.waitForFunction(() => !document.body.classList.contains('stale'), null, { timeout: 15000 });
  assert.equal(await page.isVisible('#banner'), false);

  // A laptop screen: the page reflows, nothing needs scrolling sideways.
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.waitForTimeout(300);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    'no horizontal scroll at 1366 px');
  await page.setViewportSize({ width: 1920, height: 1080 });

  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'overview.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('an incomplete spill shows its cause first, and every reason is one click away', async (t) => {
  const { server, browser } = await setup(t, { spill_timeout: 2 });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = watch(page);
  await page.goto(server.url + '/');
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  // A DAQ that stalls mid-spill: data, then nothing (no spill_end); the spill times out.
  const events = Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({ type: 'event', run: 8, spill: 1, event: i, trigger: 'physics', p_in: 160 }));
  const body = [JSON.stringify({ type: 'spill_start', run: 8, spill: 1 }), ...events].join('\n') + '\n';
  const resp = await fetch(server.url + '/api/v1/ingest', { method: 'POST', body,
    headers: { 'Content-Type': 'application/x-ndjson' } });
  assert.equal(resp.status, 200);
  await page.waitForFunction(() => document.getElementById('last-flag').textContent === 'UNKNOWN', null,
    { timeout: 20000 });
  assert.equal(await page.textContent('#last-why'), 'incomplete spill');
  // The DAQ row comes first with the cause; then the checks of the DAQ that lacked input.
  await page.waitForFunction(() => document.querySelector('#status .status-row')?.dataset.subsystem === 'daq');
  assert.equal(await page.textContent('#status-daq .status-text'), 'spill 1 incomplete: no spill_end before the spill timeout');
  const more = await page.textContent('#status-daq-more');
  const hidden = Number(more.match(/^\+(\d+) more$/)[1]);
  assert.ok(hidden >= 1, more);
  await page.click('#status-daq-more');
  const all = await page.$$eval('#status-daq li .item-text', lis => lis.map(li => li.textContent));
  assert.equal(all.length, 1 + hidden);
  assert.equal(all[0], 'spill 1 incomplete: no spill_end before the spill timeout');
  assert.ok(all.slice(1).every(r => /^[A-Z][^:]+: .*(no spill_end|counts|entries)/.test(r)), all.join(' | '));
  assert.equal(await page.textContent('#status-daq-more'), 'less');
  // Every other row says its checks lacked input too; none is cut: each "+N more" lists them all.
  for (const sub of ['beam', 'veto']) {
    const n = await page.$(`#status-${sub}-more`) ? Number((await page.textContent(`#status-${sub}-more`)).match(/\d+/)[0]) : 0;
    if (n) await page.click(`#status-${sub}-more`);
    assert.equal(await page.$$eval(`#status-${sub} li .item-text, #status-${sub} .status-text`, e => e.length), n ? n + 1 : 1);
  }
  assert.deepEqual(problems, []);
});
