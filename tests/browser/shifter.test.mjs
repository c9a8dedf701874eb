// Browser test of the shifter's actions: acknowledge a firing alarm from the overview, flag a spill
// and see it in the run page's table and audit trail, silence an alarm from the alarms page. The real
// server and simulator, headless Debian Chromium. Screenshots of the pages go to SW_ARTIFACTS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, sim, watch } from './common.mjs';
import { withoutAborted } from './ingest.mjs';

test('a shifter acknowledges an alarm, flags a spill and silences an alarm from the pages', async (t) => {
  const { dir, server, browser } = await setup(t);
  // dead_time_high fires on one spill with dead time above 0.3 (the last one, so it stays firing).
  await sim(server.url, '--run', '12', '--spills', '4', '--scale', '0.1', '--fault', 'dead_time@4', '--fault', 'hcal_dead@2');
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems = watch(page, ['status of 404']);
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });

  // Overview: the firing alarm is listed with an Acknowledge form.
  await page.goto(server.url + '/');
  const row = '#overview-alarms tr[data-alarm="dead_time_high"]';
  await page.waitForSelector(row + ' form[data-action="ack"]', { timeout: 15000 });
  assert.match(await page.textContent(row + ' .state'), /^firing/);
  await page.fill(row + ' input[name="shifter"]', 'A. Shifter');
  await page.fill(row + ' input[name="comment"]', 'DAQ expert called <b>now</b>');
  await page.click(row + ' button[type="submit"]');
  await page.waitForFunction(sel => document.querySelector(sel + ' .state')?.textContent.startsWith('acknowledged'), row,
    { timeout: 15000 });
  // The comment comes back as text, not as markup.
  await page.waitForFunction(sel => document.querySelector(sel).textContent.includes('DAQ expert called <b>now</b>'), row);
  assert.equal(await page.$$eval(row + ' b', els => els.length), 0);
  const alarms = await (await fetch(server.url + '/api/v1/alarms')).json();
  const ack = alarms.alarms.find(a => a.name === 'dead_time_high');
  assert.equal(ack.state, 'acknowledged');
  assert.equal(ack.acknowledged.comment, 'DAQ expert called <b>now</b>');
  await page.screenshot({ path: join(artifacts, 'overview-alarm.png'), fullPage: true });

  // Run page: flag spill 2 (dead HCAL module) BAD by hand, with a reason from the vocabulary.
  await page.goto(server.url + '/run.html');
  await page.waitForSelector('#spills tbody tr[data-spill="4"]', { timeout: 15000 });
  assert.equal(await page.inputValue('#run-select'), '12');
  await page.waitForSelector('#reason option[value="detector problem"]', { state: 'attached' });
  await page.fill('#flag-form input[name="spills"]', '1-2');
  await page.selectOption('#flag-form select[name="flag"]', 'BAD');
  await page.selectOption('#reason', 'detector problem');
  await page.fill('#flag-form input[name="shifter"]', 'A. Shifter');
  await page.fill('#flag-form input[name="comment"]', 'HCAL2 dead, confirmed by the expert');
  await page.click('#flag-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('flag-msg').textContent.startsWith('spills 1, 2: BAD'), null,
    { timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('#spills tr[data-spill="1"]')?.dataset.flag === 'BAD');
  await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 2);
  assert.match(await page.textContent('#audit tbody'), /detector problem/);
  const spill1 = await (await fetch(server.url + '/api/v1/runs/12/spills/1')).json();
  assert.equal(spill1.flag, 'BAD');
  assert.equal(spill1.manual.shifter, 'A. Shifter');
  // Bad spills first, then sorted by MOT when the header is clicked.
  await page.check('#bad-first');
  const firstFlag = await page.$eval('#spills tbody tr', tr => tr.dataset.flag);
  assert.equal(firstFlag, 'BAD');
  // A refused flag shows the server's error (a reason outside the vocabulary cannot be chosen, so
  // try a range without stored spills).
  await page.fill('#flag-form input[name="spills"]', '90-95');
  await page.click('#flag-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('flag-msg').className.includes('err'), null, { timeout: 15000 });
  await page.screenshot({ path: join(artifacts, 'run.png'), fullPage: true });

  // Alarms page: silence mot_low for an hour.
  await page.goto(server.url + '/alarms.html');
  await page.waitForSelector('#silence-alarm option[value="mot_low"]', { state: 'attached', timeout: 15000 });
  await page.selectOption('#silence-alarm', 'mot_low');
  await page.fill('#silence-form input[name="creator"]', 'A. Shifter');
  await page.fill('#silence-form input[name="comment"]', 'low intensity run, agreed with the run coordinator');
  await page.click('#silence-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('silence-msg').textContent.includes('mutes mot_low'), null,
    { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('#silences tbody tr').length === 1);
  await page.waitForFunction(() => document.querySelectorAll('#episodes tbody tr[data-alarm="dead_time_high"]').length > 0);
  await page.screenshot({ path: join(artifacts, 'alarms.png'), fullPage: true });
  // Shift summary (last 8 hours): the spills per flag, MOT, the manual flags with their comment, the alarms.
  await page.goto(server.url + '/shift.html');
  await page.waitForFunction(() => Number(document.body.dataset.loaded || 0) >= 1, null, { timeout: 15000 });
  assert.equal(await page.textContent('#total-spills'), '4');
  const run12 = await (await fetch(server.url + '/api/v1/runs/12')).json();
  assert.equal(await page.textContent('#totals tbody tr[data-run="12"] td:nth-child(5)'), String(run12.flags.BAD));
  assert.match(await page.textContent('#total-mot'), /^[0-9.]+ [kM]$/);
  assert.equal(await page.$$eval('#manual tbody tr', trs => trs.length), 2);
  assert.match(await page.textContent('#manual tbody'), /HCAL2 dead, confirmed by the expert/);
  assert.match(await page.textContent('#alarms tbody tr[data-alarm="dead_time_high"]'),
    /firing .* → still acknowledged, acknowledged by A\. Shifter \(.*: DAQ expert called <b>now<\/b>\)/);
  await page.screenshot({ path: join(artifacts, 'shift.png'), fullPage: true });

  // The 404 of the refused flag is expected; nothing else went wrong.
  assert.deepEqual(withoutAborted(problems), [`HTTP 404: ${server.url}/api/v1/runs/12/spills/90-95/flag`]);
});
