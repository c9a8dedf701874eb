// Browser tests of the overview in fault cases, from the first spill on: the real server and the
// real simulator, headless Debian Chromium. What a shifter must see at 3 a.m. must be on the
// screen (in the viewport, not covered), in words, in the display zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { env, run, setup, sim, watch } from './common.mjs';

// "2026-12-02 12:01:22" of Unix seconds t at UTC+9 (Asia/Tokyo has no daylight saving time).
const tokyo = t => new Date(Math.floor(t) * 1000 + 9 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');

// The profile with the stall alarm after 5 s instead of 60 s (in a directory of test t).
function quickStallProfile(t) {
  const dir = mkdtempSync(join(tmpdir(), 'swprofile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = JSON.parse(readFileSync(env('SW_CONFIG'), 'utf8'));
  const prof = JSON.parse(readFileSync(join(dirname(env('SW_CONFIG')), base.profile), 'utf8'));
  for (const a of prof.alarms) if (a.name === 'daq_stalled') Object.assign(a, { above: 5 });
  const path = join(dir, 'profile-stall.json');
  writeFileSync(path, JSON.stringify(prof));
  return path;
}

// Posts simulated records as a DAQ would, in small requests.
async function post(url, recs) {
  for (let i = 0; i < recs.length; i += 200) {
    const body = recs.slice(i, i + 200).map(r => JSON.stringify(r)).join('\n') + '\n';
    const resp = await fetch(url + '/api/v1/ingest', { method: 'POST', body,
      headers: { 'Content-Type': 'application/x-ndjson' } });
    assert.equal(resp.status, 200, await resp.text());
  }
}

// The element is on the screen: inside the viewport and the topmost element at its centre.
async function onScreen(page, selector) {
  return page.evaluate((sel) => {
    const e = document.querySelector(sel);
    if (!e) return `${sel}: not in the DOM`;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return `${sel}: not rendered`;
    if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth)
      return `${sel}: outside the viewport (${JSON.stringify(r)} in ${innerWidth}x${innerHeight})`;
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return e.contains(top) ? true : `${sel}: covered by ${top && (top.id || top.className || top.tagName)}`;
  }, selector);
}

test('a DAQ that stalls: the cause, the banner and the silences on the screen at 1366x768, in the display zone', async (t) => {
  // the quick stall alarm, a short spill timeout and the display zone Asia/Tokyo
  const { server, browser } = await setup(t, { profile: quickStallProfile(t), spill_timeout: 12,
    display: { timezone: 'Asia/Tokyo' } });
  const url = server.url;

  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.goto(url + '/');
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  // The display zone, in the header.
  assert.match(await page.textContent('#tz'), /Asia\/Tokyo \(UTC\+9\)/);
  // The sound is off by default; the shifter turns it on and it stays on after a reload.
  assert.equal(await page.getAttribute('#sound', 'aria-pressed'), 'false');
  await page.click('#sound');
  assert.equal(await page.getAttribute('#sound', 'aria-pressed'), 'true');
  await page.reload();
  const problems = watch(page); // from here (the reload aborts the requests under way)
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  assert.equal(await page.getAttribute('#sound', 'aria-pressed'), 'true');

  // A silence set while its rule is inactive is shown with who, why and until when.
  const sil = await (await fetch(url + '/api/v1/silences', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ alarm: 'veto_rate_high', duration: 7200, creator: 'B. Expert', comment: 'halo studies' }) })).json();
  await page.waitForSelector(`#silences li[data-silence="${sil.silence.id}"]`, { timeout: 15000 });
  const silText = await page.textContent(`#silences li[data-silence="${sil.silence.id}"]`);
  assert.ok(silText.includes('veto_rate_high') && silText.includes('B. Expert') && silText.includes('halo studies'), silText);
  assert.ok(silText.includes(`until ${tokyo(sil.silence.ends_at)}`), `${silText} / until ${tokyo(sil.silence.ends_at)}`);
  assert.equal((await page.evaluate(() => fetch('/api/v1/alarms').then(r => r.json())))
    .alarms.find(a => a.name === 'veto_rate_high').state, 'inactive');
  assert.equal(await onScreen(page, '#silences-box'), true);

  // Run 21: HCAL module 2 dead from the first spill; after spill 3 the DAQ sends the start and
  // some events of spill 4, then nothing (no spill_end, no run_end): the spill times out, the
  // data stops.
  const recs = (await run(env('SW_COLLECT'), ['sim', '--out', '-', '--quiet', '--run', '21', '--spills', '4', '--scale', '0.2',
    '--fault', 'hcal_dead@1'], { maxBuffer: 1 << 28 })).stdout.trim().split('\n').map(l => JSON.parse(l))
    .filter(r => r.type !== 'run_end' && !(r.type === 'spill_end' && r.spill === 4));
  await post(url, recs);

  // The DAQ row comes first and says the stall, then the incomplete spill, on the screen.
  await page.waitForFunction(() => {
    const row = document.querySelector('#status .status-row');
    return row && row.dataset.subsystem === 'daq' &&
      /^no data for \d+ s while run 21 is running/.test(row.querySelector('.status-text').textContent);
  }, null, { timeout: 30000 });
  const daq = await page.$eval('#status-daq', e => ({ state: e.dataset.state, text: e.querySelector('.status-text').textContent }));
  assert.equal(daq.state, 'BAD');
  assert.match(daq.text, /^no data for \d+ s while run 21 is running/);
  assert.equal(await onScreen(page, '#status-daq .status-text'), true);
  // Spill 4 is still open (the spill timeout is 12 s): the stream's live events for it do not put
  // "open" back on the spill tile.
  const lives = await page.evaluate(() => Number(document.body.dataset.liveEvents || 0));
  await page.waitForFunction(n => Number(document.body.dataset.liveEvents || 0) > n, lives, { timeout: 15000 });
  assert.match(await page.textContent('#spill-state'), /^no data for \d+ s$/);
  assert.equal(await page.textContent('#spill'), '4');
  await page.waitForFunction(() => document.getElementById('last-flag').textContent === 'UNKNOWN', null, { timeout: 15000 });
  await page.click('#status-daq-more');
  const items = await page.$$eval('#status-daq li .item-text', lis => lis.map(li => li.textContent));
  assert.match(items[0], /^no data for \d+ s while run 21 is running/);
  assert.equal(items[1], 'spill 4 incomplete: no spill_end before the spill timeout', items.join(' | '));
  assert.ok(items.length >= 3, 'and the checks that lacked input: ' + items.join(' | '));
  assert.equal(await onScreen(page, '#status-daq li:nth-child(2)'), true);
  // The spill tile says how long no data came, not "between spills".
  assert.match(await page.textContent('#spill-state'), /^no data for \d+ s$/);
  assert.equal(await onScreen(page, '#spill-state'), true);

  // The banner: stale data (since the last data, in the display zone) and the critical stall alarm.
  await page.waitForSelector('#alert li[data-kind="alarm"][data-alarm="daq_stalled"]', { timeout: 30000 });
  const runInfo = await (await fetch(url + '/api/v1/runs/21')).json();
  const stale = await page.textContent('#alert li[data-kind="stale"]');
  assert.match(stale, /^Data stale: no data for \d+ s while run 21 is running/);
  assert.ok(stale.endsWith(`last data ${tokyo(runInfo.last_spill.ended)}`), `${stale} / ${tokyo(runInfo.last_spill.ended)}`);
  const alarm = await page.textContent('#alert li[data-kind="alarm"]');
  const fired = (await (await fetch(url + '/api/v1/alarms')).json()).alarms.find(a => a.name === 'daq_stalled');
  assert.ok(alarm.startsWith(`Critical alarm daq_stalled firing since ${tokyo(fired.starts_at || fired.since)}`), alarm);
  assert.equal(await onScreen(page, '#alert'), true);
  // The sound is on: the standing alert beeped.
  await page.waitForFunction(() => Number(document.body.dataset.beeps || 0) >= 1, null, { timeout: 5000 });

  // The beam row: no counters came (no spill_end), so its checks lacked input.
  const beam = await page.$eval('#status-beam', e => [e.dataset.state, e.querySelector('.status-text').textContent]);
  assert.equal(beam[0], 'UNKNOWN');
  assert.match(beam[1], /^Muons on target: /, 'the first check of the profile first');
  assert.deepEqual(problems, []);
});

