// Helpers of the run page and shift summary tests: the simulator's records sent by the test itself
// (a run without its run_end, the run_end later), and wall times written independently of lib.js.
import { env, run } from './common.mjs';

// The simulator's NDJSON records of a run (sim --out -), one string per line.
export async function simRecords(...args) {
  const { stdout } = await run(env('SW_COLLECT'), ['sim', '--out', '-', '--quiet', ...args],
    { timeout: 120000, maxBuffer: 1 << 28 });
  return stdout.split('\n').filter(Boolean);
}

// POSTs records to the server's ingest, one batch per spill (a batch ends after a spill_end).
export async function ingest(url, lines) {
  let batch = [];
  const send = async () => {
    if (!batch.length) return;
    const resp = await fetch(url + '/api/v1/ingest', { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' },
      body: batch.join('\n') + '\n' });
    if (!resp.ok) throw new Error(`ingest: HTTP ${resp.status} ${await resp.text()}`);
    batch = [];
  };
  for (const line of lines) {
    batch.push(line);
    if (line.includes('"type":"spill_end"')) await send();
  }
  await send();
}

// "2026-12-02 18:14:07" for Unix seconds in zone (Intl, not lib.js).
export function wallTime(unix, zone) {
  const o = {};
  for (const p of new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(unix * 1000))) o[p.type] = p.value;
  return `${o.year}-${o.month}-${o.day} ${o.hour}:${o.minute}:${o.second}`;
}

export const getJson = async (url) => {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
};

// watch()'s problems without the requests a navigation cut off: leaving a page (a click into the
// explorer, page.goto) aborts the fetches its polls had in flight, which is no fault of either page.
export const withoutAborted = (problems) => problems.filter(p => !/^request failed: .* net::ERR_ABORTED$/.test(p));
