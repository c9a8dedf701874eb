// Set-up shared by the browser tests: the real server on a fresh database, the real simulator, and
// headless Debian Chromium (playwright-core).
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const run = promisify(execFile);
export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (CTest sets it)`);
  return v;
};

// config: keys that override SW_CONFIG's (written next to the database; the profile stays SW_CONFIG's).
// listen: HOST:PORT (a restart on the port the page knows).
export async function startServer(dir, config = null, listen = '127.0.0.1:0') {
  const log = join(dir, 'server.log');
  const { openSync, writeFileSync } = await import('node:fs');
  let configPath = env('SW_CONFIG');
  if (config) {
    const base = JSON.parse(readFileSync(configPath, 'utf8'));
    base.profile = join(dirname(configPath), base.profile);
    configPath = join(dir, 'spillwatch-test.json');
    writeFileSync(configPath, JSON.stringify({ ...base, ...config }));
  }
  const fd = openSync(log, 'w');
  const proc = spawn(env('SW_SERVER'), ['--config', configPath, '--listen', listen,
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

export const sim = (url, ...args) => run(env('SW_COLLECT'), ['sim', '--url', url, '--quiet', '--fast', ...args],
  { timeout: 120000 });


export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// Collects everything that went wrong on a page: errors, failed requests, HTTP errors, console
// errors (except those containing one of the expected strings: the browser logs a refused request
// without its URL, which the HTTP error entry carries).
export function watch(page, expected = []) {
  const problems = [];
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('console', m => { if (m.type() === 'error' && !expected.some(s => m.text().includes(String(s)))) problems.push('console: ' + m.text()); });
  // Leaving a page aborts its event stream: not a problem.
  page.on('requestfailed', r => {
    if (!(new URL(r.url()).pathname === '/api/v1/stream' && /ERR_ABORTED/.test(r.failure()?.errorText || '')))
      problems.push('request failed: ' + r.url() + ' ' + (r.failure()?.errorText || ''));
  });
  page.on('response', r => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return problems;
}

// A fresh server (own database in a temporary directory; config: as for startServer) and a browser
// for test t; both go, with the directory, when the test ends.
export async function setup(t, config = null) {
  const dir = mkdtempSync(join(tmpdir(), 'swbrowser-'));
  const server = await startServer(dir, config);
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    server.proc.kill('SIGTERM');
    await new Promise(r => server.proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, server, browser };
}
