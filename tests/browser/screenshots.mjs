// Makes docs/screenshots/: every page at 1366×768 and 1920×1080 (what is on the screen, not the
// whole page) in a fault case, from the real server and simulator. Not a test; run it after a
// change to the pages (docs/dashboards.md):
//
//   SW_SERVER=build/spillwatch SW_COLLECT=build/spillwatch-collect SW_CONFIG=config/spillwatch.json \
//     SW_WWW=www node tests/browser/screenshots.mjs docs/screenshots
//
// The fault case: run 41 (ended) with a beam momentum shift on spill 4, a dead HCAL module on spills
// 7-9, a halo on spill 11 and a manual flag; run 42 (running) with dead time on spill 3, then a spill
// that never ends: the DAQ stalls, the spill times out as incomplete and the stall alarm fires. An
// acknowledged alarm, a silence and a handover note are there too.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { env, launch, run, startServer } from './common.mjs';

const out = resolve(process.argv[2] || 'docs/screenshots');
const dir = mkdtempSync(join(tmpdir(), 'swshots-'));
const sleep = (ms) => new Promise(r => setTimeout(r, ms));

// The profile with a stall alarm after 12 s instead of 60 s, so the picture does not take a minute.
const base = JSON.parse(readFileSync(env('SW_CONFIG'), 'utf8'));
const prof = JSON.parse(readFileSync(join(dirname(env('SW_CONFIG')), base.profile), 'utf8'));
for (const a of prof.alarms) if (a.name === 'daq_stalled') Object.assign(a, { above: 12, summary: a.summary.replace('60 s', '12 s') });
writeFileSync(join(dir, 'profile.json'), JSON.stringify(prof));
const server = await startServer(dir, { profile: join(dir, 'profile.json'), spill_timeout: 10,
                                        display: { timezone: 'Europe/Zurich' } });
const url = server.url;
const call = async (method, path, body) => {
  const r = await fetch(url + path, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};

try {
  // Runs on the SPS cycle, as a real one comes (spills every 16.8 s, 4.8 s long), ending about now:
  // the simulator's records with their times moved; sent one spill per request.
  const CYCLE = 16.8, LENGTH = 4.8, now = Date.now() / 1000;
  const records = async (...args) => (await run(env('SW_COLLECT'), ['sim', '--out', '-', '--quiet', ...args],
                                                { maxBuffer: 1 << 30 })).stdout.trim().split('\n').map(l => JSON.parse(l));
  const send = async (recs, t0) => {
    let chunk = [];
    const flush = async () => {
      const resp = await fetch(url + '/api/v1/ingest', { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' },
                                                         body: chunk.map(r => JSON.stringify(r)).join('\n') + '\n' });
      if (!resp.ok) throw new Error('ingest: ' + resp.status + ' ' + await resp.text());
      chunk = [];
    };
    let last = t0;
    for (const r of recs) {
      if (r.type === 'run_start') r.time = t0 - 30;
      if (r.type === 'spill_start') r.time = last = t0 + (r.spill - 1) * CYCLE;
      if (r.type === 'spill_end') r.time = last + LENGTH;
      if (r.type === 'run_end') r.time = last + LENGTH + 20;
      chunk.push(r);
      if (r.type === 'spill_end' || r.type === 'run_end' || chunk.length >= 5) await flush();
    }
    if (chunk.length) await flush();
  };
  await send(await records('--run', '41', '--spills', '14', '--seed', '3', '--mot-goal', '4e7', '--fault',
                           'beam_momentum@4', '--fault', 'hcal_dead@7-9', '--fault', 'halo@11'),
             now - 23 * CYCLE - 120);
  await call('PUT', '/api/v1/runs/41/spills/12/flag', { flag: 'BAD', reason: 'detector problem', shifter: 'A. Shifter',
                                                        comment: 'HCAL HV trip seen on the slow control' });
  // run 42 goes on: no run_end, and spill 7 never ends (the DAQ stalls)
  await send((await records('--run', '42', '--spills', '7', '--seed', '4', '--fault', 'dead_time@3', '--mot-goal', '4e7'))
    .filter(r => r.type !== 'run_end' && !(r.type === 'spill_end' && r.spill === 7)), now - 6 * CYCLE - LENGTH);
  await call('POST', '/api/v1/silences', { alarm: 'veto_rate_high', duration: 7200, creator: 'B. Expert',
                                           comment: 'halo studies with the beam group until the end of the shift' });
  await sleep(30000); // the spill times out, the stall alarm fires, the data is stale (1.5 cycles)
  await call('POST', '/api/v1/alarms/dead_time_high/ack', { shifter: 'A. Shifter', comment: 'DAQ expert called' })
    .catch(() => {}); // only when it fires
  await call('POST', '/api/v1/shift/notes', { shifter: 'A. Shifter', from: Date.now() / 1000 - 8 * 3600,
                                              to: Date.now() / 1000,
                                              text: 'HCAL module 2 dead in run 41 spills 7-9, back after the HV reset. ' +
                                                    'Run 42: DAQ stalled at spill 7, DAQ expert informed.' })
    .catch(e => console.error('handover note: ' + e.message));

  const pages = [
    ['overview', '/'],
    ['run', '/run.html?run=41'],
    ['explorer', '/explorer.html?h=hcal2&scope=spill&run=41&spills=8&ref=last-good&check=hcal2_mip'],
    ['explorer-range', '/explorer.html?h=hcal2&scope=run&run=41'],
    ['alarms', '/alarms.html'],
    ['shift', '/shift.html'],
  ];
  const browser = await launch();
  for (const [w, h] of [[1366, 768], [1920, 1080]]) {
    const page = await browser.newPage({ viewport: { width: w, height: h } });
    for (const [name, path] of pages) {
      await page.goto(url + path);
      await page.waitForFunction(() => Number(document.body.dataset.updates || document.body.dataset.loaded || 0) > 0,
                                 null, { timeout: 20000 }).catch(() => {});
      await sleep(1500); // charts drawn, the stream connected
      await page.screenshot({ path: join(out, `${name}-${w}.png`) });
      console.log(`${name}-${w}.png`);
    }
    await page.close();
  }
  await browser.close();
} finally {
  server.proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
