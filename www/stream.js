// stream.js — the live push: one EventSource on GET /api/v1/stream (docs/api.md). A `reset` event
// (the server restarted, or the gap is too old) makes every page reload its data. Pages still poll
// slowly as a safety net and for staleness; the stream makes a closed spill or an alarm transition
// appear at once instead of at the next poll.
//
// Reads open (GET /api/v1/health says read_requires_token false): the browser reconnects by itself
// and sends Last-Event-ID, so the server replays what was missed. Reads need a token: an EventSource
// cannot send Authorization, and the token must not go into the URL, so each stream opens with a
// single-use ticket (POST /api/v1/stream/ticket with the token lib.js keeps) and, since a new
// EventSource sends no Last-Event-ID, ?last_event_id= of the last event seen. Such a stream is
// closed on any error and opened again here with a fresh ticket, with backoff.
import { token } from '/lib.js';

const handlers = { spill: [], alarm: [], live: [], reset: [] };
let started = false;
let lastId = ''; // id of the last event seen, for the streams opened here
let failures = 0; // reconnects in a row without an open stream: the backoff
const TOKEN_WAIT_MS = 1000; // reads need a token and the page has none yet: look again this often

export function on(event, fn) {
  handlers[event].push(fn);
  if (!started) {
    started = true;
    connect();
  }
}

function dispatch(name, ev) {
  if (ev.lastEventId) document.body.dataset.streamLastId = lastId = ev.lastEventId;
  let data = null;
  try { data = ev.data ? JSON.parse(ev.data) : null; } catch (e) { return; }
  document.body.dataset[name + 'Events'] = String(Number(document.body.dataset[name + 'Events'] || 0) + 1);
  for (const fn of handlers[name]) fn(data);
}

function state(s) {
  document.body.dataset.stream = s;
}

// 1 s, 2 s, 4 s ... 30 s, each ±25 % so that many pages do not come back at the same moment.
function retry() {
  const ms = Math.min(30000, 1000 * 2 ** failures) * (0.75 + Math.random() / 2);
  failures++;
  setTimeout(connect, ms);
}

// true when reads need a token (then the stream needs a ticket), false when not, null when unknown.
async function readsNeedToken() {
  try {
    const resp = await fetch('/api/v1/health', { cache: 'no-store' });
    const d = await resp.json();
    return typeof d.read_requires_token === 'boolean' ? d.read_requires_token : false;
  } catch (e) {
    return null;
  }
}

// A ticket for one stream, or null (no answer, or the token was refused: lib.js asks for another
// at the page's next refused request).
async function ticket() {
  try {
    const resp = await fetch('/api/v1/stream/ticket', {
      method: 'POST', cache: 'no-store', headers: { Authorization: 'Bearer ' + token() } });
    if (!resp.ok) return null;
    return (await resp.json()).ticket || null;
  } catch (e) {
    return null;
  }
}

async function connect() {
  const needTicket = await readsNeedToken();
  if (needTicket === null) {
    state('closed');
    return retry();
  }
  const query = new URLSearchParams();
  if (needTicket) {
    if (!token()) { // lib.js asks the shifter for one at the page's first refused request
      state('waiting for a token');
      const wait = () => (token() ? connect() : setTimeout(wait, TOKEN_WAIT_MS));
      return setTimeout(wait, TOKEN_WAIT_MS);
    }
    const t = await ticket();
    if (!t) {
      state('closed');
      return retry();
    }
    query.set('ticket', t);
  }
  if (lastId) query.set('last_event_id', lastId);
  const q = query.toString();
  const source = new EventSource('/api/v1/stream' + (q ? '?' + q : ''));
  for (const name of Object.keys(handlers)) source.addEventListener(name, ev => dispatch(name, ev));
  source.addEventListener('open', () => {
    failures = 0;
    state('open');
  });
  source.addEventListener('error', () => {
    // Reads open and CONNECTING: the browser retries by itself, with Last-Event-ID. A ticket opens
    // one stream only, so a ticket stream is reopened here; and so is a refused one (CLOSED: e.g.
    // 503 at the client cap, or 401 when reads came to need a token).
    if (!needTicket && source.readyState !== EventSource.CLOSED) {
      state('reconnecting');
      return;
    }
    source.close();
    state('closed');
    retry();
  });
}
