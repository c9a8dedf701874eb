// CTest root_export (label root): spillwatch's ?format=root read by ROOT's own JavaScript reader.
// The real server on a fresh database, fed by the real simulator (a run with a 1D, a 2D and a
// category-label histogram, one spill made BAD); every export is parsed, drawn headless to SVG and
// its statistics computed by the jsroot npm package, each in a node process of its own
// (root-read.mjs; jsroot caches per type), and compared with spillwatch's own JSON of the same scope.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, sim } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const node = promisify(execFile);
const close = (a, b, what) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: jsroot ${a}, spillwatch ${b}`);

async function get(url) {
  const resp = await fetch(url);
  return { status: resp.status, text: await resp.text(), disposition: resp.headers.get('content-disposition') };
}

// jsroot's reading of the text in a fresh node process.
async function readWithJsroot(dir, text, option, tag) {
  const file = join(dir, tag + '.json');
  writeFileSync(file, text);
  const { stdout } = await node(process.execPath, [join(here, 'root-read.mjs'), file, option], { timeout: 120000, maxBuffer: 1 << 26 });
  return JSON.parse(stdout);
}

let dir, server, base;
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'swroot-'));
  server = await startServer(dir);
  base = server.url + '/api/v1';
  await sim(server.url, '--run', '31', '--spills', '5', '--fault', 'beam_momentum@3');
});
test.after(async () => {
  server.proc.kill('SIGTERM');
  const code = await new Promise(r => server.proc.once('exit', r));
  // a clean exit, and (in the sanitizer build) no report of ASan or UBSan
  const log = readFileSync(server.log, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'server exit status; log:\n' + log.slice(-3000));
  assert.ok(!/ERROR: AddressSanitizer|runtime error:/.test(log), log.slice(-3000));
});

const cases = [
  { name: 'p_in', query: 'run=31&spill=2', option: 'hist', file: 'spillwatch-run31-spill2-p_in.json' },
  { name: 'p_in', query: 'run=31', option: 'hist', file: 'spillwatch-run31-p_in.json' },
  { name: 'p_in', query: 'run=31&quality=good', option: 'hist', file: 'spillwatch-run31-good-p_in.json' },
  { name: 'p_in', query: '', option: 'hist', file: 'spillwatch-live-run31-spill5-p_in.json' },
  { name: 'xy_tgt', query: 'run=31', option: 'colz', file: 'spillwatch-run31-xy_tgt.json' },
  { name: 'xy_tgt', query: 'run=31&spills=2-4', option: 'colz', file: 'spillwatch-run31-spills2-4-xy_tgt.json' },
  { name: 'trigger', query: 'run=31', option: 'hist', file: 'spillwatch-run31-trigger.json' },
  { name: 'ecal_occ', query: 'last=2', option: 'hist', file: 'spillwatch-last2-ecal_occ.json' },
];

for (const c of cases) {
  test(`${c.name}?${c.query || '(live)'} read by jsroot (${c.option})`, async () => {
    const q = c.query ? c.query + '&' : '';
    const own = JSON.parse((await get(`${base}/histograms/${c.name}?${c.query}`)).text);
    const root = await get(`${base}/histograms/${c.name}?${q}format=root`);
    assert.equal(root.status, 200, root.text);
    assert.equal(root.disposition, `attachment; filename="${c.file}"`);
    assert.ok(own.entries > 0, 'the scope has entries');
    const j = await readWithJsroot(dir, root.text, c.option, `${c.name}-${cases.indexOf(c)}`);
    const two = !!own.y;
    assert.equal(j.typename, two ? 'TH2D' : 'TH1D');
    assert.equal(j.name, c.name);
    assert.equal(j.title, own.title);
    const nx = own.x.bins, ny = two ? own.y.bins : 0;
    assert.equal(j.nx, nx);
    assert.equal(j.ncells, (nx + 2) * (two ? ny + 2 : 1));
    assert.equal(j.arrayLength, j.ncells);
    // every cell through jsroot's getBinContent, in ROOT's numbering
    let edges = 0, total = 0;
    for (let iy = 0; iy <= (two ? ny + 1 : 0); iy++)
      for (let ix = 0; ix <= nx + 1; ix++) {
        const v = j.cells[ix + (nx + 2) * iy];
        total += v;
        const inside = ix >= 1 && ix <= nx && (!two || (iy >= 1 && iy <= ny));
        if (inside) assert.equal(v, own.counts[(two ? (iy - 1) * nx : 0) + ix - 1], `cell (${ix}, ${iy})`);
        else edges += v;
      }
    if (!two) {
      assert.equal(j.cells[0], own.underflow, 'underflow cell');
      assert.equal(j.cells[nx + 1], own.overflow, 'overflow cell');
    }
    assert.equal(edges, own.underflow + own.overflow, 'cells outside the axes');
    assert.equal(total, own.entries, 'every fill is in a cell');
    // the statistics jsroot's painter computes (the stat box), as ROOT does
    assert.equal(j.stat.entries, own.entries);
    close(j.stat.meanx, own.mean, 'mean');
    close(j.stat.rmsx, own.rms, 'RMS');
    if (two) {
      close(j.stat.meany, own.mean_y, 'mean y');
      close(j.stat.rmsy, own.rms_y, 'RMS y');
    }
    assert.equal(j.xtitle, c.name === 'ecal_occ' ? 'ecal_cells [cell]' : c.name === 'trigger' ? 'trigger' : `${c.name === 'xy_tgt' ? 'x_tgt' : c.name} [${own.unit}]`);
    // a real drawing: axes, the histogram, its title
    assert.ok(j.svgBytes > 2500, `SVG of ${j.svgBytes} bytes`);
    assert.ok(j.svgPaths >= 4, `SVG with ${j.svgPaths} paths`);
    assert.ok(j.svgHasTitle, 'SVG shows the title');
    if (own.x.labels) {
      assert.deepEqual(j.labels, own.x.labels.map((s, i) => [i + 1, s]));
      assert.deepEqual(j.svgLabels, own.x.labels.map(() => true), 'SVG shows every category label');
    } else assert.equal(j.labels, null);
  });
}

test('the bundle of a scope is a TList of every histogram', async () => {
  const defs = JSON.parse((await get(`${base}/histograms`)).text).histograms.map(h => h.name);
  const resp = await get(`${base}/histograms?format=root&run=31&spills=1-2`);
  assert.equal(resp.status, 200, resp.text);
  assert.equal(resp.disposition, 'attachment; filename="spillwatch-run31-spills1-2.json"');
  const file = join(dir, 'bundle.json');
  writeFileSync(file, resp.text);
  const script = `import { parse } from 'jsroot'; import { readFileSync } from 'node:fs';
    const l = parse(readFileSync(${JSON.stringify(file)}, 'utf8'));
    console.log(JSON.stringify({ t: l._typename, name: l.name, n: l.arr.length, opt: l.opt.length,
      items: l.arr.map(h => [h._typename, h.fName, h.fEntries, h.fArray.length, h.fArray.reduce((a, b) => a + b, 0)]) }));`;
  const { stdout } = await node(process.execPath, ['--input-type=module', '-e', script], { cwd: here, timeout: 60000 });
  const l = JSON.parse(stdout);
  assert.equal(l.t, 'TList');
  assert.equal(l.name, 'spillwatch-run31-spills1-2');
  assert.equal(l.n, defs.length);
  assert.equal(l.opt, defs.length);
  assert.deepEqual(l.items.map(i => i[1]), defs);
  for (const [type, name, entries, ncells, sum] of l.items) {
    const own = JSON.parse((await get(`${base}/histograms/${name}?run=31&spills=1-2`)).text);
    assert.equal(type, own.y ? 'TH2D' : 'TH1D', name);
    assert.equal(entries, own.entries, name);
    assert.equal(ncells, (own.x.bins + 2) * (own.y ? own.y.bins + 2 : 1), name);
    assert.equal(sum, own.entries, `${name}: every fill is in a cell`);
  }
  // the live bundle too: every histogram of one spill (the last closed one, spill 5)
  const liveResp = await get(`${base}/histograms?format=root`);
  assert.equal(liveResp.disposition, 'attachment; filename="spillwatch-live-run31-spill5.json"');
  const live = JSON.parse(liveResp.text);
  assert.equal(live._typename, 'TList');
  assert.equal(live.name, 'spillwatch-live-run31-spill5');
  assert.deepEqual(live.arr.map(h => h.fName), defs);
  const spill5 = JSON.parse((await get(`${base}/histograms?format=root&run=31&spill=5`)).text);
  assert.deepEqual(live.arr.map(h => h.fEntries), spill5.arr.map(h => h.fEntries));
});

test('bad format and stray scope parameters are refused', async () => {
  for (const url of [`${base}/histograms/p_in?run=31&format=xml`, `${base}/histograms?format=csv`]) {
    const r = await get(url);
    assert.equal(r.status, 400, url);
    assert.match(JSON.parse(r.text).error, /query parameter "format": json or root/);
  }
  const r = await get(`${base}/histograms?run=31`);
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.text).error, /"run".*format=root/);
  assert.equal((await get(`${base}/histograms?format=json`)).status, 200);
  assert.equal((await get(`${base}/histograms/p_in?run=31&format=json`)).status, 200);
  const gone = await get(`${base}/histograms/p_in?run=99&format=root`);
  assert.equal(gone.status, 404);
});
