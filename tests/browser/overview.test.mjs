// Browser test of the shift overview: the real server and the real simulator, the page in
// headless Debian Chromium (playwright-core). The page must update by itself, show the run, the
// last spill's flag with reasons, trends and histograms, and log no error.
//
// Env: SW_SERVER, SW_COLLECT, SW_CONFIG, SW_WWW (set by CTest), CHROMIUM (default /usr/bin/chromium),
// SW_ARTIFACTS (where the screenshot goes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (CTest sets it)`);
  return v;
};

async function startServer(dir) {
  const log = join(dir, 'server.log');
  const { openSync } = await import('node:fs');
  const fd = openSync(log, 'w');
  const proc = spawn(env('SW_SERVER'), ['--config', env('SW_CONFIG'), '--listen', '127.0.0.1:0',
    '--db', join(dir, 'sw.db'), '--www', env('SW_WWW')], { stdio: ['ignore', fd, fd] });
  for (let i = 0; i < 200; i++) {
    const m = readFileSync(log, 'utf8').match(/listening on (http:\/\/[^/]+)\//);
    if (m) return { proc, url: m[1], log };
    if (proc.exitCode !== null) break;
    await new Promise(r => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('server did not start:\n' + readFileSync(log, 'utf8'));
}

const sim = (url, ...args) => run(env('SW_COLLECT'), ['sim', '--url', url, '--quiet', '--fast', ...args],
  { timeout: 120000 });

test('shift overview updates by itself while the simulator runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swbrowser-'));
  const server = await startServer(dir);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  t.after(async () => {
    await browser.close();
    server.proc.kill('SIGTERM');
    await new Promise(r => server.proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems = [];
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('console', m => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('requestfailed', r => problems.push('request failed: ' + r.url()));
  page.on('response', r => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });

  await page.goto(server.url + '/');
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1);
  assert.equal(await page.textContent('#run'), '—', 'empty database: no run yet');
  assert.equal(await page.evaluate(() => typeof Chart), 'function', 'Chart.js served from npm');

  await sim(server.url, '--run', '7', '--spills', '3', '--scale', '0.1', '--fault', 'hcal_dead@3');
  // No reload: the page must pick the run up by polling.
  await page.waitForFunction(() => document.getElementById('run').textContent === '7', null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '3', null, { timeout: 15000 });
  const flag = await page.textContent('#last-flag');
  assert.ok(['GOOD', 'WARN', 'BAD', 'UNKNOWN'].includes(flag), flag);
  assert.equal(flag, 'BAD');
  const reasons = await page.$$eval('#last-reasons li', lis => lis.map(li => li.textContent));
  assert.ok(reasons.some(r => r.startsWith('hcal2_mip [detector]:')), reasons.join(' | '));
  assert.match(await page.textContent('#run-mot'), /^[0-9.]+ [kM]$/);
  assert.equal(await page.textContent('#run-spills'), '3');

  const chartData = () => page.evaluate(() => {
    const get = id => Chart.getChart(document.getElementById(id)).data.datasets[0].data;
    const sum = a => a.reduce((x, y) => x + y, 0);
    return { rate: get('trend-rate').length, mot: get('trend-mot').length, motValues: get('trend-mot'),
      p_in: sum(get('h-p_in')), hcal2: sum(get('h-hcal2')), ecal: sum(get('h-ecal')) };
  });
  await page.waitForFunction(() => Chart.getChart(document.getElementById('trend-mot')).data.datasets[0].data.length === 3);
  let d = await chartData();
  assert.equal(d.rate, 3);
  assert.ok(d.motValues.every(v => v > 0));
  assert.ok(d.p_in > 0 && d.ecal > 0, JSON.stringify(d));
  // hcal2 is dead in spill 3: its live histogram holds only pedestal entries near 0
  const hcal2 = await page.evaluate(() => Chart.getChart(document.getElementById('h-hcal2')).data.datasets[0].data);
  assert.ok(hcal2[0] > 0 && hcal2.slice(10).every(v => v === 0), 'dead module at pedestal');

  // Two more spills, still without reload.
  await sim(server.url, '--run', '7', '--first-spill', '4', '--spills', '2', '--scale', '0.1', '--seed', '9');
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '5', null, { timeout: 15000 });
  await page.waitForFunction(() => Chart.getChart(document.getElementById('trend-rate')).data.datasets[0].data.length === 5);
  assert.equal(await page.textContent('#run-spills'), '5');
  // Text from the data is inserted as text: no element was created from it.
  assert.equal(await page.$$eval('#last-reasons li *', els => els.length), 0);

  const artifacts = process.env.SW_ARTIFACTS || dir;
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'overview.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
