// End of spill -> the overview's last-spill tile, measured in headless Chromium: for each spill the
// time from just before its spill_end POST leaves to the moment the tile shows it (a MutationObserver
// in the page; both clocks are this machine's Date.now()). Prints p50, p90, max.
//   SW_SERVER=build/spillwatch SW_COLLECT=build/spillwatch-collect SW_CONFIG=config/spillwatch.json \
//     SW_WWW=www node bench/overview-latency.mjs [spills]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, startServer } from '../tests/browser/common.mjs';

const N = Number(process.argv[2] || 30);
const dir = mkdtempSync(join(tmpdir(), 'swlatency-'));
const server = await startServer(dir);
const browser = await launch();
const post = (lines, seq) => fetch(server.url + '/api/v1/ingest', {
  method: 'POST', body: lines.map(l => JSON.stringify(l)).join('\n') + '\n',
  headers: { 'Content-Type': 'application/x-ndjson', 'X-Spillwatch-Source': 'bench', 'X-Spillwatch-Seq': String(seq) },
}).then(r => r.json());
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(server.url + '/');
  await page.waitForFunction(() => document.body.dataset.stream === 'open');
  await page.evaluate(() => {
    window.seen = {};
    new MutationObserver(() => { const s = document.getElementById('last-spill').textContent; window.seen[s] ??= Date.now(); })
      .observe(document.getElementById('last-spill'), { childList: true, characterData: true, subtree: true });
  });
  const lat = [];
  let seq = 0;
  for (let s = 1; s <= N; s++) {
    const events = Array.from({ length: 50 }, (_, i) => ({ type: 'event', run: 1, spill: s, event: i + 1, trigger: 'physics', p_in: 160 }));
    await post([{ type: 'spill_start', run: 1, spill: s }, ...events], ++seq);
    const t0 = Date.now();
    await post([{ type: 'spill_end', run: 1, spill: s, duration: 4.8, counters: { mot: 3e6, recorded: 50 } }], ++seq);
    await page.waitForFunction(n => window.seen[String(n)] !== undefined, s, { timeout: 10000 });
    lat.push((await page.evaluate(n => window.seen[String(n)], s)) - t0);
    await new Promise(r => setTimeout(r, 300));
  }
  lat.sort((a, b) => a - b);
  const q = p => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  console.log(`end of spill -> overview tile over ${N} spills: p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${lat[lat.length - 1]} ms`);
} finally {
  await browser.close();
  server.proc.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