test('a dead HCAL module from the first spill: the HCAL row names it, the critical alarm banner, trends by their own check, a drill-down', async (t) => {
  const { server, browser } = await setup(t);
  await sim(server.url, '--run', '31', '--spills', '4', '--scale', '0.2', '--fault', 'hcal_dead@1-4');
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = watch(page);
  await page.goto(server.url + '/');
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '4', null, { timeout: 15000 });
  // The HCAL row: BAD, first, naming the module in words (the check's title, not hcal2_mip).
  await page.waitForFunction(() => document.querySelector('#status .status-row')?.dataset.subsystem === 'hcal', null,
    { timeout: 15000 });
  const row = await page.$eval('#status-hcal', e => ({ state: e.dataset.state, title: e.querySelector('.status-name').textContent,
    text: e.querySelector('.status-text').textContent }));
  assert.equal(row.state, 'BAD');
  assert.equal(row.title, 'HCAL');
  assert.match(row.text, /^HCAL module 2 MIP peak/, row.text);
  assert.equal(await onScreen(page, '#status-hcal .status-text'), true);
  // The reason opens its spill in the explorer, on the check's histogram with the check highlighted.
  const reasonLink = Object.fromEntries(new URL(await page.$eval('#status-hcal a.status-text', a => a.href)).searchParams);
  assert.deepEqual(reasonLink, { h: 'hcal2', scope: 'spill', run: '31', spills: '4', ref: 'last-good', check: 'hcal2_mip' });
  assert.equal(await page.$eval('#status-ecal', e => e.dataset.state), 'GOOD');
  // Every HCAL problem is one click away.
  await page.click('#status-hcal-more');
  const items = await page.$$eval('#status-hcal li .item-text', lis => lis.map(li => li.textContent));
  assert.ok(items.length >= 2 && items.some(i => i.startsWith('HCAL module 2 MIP peak vs the other modules')), items.join(' | '));
  // The critical alarm "three BAD spills in a row" stands in the banner (the run has ended: not stale).
  await page.waitForSelector('#alert li[data-kind="alarm"][data-alarm="bad_spills"]', { timeout: 15000 });
  assert.match(await page.textContent('#alert li[data-alarm="bad_spills"]'),
    /^Critical alarm bad_spills firing since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ s\): Three BAD spills in a row$/);
  assert.equal(await page.$('#alert li[data-kind="stale"]'), null);
  assert.equal(await onScreen(page, '#alert'), true);

  // The ECAL MIP peak is good in every spill (its own check), though every spill is BAD (HCAL):
  // its points are green, with its good and warn bands.
  await page.waitForFunction(() => Chart.getChart(document.getElementById('trend-ecal'))?.data.datasets[0]?.data.length === 4);
  const ecal = await page.evaluate(() => {
    const c = Chart.getChart(document.getElementById('trend-ecal'));
    return { colours: c.data.datasets[0].pointBackgroundColor, flags: c.data.datasets[0].data.map(d => d.p.flag),
      bands: c.data.datasets.filter(d => d.band).map(d => [d.band, d.data.filter(p => p.y !== null).length]) };
  });
  assert.deepEqual(ecal.flags, ['BAD', 'BAD', 'BAD', 'BAD']);
  assert.deepEqual(ecal.colours, ['#2fb45a', '#2fb45a', '#2fb45a', '#2fb45a'], 'coloured by ecal_mip, not by the spill flag');
  assert.deepEqual(ecal.bands, [['warn', 8], ['warn', 8], ['good', 8], ['good', 8]], 'band edges, two points a spill');
  // The HCAL trend: module 2's points are BAD, the others' GOOD.
  const hcal = await page.evaluate(() => Chart.getChart(document.getElementById('trend-hcal')).data.datasets.slice(0, 4)
    .map(d => d.data.map(x => x.p.state)));
  assert.deepEqual(hcal[2], ['BAD', 'BAD', 'BAD', 'BAD']);
  assert.ok(hcal[0].every(s => s === 'GOOD'), JSON.stringify(hcal));
  // p_in's axis around its band and data, not from 0.
  const pin = await page.evaluate(() => { const s = Chart.getChart(document.getElementById('trend-pin')).scales.y; return [s.min, s.max]; });
  assert.ok(pin[0] > 140 && pin[1] < 180, JSON.stringify(pin));
  // Axis titles with units, x "spill".
  const titles = await page.evaluate(() => ['trend-pin', 'trend-dead', 'trend-rate'].map(id => {
    const o = Chart.getChart(document.getElementById(id)).options.scales;
    return [o.x.title.text, o.y.title.text];
  }));
  assert.deepEqual(titles, [['spill', 'p_in mean (GeV/c)'], ['spill', 'dead time (%)'], ['spill', 'rate (Hz)']]);
  // The alarm's transition to firing (spill 3) is a marker on the trends.
  await page.waitForFunction(() => Object.values(Chart.getChart(document.getElementById('trend-mot')).options.plugins.annotation.annotations)
    .some(a => a.xMin === 3 && /^bad_spills firing/.test(a.text)), null, { timeout: 15000 });

  // A manual flag is a marker at its spill.
  const flag = await fetch(server.url + '/api/v1/runs/31/spills/2/flag', { method: 'PUT', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ flag: 'GOOD', reason: 'other', shifter: 'A. Shifter', comment: 'module 2 masked offline' }) });
  assert.equal(flag.status, 200, await flag.text());
  await page.waitForFunction(() => {
    const a = Chart.getChart(document.getElementById('trend-ecal')).options.plugins.annotation.annotations['manual-2'];
    return a && a.xMin === 2 && a.text === 'manual GOOD (checks: BAD)';
  }, null, { timeout: 40000 });

  // A click on module 2's point of spill 3 opens that spill in the explorer, with its check.
  assert.deepEqual(problems, []);
  await page.locator('#trend-hcal').scrollIntoViewIfNeeded();
  const box = await page.locator('#trend-hcal').boundingBox();
  const pt = await page.evaluate(() => {
    const e = Chart.getChart(document.getElementById('trend-hcal')).getDatasetMeta(2).data[2];
    return { x: e.x, y: e.y };
  });
  assert.equal(await page.evaluate(([x, y]) => document.elementFromPoint(x, y).id, [box.x + pt.x, box.y + pt.y]), 'trend-hcal');
  // (the URL the overview opened: the explorer may rewrite its own URL once it runs)
  const opened = page.waitForRequest(r => r.isNavigationRequest() && r.url().includes('/explorer.html'), { timeout: 10000 });
  await page.mouse.click(box.x + pt.x, box.y + pt.y);
  const q = Object.fromEntries(new URL((await opened).url()).searchParams);
  assert.deepEqual(q, { h: 'hcal2', scope: 'spill', run: '31', spills: '3', ref: 'last-good', check: 'hcal2_mip' });
});

