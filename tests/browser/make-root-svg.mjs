// Draws the pictures of docs/analysis.md: a real ROOT-JSON export of the real server, fed by the
// simulator, drawn by the jsroot npm package (root-read.mjs, a process per picture).
// Run from tests/browser after a build:
//   SW_SERVER=../../build/spillwatch SW_COLLECT=../../build/spillwatch-collect \
//   SW_CONFIG=../../config/spillwatch.json SW_WWW=../../www node make-root-svg.mjs [OUTDIR]
// OUTDIR defaults to docs/images of this repository.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, sim } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] || join(here, '..', '..', 'docs', 'images'));
const dir = mkdtempSync(join(tmpdir(), 'swrootsvg-'));
const server = await startServer(dir);
try {
  await sim(server.url, '--run', '1234', '--spills', '10');
  for (const [name, option] of [['p_in', 'hist'], ['xy_tgt', 'colz'], ['trigger', 'hist']]) {
    const resp = await fetch(`${server.url}/api/v1/histograms/${name}?run=1234&format=root`);
    if (!resp.ok) throw new Error(`${name}: HTTP ${resp.status}`);
    const file = join(dir, name + '.json');
    writeFileSync(file, await resp.text());
    const svg = join(outDir, `jsroot-${name}.svg`);
    await promisify(execFile)(process.execPath, [join(here, 'root-read.mjs'), file, option, svg], { timeout: 120000 });
    console.log('wrote', svg);
  }
} finally {
  server.proc.kill('SIGTERM');
  await new Promise(r => server.proc.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
