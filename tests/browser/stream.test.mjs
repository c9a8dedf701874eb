// Browser test of the live stream when reads need a token (auth.read_requires_token, issue 14): an
// EventSource cannot send Authorization, so the overview opens the stream with a single-use ticket
// bought with the token the shifter typed in. A spill posted after the page loaded must reach the
// page over the stream (not only by the next poll); after a server restart the page opens a new
// stream with a fresh ticket and the id of the last event it saw, and follows it again. The token
// itself never appears in a URL.
//
// Env: as overview.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setup, sim, startServer, watch } from './common.mjs';

const SHIFT = 'shift-token-0123456789abcdef';
const DAQ = 'daq-token-0123456789abcdef';
const AUTH = {
  auth: {
    tokens: [{ name: 'shift', token: SHIFT, roles: ['shifter'] }, { name: 'daq', token: DAQ, roles: ['ingest', 'read'] }],
    read_requires_token: true,
  },
};

test('with read_requires_token the overview follows the live stream once the token is entered', async (t) => {
  const { dir, server, browser } = await setup(t, AUTH);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  // The REST calls before the token is typed in are refused (401) and logged by the browser.
  const problems = watch(page, ['status of 401']);
  const prompts = [];
  page.on('dialog', d => { prompts.push(d.message()); d.accept(SHIFT); });
  const urls = [];
  page.on('request', r => urls.push(r.url()));
  const streams = () => urls.filter(u => new URL(u).pathname === '/api/v1/stream');

  await page.goto(server.url + '/');
  await page.waitForFunction(() => Number(document.body.dataset.updates || 0) >= 1, null, { timeout: 15000 });
  assert.ok(prompts.length >= 1, 'the page asked for the token');
  await page.waitForFunction(() => document.body.dataset.stream === 'open', null, { timeout: 15000 });
  assert.equal(await page.textContent('#run'), '—', 'empty database: no run yet');

  // A spill posted after the page loaded comes over the stream: the tile is filled by the stream's
  // handler (data-source "stream"), and the spill event is counted.
  await page.evaluate(() => {
    window.tileSources = [];
    new MutationObserver(() => window.tileSources.push(document.getElementById('last-flag-tile').dataset.source))
      .observe(document.getElementById('last-flag-tile'), { attributes: true, attributeFilter: ['data-source'] });
  });
  await sim(server.url, '--token', DAQ, '--run', '7', '--spills', '2', '--scale', '0.1');
  await page.waitForFunction(() => Number(document.body.dataset.spillEvents || 0) === 2, null, { timeout: 15000 });
  assert.ok((await page.evaluate(() => window.tileSources)).includes('stream'));
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '2', null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('run').textContent === '7', null, { timeout: 15000 });

  // The stream was opened with a ticket, never with the token; the log names the token, and holds
  // neither the token nor a ticket.
  const first = new URL(streams().at(-1));
  assert.match(first.searchParams.get('ticket'), /^[0-9a-f]{32}$/);
  let log = readFileSync(server.log, 'utf8');
  assert.match(log, /stream opened with a ticket of token "shift"/);
  assert.ok(!log.includes(first.searchParams.get('ticket')), 'no ticket in the log');

  // A restart ends the stream: the page opens a new one with a fresh ticket and the last event's id
  // (the new server answers it with a reset, its ids being of another run), and follows it.
  const lastId = await page.evaluate(() => document.body.dataset.streamLastId);
  assert.match(lastId, /^\d+-\d+$/);
  // Until now, only the REST calls before the token was typed in were refused; no stream request was.
  assert.deepEqual(problems.filter(p => !/^HTTP 401: .*\/api\/v1\/(?!stream)/.test(p)), []);
  const port = new URL(server.url).port;
  const opened = streams().length;
  server.proc.kill('SIGTERM');
  await new Promise(r => server.proc.once('exit', r));
  await page.waitForFunction(() => document.body.dataset.stream !== 'open', null, { timeout: 15000 });
  const again = await startServer(dir, AUTH, '127.0.0.1:' + port);
  server.proc = again.proc; // setup's clean-up stops this one
  await page.waitForFunction(() => document.body.dataset.stream === 'open', null, { timeout: 30000 });
  const resets = await page.evaluate(() => Number(document.body.dataset.resetEvents || 0));
  const reopened = streams().slice(opened).map(u => new URL(u));
  assert.ok(reopened.length >= 1);
  const last = reopened.at(-1);
  assert.match(last.searchParams.get('ticket'), /^[0-9a-f]{32}$/);
  assert.notEqual(last.searchParams.get('ticket'), first.searchParams.get('ticket'));
  assert.equal(last.searchParams.get('last_event_id'), lastId, last.href);
  assert.equal(resets, 1, 'the new server cannot resume the old run\'s id: one reset');
  problems.length = 0; // the polls and the stream while the server was down failed, as they should

  await sim(server.url, '--token', DAQ, '--run', '7', '--first-spill', '3', '--spills', '1', '--scale', '0.1', '--seed', '5');
  await page.waitForFunction(() => Number(document.body.dataset.spillEvents || 0) === 3, null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('last-spill').textContent === '3', null, { timeout: 15000 });
  log = readFileSync(again.log, 'utf8');
  assert.match(log, /stream opened with a ticket of token "shift"/);

  for (const u of urls) assert.ok(!u.includes(SHIFT), 'the token is never in a URL: ' + u);
  assert.deepEqual(problems, []);
});
