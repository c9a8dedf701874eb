// Browser test of the shift summary: the range as text in the display zone (no browser date picker),
// the BAD spills per run compressed into ranges with their reasons (a fault from spill 1, a fault over
// spills 4-7), a handover note saved, listed and printed, and the alarm timeline folded into episodes.
// The real server and simulator, headless Chromium; the display zone Asia/Tokyo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, sim, watch } from './common.mjs';
import { getJson, wallTime } from './ingest.mjs';

const ZONE = 'Asia/Tokyo';
const post = async (url, body) => {
  const resp = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(resp.ok, `${url}: ${resp.status}`);
  return resp.json();
};

test('shift summary: BAD ranges with reasons, a handover note in print, the alarm episodes', async (t) => {
  const { dir, server, browser } = await setup(t, { display: { timezone: ZONE } });
  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  const api = (path) => getJson(server.url + path);
  // Run 40: the momentum off from its first spill. Run 41: a lone bad spill (the bad_spills rule goes
  // pending and back: noise), the momentum off over spills 4-7 (it fires, then resolves), dead time
  // on the last spill (dead_time_high fires and stays).
  await sim(server.url, '--run', '40', '--spills', '6', '--fault', 'beam_momentum@1-3');
  await sim(server.url, '--run', '41', '--spills', '10', '--fault', 'hcal_dead@2', '--fault', 'beam_momentum@4-7',
    '--fault', 'dead_time@10');
  await post(server.url + '/api/v1/alarms/dead_time_high/ack', { shifter: 'C. Night', comment: 'DAQ expert called' });

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const problems = watch(page);
  await page.goto(server.url + '/shift.html');
  await page.waitForFunction(() => Number(document.body.dataset.loaded || 0) >= 1, null, { timeout: 15000 });

  // The range: text in the display zone, minutes, no datetime-local picker; the zone on the page.
  assert.equal(await page.getAttribute('#from', 'type'), 'text');
  const url0 = new URL(page.url()).searchParams;
  assert.equal(await page.inputValue('#from'), wallTime(Number(url0.get('from')), ZONE).slice(0, 16));
  assert.equal(await page.inputValue('#to'), wallTime(Number(url0.get('to')), ZONE).slice(0, 16));
  assert.match(await page.textContent('#range-zone'), /^Asia\/Tokyo \(UTC\+9\)$/);
  assert.match(await page.textContent('#zone-line'), /Asia\/Tokyo \(UTC\+9\)/);
  assert.equal(await page.textContent('#total-spills'), '16');

  // BAD spills per run as ranges, with the reason.
  const pIn = (await api('/api/v1/checks')).checks.find(c => c.name === 'p_in_mean');
  const row = (run, first, last) => `#problems tr[data-run="${run}"][data-first="${first}"][data-last="${last}"]`;
  for (const [run, first, last] of [[40, 1, 3], [41, 4, 7]]) {
    assert.equal(await page.textContent(row(run, first, last) + ' td:nth-child(2)'), `${first}–${last}`);
    assert.equal(await page.textContent(row(run, first, last) + ' .badge'), 'BAD');
    assert.ok((await page.textContent(row(run, first, last) + ' .reasons-cell li')).startsWith(pIn.title + ': '));
  }
  // Every BAD or UNKNOWN spill in exactly one row, nothing else.
  const rows = await page.$$eval('#problems tbody tr', trs => trs.map(tr => [Number(tr.dataset.run), Number(tr.dataset.first), Number(tr.dataset.last)]));
  for (const run of [40, 41]) {
    const bad = (await api(`/api/v1/runs/${run}/spills`)).spills.filter(s => s.flag === 'BAD' || s.flag === 'UNKNOWN').map(s => s.spill);
    const covered = rows.filter(r => r[0] === run).flatMap(([, a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
    assert.deepEqual(covered, bad, `run ${run}`);
  }

  // The alarm timeline: one row per episode, none for the pending noise.
  const hist = (await api('/api/v1/alarms?history=1')).history.slice().reverse();
  const fired = hist.filter(h => h.to === 'firing' && h.from !== 'acknowledged');
  const noise = hist.filter(h => h.from === 'pending' && (h.to === 'inactive' || h.to === 'resolved'));
  assert.ok(noise.length >= 1, 'the lone bad spill left a pending step');
  const episodes = await page.$$eval('#alarms tbody tr', trs => trs.map(tr => ({ alarm: tr.dataset.alarm, text: tr.cells[2].textContent })));
  assert.equal(episodes.length, fired.length);
  assert.ok(hist.length > episodes.length);
  assert.ok(episodes.every(e => !/pending/.test(e.text)), JSON.stringify(episodes));
  // The first episode: firing → resolved, the start in the display zone, the end as a clock on the same day.
  const start = fired[0];
  const end = hist.find(h => h.id > start.id && h.alarm === start.alarm && h.from === 'firing');
  assert.equal(episodes[0].alarm, start.alarm);
  const [t0, t1] = [wallTime(start.time, ZONE), wallTime(end.time, ZONE)];
  assert.equal(episodes[0].text, `firing ${t0} → ${end.to} ${t0.slice(0, 10) === t1.slice(0, 10) ? t1.slice(11) : t1}`);
  const dead = episodes.find(e => e.alarm === 'dead_time_high');
  assert.match(dead.text, /^firing \d{4}-\d\d-\d\d \d\d:\d\d:\d\d → still acknowledged, acknowledged by C\. Night \(\d\d:\d\d:\d\d: DAQ expert called\)$/);
  assert.match(await page.textContent('#alarm-quiet'), new RegExp(`bad_spills ${noise.filter(h => h.alarm === 'bad_spills').length}×`));

  // A handover note: saved, listed with who and when, shown as typed.
  const text = 'HCAL2 HV tripped twice, expert called.\nWatch the momentum: <b>10 GeV/c low</b> in runs 40, 41.';
  await page.fill('#note-text', text);
  await page.fill('#note-form input[name="shifter"]', 'C. Night');
  await page.click('#note-form button[type="submit"]');
  await page.waitForSelector('#notes li.note', { timeout: 15000 });
  const notes = (await api('/api/v1/shift/notes')).notes;
  assert.equal(notes.length, 1);
  assert.equal(notes[0].text, text);
  assert.equal(notes[0].shifter, 'C. Night');
  const range = new URL(page.url()).searchParams;
  assert.deepEqual([notes[0].from, notes[0].to], [Number(range.get('from')), Number(range.get('to'))]);
  assert.equal(await page.textContent('#notes li.note .note-text'), text);
  assert.equal(await page.$$eval('#notes b', b => b.length), 0);
  assert.match(await page.textContent('#notes li.note .note-head'), new RegExp(`^${wallTime(notes[0].time, ZONE)} · C\\. Night`));
  assert.equal(await page.inputValue('#note-text'), '', 'the text area is cleared once saved');
  // Listed again on a reload.
  await page.reload();
  await page.waitForFunction(() => Number(document.body.dataset.loaded || 0) >= 1, null, { timeout: 15000 });
  assert.equal(await page.textContent('#notes li.note .note-text'), text);

  // The print view: the note, the ranges, the episodes and the zone; no controls.
  await page.emulateMedia({ media: 'print' });
  for (const sel of ['#notes li.note', '#problems', '#alarms', '#zone-line', '#heading'])
    assert.equal(await page.isVisible(sel), true, sel);
  for (const sel of ['#note-form', '#range-form', 'header nav'])
    assert.equal(await page.isVisible(sel), false, sel);
  assert.match(await page.textContent('#zone-line'), /Asia\/Tokyo \(UTC\+9\)/);
  await page.screenshot({ path: join(artifacts, 'shift-print.png'), fullPage: true });
  await page.emulateMedia({ media: 'screen' });
  await page.screenshot({ path: join(artifacts, 'shift-summary.png'), fullPage: true });

  // A range typed in: "YYYY-MM-DD HH:MM" in the display zone (Tokyo: UTC+9, no DST).
  const later = Math.ceil(Date.now() / 60000) * 60 + 3600;
  const asText = (u) => wallTime(u, ZONE).slice(0, 16);
  const loaded = await page.evaluate(() => Number(document.body.dataset.loaded));
  await page.fill('#from', asText(later));
  await page.fill('#to', asText(later + 3600));
  await page.click('#range-form button[type="submit"]');
  await page.waitForFunction(n => Number(document.body.dataset.loaded) > n, loaded, { timeout: 15000 });
  assert.equal(await page.textContent('#total-spills'), '0');
  assert.equal(new URL(page.url()).searchParams.get('from'), String(later));
  assert.equal(await page.isVisible('#no-problems'), true);
  await page.fill('#from', '12/02/2026 3:00 AM');
  await page.click('#range-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('range-msg').className.includes('err'));
  assert.match(await page.textContent('#range-msg'), /YYYY-MM-DD HH:MM \(Asia\/Tokyo/);

  assert.deepEqual(problems, []);
});
