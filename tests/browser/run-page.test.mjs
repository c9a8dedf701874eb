// Browser test of the run page at the end of a run: sign-off refused (disabled, saying why) while the
// run has no run_end, offered after it; the confirmation dialog shows what is certified and its
// Cancel sends nothing; Reopen; a manual override marked beside the checks' verdict; the start time in
// the display zone; a row opening its spill in the explorer on its worst check. The real server and
// simulator (the test sends the simulator's records itself, holding back the run_end), headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, watch } from './common.mjs';
import { getJson, ingest, simRecords, wallTime, withoutAborted } from './ingest.mjs';

const ZONE = 'Asia/Tokyo';
const RUN = 30;

test('run page: sign-off after run_end with a confirmation, reopen, manual overrides, explorer links', async (t) => {
  const { dir, server, browser } = await setup(t, { display: { timezone: ZONE } });
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  const api = (path) => getJson(server.url + path);
  // Spills 2-3 with the beam momentum 10 GeV/c off: BAD on p_in_mean.
  const records = await simRecords('--run', String(RUN), '--spills', '5', '--fault', 'beam_momentum@2-3');
  const runEnd = records.filter(l => l.includes('"type":"run_end"'));
  assert.equal(runEnd.length, 1);
  await ingest(server.url, records.filter(l => !runEnd.includes(l)));

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const problems = watch(page);
  const signoffPosts = [];
  page.on('request', r => { if (r.method() === 'POST' && /\/signoff$/.test(new URL(r.url()).pathname)) signoffPosts.push(r.url()); });

  await page.goto(`${server.url}/run.html?run=${RUN}`);
  await page.waitForSelector('#spills tbody tr[data-spill="5"]', { timeout: 15000 });

  // A running run: sign-off disabled, and the page says why.
  await page.waitForFunction(() => document.getElementById('signoff-why').textContent !== '');
  assert.equal(await page.isDisabled('#signoff-button'), true);
  assert.equal(await page.textContent('#signoff-why'), `run ${RUN} is running (no run_end yet)`);
  assert.equal(await page.isVisible('#reopen-form'), false);

  // The start time column in the display zone (not the browser's, not UTC).
  const spills = (await api(`/api/v1/runs/${RUN}/spills`)).spills;
  for (const s of spills)
    assert.equal(await page.textContent(`#spills tr[data-spill="${s.spill}"] td.time`), wallTime(s.started, ZONE));
  assert.notEqual(wallTime(spills[0].started, ZONE), wallTime(spills[0].started, 'UTC'));
  // Numbers with units, never in exponent notation.
  const row1 = await page.textContent('#spills tr[data-spill="1"]');
  assert.match(row1, / %/);
  assert.match(row1, /Hz/);
  assert.doesNotMatch(row1, /\de[+-]\d/);

  // The run ends: sign-off becomes possible.
  await ingest(server.url, runEnd);
  await page.waitForFunction(() => !document.getElementById('signoff-button').disabled, null, { timeout: 15000 });
  assert.equal(await page.textContent('#signoff-why'), '');

  // A manual override: spill 2 (BAD by the checks) set GOOD by a shifter.
  assert.equal(spills.find(s => s.spill === 2).auto_flag, 'BAD');
  await page.fill('#flag-form input[name="spills"]', '2');
  await page.selectOption('#flag-form select[name="flag"]', 'GOOD');
  await page.fill('#flag-form input[name="shifter"]', 'A. Shifter');
  await page.fill('#flag-form input[name="comment"]', 'momentum change was announced');
  await page.click('#flag-form button[type="submit"]');
  const row2 = '#spills tr[data-spill="2"]';
  await page.waitForSelector(row2 + ' .mark.manual', { timeout: 15000 });
  assert.equal(await page.textContent(row2 + ' .flagcell > .badge'), 'GOOD');
  assert.equal(await page.textContent(row2 + ' .flagcell .auto .badge'), 'BAD');
  assert.equal(await page.isVisible(row2 + ' .mark.conflict'), true, 'the manual flag disagrees with the checks');
  assert.match(await page.textContent(row2 + ' .manualcell'), /^GOOD by A\. Shifter/);
  assert.match(await page.textContent(row2 + ' .manualcell'), /momentum change was announced/);
  assert.match(await page.textContent(row2 + ' .reasons-cell'), /overridden/);
  // A spill without a manual flag has no mark.
  assert.equal(await page.$$eval('#spills tr[data-spill="3"] .mark', m => m.length), 0);

  // Sign-off asks first, with what is being certified; Cancel sends nothing.
  const r = await api(`/api/v1/runs/${RUN}`);
  await page.fill('#signoff-form input[name="shifter"]', 'A. Shifter');
  await page.fill('#signoff-form input[name="comment"]', 'run checked, spill 3 BAD');
  await page.click('#signoff-button');
  await page.waitForSelector('#signoff-dialog[open]');
  assert.equal(await page.textContent('#dlg-title'), `Sign off run ${RUN}?`);
  for (const f of ['GOOD', 'WARN', 'BAD', 'UNKNOWN', 'EXCLUDED'])
    assert.equal(await page.textContent(`#dlg-flags td[data-flag="${f}"]`), String(r.flags[f]), f);
  assert.equal(await page.textContent('#dlg-spills'), String(r.spills));
  assert.match(await page.textContent('#dlg-mot'), /^[0-9.]+ M$/);
  assert.match(await page.textContent('#dlg-good-mot'), /^[0-9.]+ M \([0-9.]+ % of the MOT\)$/);
  assert.equal(await page.textContent('#dlg-manual-count'), '1 spill');
  assert.match(await page.textContent('#dlg-manual'), /^spill 2: GOOD by A\. Shifter .*checks: BAD/);
  await page.screenshot({ path: join(artifacts, 'run-signoff-dialog.png') });
  await page.click('#dlg-cancel');
  await page.waitForSelector('#signoff-dialog:not([open])', { state: 'attached' });
  await page.waitForFunction(() => /cancelled|signed off$/.test(document.getElementById('signoff-msg').textContent), null,
    { timeout: 15000 });
  assert.deepEqual(signoffPosts, []);
  assert.match(await page.textContent('#signoff-msg'), /not signed off \(cancelled\)/);
  assert.equal((await api(`/api/v1/runs/${RUN}`)).signoff, null);

  // Confirmed: signed off; the button says why it is disabled now, and Reopen appears.
  await page.click('#signoff-button');
  await page.waitForSelector('#signoff-dialog[open]');
  await page.click('#dlg-confirm');
  await page.waitForFunction(() => document.getElementById('signoff-msg').textContent.endsWith('signed off'), null, { timeout: 15000 });
  assert.equal(signoffPosts.length, 1);
  const signed = await api(`/api/v1/runs/${RUN}`);
  assert.equal(signed.signoff.shifter, 'A. Shifter');
  assert.equal(signed.signoff.comment, 'run checked, spill 3 BAD');
  await page.waitForSelector('#reopen-form', { state: 'visible', timeout: 15000 });
  assert.equal(await page.isDisabled('#signoff-button'), true);
  assert.match(await page.textContent('#signoff-why'), new RegExp(`^run ${RUN} is signed off by A\\. Shifter`));
  assert.equal(await page.isDisabled('#flag-button'), true);

  // Reopen, with its reason.
  await page.fill('#reopen-form input[name="reason"]', 'p_in calibration redone: flags to revise');
  await page.fill('#reopen-form input[name="shifter"]', 'B. Expert');
  await page.click('#reopen-button');
  await page.waitForFunction(() => document.getElementById('reopen-msg').textContent.endsWith('reopened'), null, { timeout: 15000 });
  assert.equal((await api(`/api/v1/runs/${RUN}`)).signoff, null);
  const audit = (await api(`/api/v1/audit?run=${RUN}`)).entries;
  assert.equal(audit[0].action, 'reopen');
  assert.equal(audit[0].reason, 'p_in calibration redone: flags to revise');
  await page.waitForSelector('#reopen-form', { state: 'hidden', timeout: 15000 });
  await page.waitForFunction(() => !document.getElementById('signoff-button').disabled, null, { timeout: 15000 });

  // A reason links to its check in the explorer.
  const checks = (await api('/api/v1/checks')).checks;
  const pIn = checks.find(c => c.name === 'p_in_mean');
  const link = await page.getAttribute('#spills tr[data-spill="3"] .reasons-cell a[data-check="p_in_mean"]', 'href');
  const lq = new URL(link, server.url).searchParams;
  assert.equal(lq.get('check'), 'p_in_mean');
  assert.equal(lq.get('h'), pIn.hist);
  await page.screenshot({ path: join(artifacts, 'run-page.png'), fullPage: true });

  // A click on a row (not on a link) opens that spill in the explorer, on the histogram of its worst check.
  const worst = (await api(`/api/v1/runs/${RUN}/checks?spills=3-3`)).checks.find(c => c.worst === 'BAD');
  const [req] = await Promise.all([
    page.waitForRequest(q => new URL(q.url()).pathname === '/explorer.html'),
    page.click('#spills tr[data-spill="3"] td.num'),
  ]);
  const q = new URL(req.url()).searchParams;
  assert.equal(q.get('run'), String(RUN));
  assert.equal(q.get('spills'), '3');
  assert.equal(q.get('scope'), 'spill');
  assert.equal(q.get('check'), worst.name);
  assert.equal(q.get('h'), checks.find(c => c.name === worst.name).hist);
  assert.equal(q.get('ref'), 'last-good');
  await page.waitForFunction(() => document.getElementById('run')?.value === '30', null, { timeout: 15000 });
  assert.equal(await page.inputValue('#spills'), '3');

  assert.deepEqual(withoutAborted(problems), []);
});

