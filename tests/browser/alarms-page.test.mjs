// Browser test of the alarms page: a silence stays visible while the rule it mutes is inactive (in
// the active table and in the silences table, with the rule's state now), and the history is folded
// into episodes with every transition one click away. The real server and simulator, headless
// Chromium; the display zone Asia/Tokyo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, sim, watch } from './common.mjs';
import { getJson, wallTime } from './ingest.mjs';

const ZONE = 'Asia/Tokyo';

test('alarms page: a silence of an inactive rule is shown, the history folds pending noise', async (t) => {
  const { dir, server, browser } = await setup(t, { display: { timezone: ZONE } });
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  const api = (path) => getJson(server.url + path);
  // A lone bad spill (bad_spills goes pending and back), then two in a row (it fires, then resolves).
  await sim(server.url, '--run', '50', '--spills', '7', '--fault', 'hcal_dead@2', '--fault', 'beam_momentum@4-6');
  const before = await api('/api/v1/alarms');
  assert.equal(before.alarms.find(a => a.name === 'dead_time_high').state, 'inactive');

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const problems = watch(page);
  await page.goto(server.url + '/alarms.html');
  await page.waitForSelector('#silence-alarm option[value="dead_time_high"]', { state: 'attached', timeout: 15000 });
  // Nothing fires, nothing is silenced: no active row.
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  assert.equal(await page.$$eval('#active tbody tr', trs => trs.length), 0);

  // Silence the inactive dead_time_high.
  await page.selectOption('#silence-alarm', 'dead_time_high');
  await page.fill('#silence-form input[name="creator"]', 'A. Shifter');
  await page.fill('#silence-form input[name="comment"]', 'DAQ expert tunes the readout');
  await page.click('#silence-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('silence-msg').textContent.includes('mutes dead_time_high'), null,
    { timeout: 15000 });
  const silence = (await api('/api/v1/silences')).silences[0];
  const rule = (await api('/api/v1/alarms')).alarms.find(a => a.name === 'dead_time_high');
  assert.equal(rule.state, 'inactive');
  assert.equal(rule.silenced_by, null, 'the server names no silence for an inactive rule');

  // The active table lists the silenced rule, with who, why and until when.
  const active = '#active tbody tr[data-alarm="dead_time_high"]';
  await page.waitForSelector(active, { timeout: 15000 });
  assert.equal(await page.getAttribute(active, 'data-silenced'), '1');
  assert.equal(await page.textContent(active + ' .state'), 'inactive (silenced)');
  assert.match(await page.textContent(active),
    new RegExp(`silence #${silence.id} by A\\. Shifter until ${wallTime(silence.ends_at, ZONE)}: DAQ expert tunes the readout`));
  // The silences table: the rules it mutes with their state now, times in the display zone.
  const srow = `#silences tbody tr[data-silence="${silence.id}"]`;
  assert.equal(await page.textContent(srow + ' li[data-rule="dead_time_high"]'), 'dead_time_high (inactive)');
  assert.equal(await page.textContent(srow + ' td:nth-child(3)'), wallTime(silence.starts_at, ZONE));
  assert.equal(await page.textContent(srow + ' td:nth-child(4)'), wallTime(silence.ends_at, ZONE));
  assert.equal(await page.getAttribute(srow, 'data-state'), 'active');

  // The history: one row per episode, the pending steps counted, not listed.
  const hist = (await api('/api/v1/alarms?history=1')).history;
  const fired = hist.filter(h => h.to === 'firing' && h.from !== 'acknowledged');
  const noise = hist.filter(h => h.from === 'pending' && (h.to === 'inactive' || h.to === 'resolved'));
  assert.ok(fired.length >= 1 && noise.length >= 1, JSON.stringify(hist));
  assert.equal(await page.isVisible('#episodes'), true);
  assert.equal(await page.isVisible('#history'), false);
  const episodes = await page.$$eval('#episodes tbody tr', trs => trs.map(tr => tr.cells[2].textContent));
  assert.equal(episodes.length, fired.length);
  assert.ok(episodes.every(e => /^firing \d{4}-\d\d-\d\d \d\d:\d\d:\d\d → /.test(e) && !/pending/.test(e)), episodes.join(' | '));
  assert.match(await page.textContent('#history-note'), /Pending without firing \(not listed\): bad_spills \d+×/);
  await page.screenshot({ path: join(artifacts, 'alarms-page.png'), fullPage: true });

  // Every transition, one click away.
  await page.check('#raw');
  await page.waitForSelector('#history', { state: 'visible' });
  assert.equal(await page.isVisible('#episodes'), false);
  const raw = await page.$$eval('#history tbody tr', trs => trs.map(tr => tr.cells[2].textContent));
  assert.equal(raw.length, Math.min(hist.length, 200));
  assert.ok(raw.includes('pending → inactive') || raw.includes('pending → resolved'), raw.join(' | '));
  await page.uncheck('#raw');
  await page.waitForSelector('#episodes', { state: 'visible' });

  // Ended, the silence no longer keeps the inactive rule in the active table.
  await page.click(srow + ' button');
  await page.waitForSelector(active, { state: 'detached', timeout: 15000 });
  await page.waitForFunction(sel => document.querySelector(sel)?.dataset.state === 'ended', srow, { timeout: 15000 });

  assert.deepEqual(problems, []);
});
