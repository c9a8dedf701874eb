// Browser test of the alarms page: a silence stays visible while the rule it mutes is inactive (in
// the active table and in the silences table, with the rule's state now), and the history is folded
// into episodes with every transition one click away; each episode says who was notified through
// which hook and whether it arrived (a real loopback webhook receiver that fails the first attempt,
// and a hook on a dead port: red, with curl's error). The real server and simulator, headless
// Chromium; the display zone Asia/Tokyo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { env, setup, sim, watch } from './common.mjs';
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

// A webhook receiver on loopback that answers 500 to its first POST, then 200.
async function flakyReceiver(t) {
  const got = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', c => { body += c; });
    req.on('end', () => {
      got.push(JSON.parse(body).status);
      if (got.length === 1) { res.writeHead(500); res.end('receiver busy, try later'); } else { res.writeHead(200); res.end('ok'); }
    });
  });
  await new Promise(r => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  return { port: srv.address().port, got };
}

// A loopback port nobody listens on.
async function deadPort() {
  const srv = createServer();
  await new Promise(r => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise(r => srv.close(r));
  return port;
}

// The test profile with dead_time_high notifying the hooks given, and bad_spills (latched) the
// hooks in `latched` (in a directory of test t).
function profileWithHooks(t, hooks, latched = []) {
  const dir = mkdtempSync(join(tmpdir(), 'swprofile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = JSON.parse(readFileSync(env('SW_CONFIG'), 'utf8'));
  const prof = JSON.parse(readFileSync(join(dirname(env('SW_CONFIG')), base.profile), 'utf8'));
  prof.hooks = hooks;
  for (const a of prof.alarms) if (a.name === 'dead_time_high') a.hooks = hooks.map(h => h.name).filter(h => !latched.includes(h));
  for (const a of prof.alarms) if (a.name === 'bad_spills') a.hooks = latched;
  const path = join(dir, 'profile-hooks.json');
  writeFileSync(path, JSON.stringify(prof));
  return path;
}

test('alarms page: each episode shows who was notified, through which hook, and whether it arrived', async (t) => {
  const rx = await flakyReceiver(t);
  const desk = await flakyReceiver(t);
  const dead = await deadPort();
  const profile = profileWithHooks(t, [
    { name: 'shift', type: 'webhook', url: `http://127.0.0.1:${rx.port}/hook`, timeout: 2 },
    { name: 'pager', type: 'webhook', url: `http://127.0.0.1:${dead}/`, timeout: 2 },
    { name: 'desk', type: 'webhook', url: `http://127.0.0.1:${desk.port}/`, timeout: 2, repeat_interval: 1 }], ['desk']);
  const { dir, server, browser } = await setup(t, { display: { timezone: ZONE }, profile });
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  const api = (path) => getJson(server.url + path);
  // Dead time high on spills 2-3: fires at 2, resolves at 4. HCAL dead on 4-5: the latched
  // bad_spills fires at 5 and stays firing, its notice repeated every second to the desk.
  await sim(server.url, '--run', '51', '--spills', '5', '--fault', 'dead_time@2-3', '--fault', 'hcal_dead@4-5');
  // Wait for the shift hook's second attempt of the firing notice and its resolved notice.
  const until = Date.now() + 20000;
  let log = [];
  while (Date.now() < until) {
    log = (await api('/api/v1/alarms/dead_time_high/deliveries')).deliveries;
    if (log.filter(r => r.hook === 'shift' && r.outcome === 'delivered').length >= 2) break;
    await new Promise(r => setTimeout(r, 200));
  }
  assert.deepEqual(rx.got, ['firing', 'firing', 'resolved']);
  while (Date.now() < until + 10000 && desk.got.length < 4) await new Promise(r => setTimeout(r, 200));
  assert.ok(desk.got.length >= 4 && desk.got.every(s => s === 'firing'), desk.got.join(' '));

  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const problems = watch(page);
  await page.goto(server.url + '/alarms.html');
  const row = '#episodes tbody tr[data-alarm="dead_time_high"]';
  await page.waitForSelector(row + ' li.delivery[data-hook="shift"][data-status="resolved"]', { timeout: 15000 });
  // The shift hook: the firing notice arrived at the second attempt, the first one's error shown.
  const fired = row + ' li.delivery[data-hook="shift"][data-status="firing"]';
  assert.equal(await page.getAttribute(fired, 'data-outcome'), 'delivered');
  assert.equal(await page.getAttribute(fired, 'data-attempts'), '2');
  assert.equal(await page.textContent(fired),
    'shift · firing: delivered (HTTP 200) after 2 attempts — attempt 1: HTTP 500: receiver busy, try later');
  assert.equal(await page.textContent(row + ' li.delivery[data-hook="shift"][data-status="resolved"]'),
    'shift · resolved: delivered (HTTP 200)');
  // The pager on a dead port: failed, in red, with curl's error.
  const pager = row + ' li.delivery[data-hook="pager"][data-status="firing"]';
  await page.waitForSelector(pager, { timeout: 15000 });
  assert.equal(await page.getAttribute(pager, 'class'), 'delivery failed');
  assert.match(await page.textContent(pager), /^pager · firing: NOT delivered yet: attempt \d+ failed, retrying — attempt \d+: Failed to connect to 127\.0\.0\.1 port \d+/);
  // The desk's repeats share one line: the first notice failed once, then every one arrived.
  const repeats = '#episodes tbody tr[data-alarm="bad_spills"] li.delivery[data-hook="desk"][data-status="firing"]';
  await page.waitForFunction(sel => Number(document.querySelector(sel)?.dataset.notices) >= 3, repeats, { timeout: 15000 });
  assert.equal(await page.getAttribute(repeats, 'data-outcome'), 'delivered');
  assert.match(await page.textContent(repeats),
    /^desk · firing: delivered \(HTTP 200\) · (\d+) notices \(repeats\): \1 delivered$/);
  const color = await page.$eval(pager, e => getComputedStyle(e).color);
  assert.equal(color, 'rgb(224, 67, 58)'); // --bad
  assert.equal(await page.$eval(fired, e => getComputedStyle(e).color), 'rgb(47, 180, 90)'); // --good
  await page.screenshot({ path: join(artifacts, 'alarms-page-deliveries.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