test('run page: no sign-off while a spill is open or UNKNOWN without a manual flag', async (t) => {
  const { server, browser } = await setup(t);
  const run = 31;
  const records = await simRecords('--run', String(run), '--spills', '3');
  const isEnd = (l, spill) => l.includes('"type":"spill_end"') && JSON.parse(l).spill === spill;
  const end3 = records.find(l => isEnd(l, 3));
  const runEnd = records.find(l => l.includes('"type":"run_end"'));
  await ingest(server.url, records.filter(l => l !== end3 && l !== runEnd));
  await ingest(server.url, [runEnd]); // the run ends while spill 3 is open

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const problems = watch(page);
  await page.goto(`${server.url}/run.html?run=${run}`);
  await page.waitForFunction(() => document.getElementById('signoff-why').textContent !== '', null, { timeout: 15000 });
  assert.equal(await page.textContent('#signoff-why'), `run ${run} has an open spill (3): sign off after it closes`);
  assert.equal(await page.isDisabled('#signoff-button'), true);

  // Spill 3 closes without its counters: UNKNOWN (missing input), which needs a shifter's decision.
  const end = JSON.parse(end3);
  delete end.counters;
  await ingest(server.url, [JSON.stringify(end)]);
  assert.equal((await getJson(`${server.url}/api/v1/runs/${run}/spills/3`)).flag, 'UNKNOWN');
  await page.waitForFunction(() => /UNKNOWN/.test(document.getElementById('signoff-why').textContent), null, { timeout: 15000 });
  assert.equal(await page.textContent('#signoff-why'),
    'spill 3 is UNKNOWN without a manual flag: flag it (GOOD, BAD or EXCLUDED) first');
  assert.equal(await page.isDisabled('#signoff-button'), true);
  // Its reasons: three, the cause first, and "+N more" that lists the rest in place.
  const reasons = (await getJson(`${server.url}/api/v1/runs/${run}/spills/3`)).reasons;
  assert.ok(reasons.length > 4, reasons.join(' | '));
  const cell = '#spills tr[data-spill="3"] .reasons-cell';
  assert.deepEqual(await page.$$eval(cell + ' li:not(.more)', lis => lis.map(li => li.textContent)), reasons.slice(0, 3));
  assert.equal(await page.textContent(cell + ' li.more button'), `+${reasons.length - 3} more`);
  await page.click(cell + ' li.more button');
  await page.waitForFunction(sel => !document.querySelector(sel + ' li.more'), cell);
  assert.deepEqual(await page.$$eval(cell + ' li', lis => lis.map(li => li.textContent)), reasons);
  assert.equal(new URL(page.url()).pathname, '/run.html', 'the button opens no explorer');

  await page.fill('#flag-form input[name="spills"]', '3');
  await page.selectOption('#flag-form select[name="flag"]', 'EXCLUDED');
  await page.fill('#flag-form input[name="shifter"]', 'A. Shifter');
  await page.fill('#flag-form input[name="comment"]', 'no counters from the DAQ for this spill');
  await page.click('#flag-form button[type="submit"]');
  await page.waitForFunction(() => !document.getElementById('signoff-button').disabled, null, { timeout: 15000 });
  assert.equal(await page.textContent('#signoff-why'), '');
  assert.deepEqual(problems, []);
});