test('trends: the last 50 spills by default, the whole run, zoom and reset', async (t) => {
  const { server, browser } = await setup(t);
  await sim(server.url, '--run', '32', '--spills', '60', '--scale', '0.05');
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = watch(page);
  await page.goto(server.url + '/');
  const xr = id => page.evaluate(i => { const s = Chart.getChart(document.getElementById(i)).scales.x; return [s.min, s.max]; }, id);
  await page.waitForFunction(() => Chart.getChart(document.getElementById('trend-mot'))?.data.datasets[0]?.data.length === 60,
    null, { timeout: 15000 });
  assert.deepEqual(await xr('trend-mot'), [10.5, 60.5], 'the last 50 spills');
  assert.match(await page.textContent('#trend-range'), /^run 32: spills 11–60 of 1–60/);
  await page.click('#trend-all');
  assert.deepEqual(await xr('trend-mot'), [0.5, 60.5], 'the whole run');
  assert.deepEqual(await xr('trend-hcal'), [0.5, 60.5], 'every chart');
  // Drag across spills of one chart: that range on every chart.
  const c = page.locator('#trend-rate');
  await c.scrollIntoViewIfNeeded();
  const box = await c.boundingBox();
  const area = await page.evaluate(() => Chart.getChart(document.getElementById('trend-rate')).chartArea);
  const y = box.y + (area.top + area.bottom) / 2;
  await page.mouse.move(box.x + area.left + 0.3 * (area.right - area.left), y);
  await page.mouse.down();
  await page.mouse.move(box.x + area.left + 0.5 * (area.right - area.left), y, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.body.dataset.trendView === 'zoomed');
  const [a, b] = await xr('trend-mot');
  assert.ok(a > 10 && b < 40 && b - a < 20, JSON.stringify([a, b]));
  assert.deepEqual(await xr('trend-pin'), [a, b]);
  assert.equal(page.url(), server.url + '/', 'a drag is no click: no drill-down');
  // Pan with shift + drag moves the range.
  await page.keyboard.down('Shift');
  await page.mouse.move(box.x + area.left + 0.6 * (area.right - area.left), y);
  await page.mouse.down();
  await page.mouse.move(box.x + area.left + 0.3 * (area.right - area.left), y, { steps: 8 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await page.waitForFunction(lo => Chart.getChart(document.getElementById('trend-mot')).scales.x.min > lo + 1, a);
  const [a2, b2] = await xr('trend-mot');
  assert.ok(Math.abs((b2 - a2) - (b - a)) < 0.01, `a pan keeps the width: ${[a, b]} -> ${[a2, b2]}`);
  await page.click('#trend-reset');
  assert.deepEqual(await xr('trend-mot'), [10.5, 60.5], 'reset: the last 50 again');
  assert.equal(await page.evaluate(() => document.body.dataset.trendView), 'last');
  assert.deepEqual(problems, []);
});

test('no tile text wraps or is cut from 1280x800 to 3840x2160', async (t) => {
  const { server, browser } = await setup(t);
  await sim(server.url, '--run', '123456', '--spills', '3', '--scale', '0.2', '--fault', 'dead_time@3', '--mot-goal', '2.5e9');
  const problems = [];
  const open = async (path) => {
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    problems.push(watch(p));
    await p.goto(server.url + path);
    await p.waitForFunction(() => document.getElementById('run-spills').textContent === '3' &&
      /^checks:/.test(document.getElementById('last-why').textContent), null, { timeout: 15000 });
    return p;
  };
  const normal = await open('/');
  const kioskPage = await open('/?kiosk=1'); // larger type (kiosk_seconds 30: no rotation before the end)
  await kioskPage.waitForFunction(() => document.body.classList.contains('kiosk'));
  const sizes = [[1280, 800], [1366, 768], [1920, 1080], [3840, 2160]];
  for (const [w, h, kiosk] of [...sizes, [1280, 800, true], [3840, 2160, true]]) {
    const page = kiosk ? kioskPage : normal;
    await page.setViewportSize({ width: w, height: h });
    await page.waitForTimeout(200);
    const bad = await page.evaluate(() => [...document.querySelectorAll('.tile > :not(#run-flags), #run-flags span')].filter(e => {
      const lh = parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.4;
      return e.scrollWidth > e.clientWidth || (e.textContent && e.getBoundingClientRect().height > 1.6 * lh);
    }).map(e => `${e.id || e.className}: "${e.textContent}" ${e.scrollWidth}>${e.clientWidth}`));
    assert.deepEqual(bad, [], `at ${w}x${h}${kiosk ? ' in kiosk mode' : ''}`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `no sideways scroll at ${w}`);
    // Larger type on a 4K screen.
    const size = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    if (w === 3840) assert.ok(size >= 24, `4K body type ${size}px`);
    if (w === 1280) assert.ok(size <= 17, `1280 body type ${size}px`);
  }
  assert.deepEqual(problems.flat(), []);
});

test('kiosk mode: no navigation, larger type, the pages in turn, ?kiosk=1 kept', async (t) => {
  const { server, browser } = await setup(t, { display: { kiosk_pages: ['/', '/alarms.html'], kiosk_seconds: 5 } });
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = watch(page);
  await page.goto(server.url + '/');
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  const normal = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  assert.equal(await page.isVisible('header nav'), true);
  await page.goto(server.url + '/?kiosk=1');
  await page.waitForFunction(() => document.body.classList.contains('kiosk'));
  assert.equal(await page.isVisible('header nav'), false);
  await page.waitForFunction(() => getComputedStyle(document.getElementById('sound')).display === 'none'); // kiosk.css
  const big = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  assert.ok(big > normal, `${big} > ${normal}`);
  await page.waitForURL(server.url + '/alarms.html?kiosk=1', { timeout: 20000 });
  await page.waitForFunction(() => document.body.classList.contains('kiosk'));
  assert.equal(await page.isVisible('header nav'), false);
  await page.waitForURL(server.url + '/?kiosk=1', { timeout: 20000 });
  assert.deepEqual(problems, []);
});
