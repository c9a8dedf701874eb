// stream.js — the live push: one EventSource on GET /api/v1/stream (docs/api.md). The browser
// reconnects by itself and sends Last-Event-ID, so the server replays what was missed; a `reset`
// event (the server restarted, or the gap is too old) makes every page reload its data. Pages still
// poll slowly as a safety net and for staleness; the stream makes a closed spill or an alarm
// transition appear at once instead of at the next poll.
const handlers = { spill: [], alarm: [], live: [], reset: [] };
let source = null;

export function on(event, fn) {
  handlers[event].push(fn);
  if (!source) connect();
}

function dispatch(name, ev) {
  let data = null;
  try { data = ev.data ? JSON.parse(ev.data) : null; } catch (e) { return; }
  document.body.dataset[name + 'Events'] = String(Number(document.body.dataset[name + 'Events'] || 0) + 1);
  for (const fn of handlers[name]) fn(data);
}

function connect() {
  source = new EventSource('/api/v1/stream');
  for (const name of Object.keys(handlers)) source.addEventListener(name, ev => dispatch(name, ev));
  source.addEventListener('open', () => { document.body.dataset.stream = 'open'; });
  source.addEventListener('error', () => {
    // CONNECTING: the browser retries by itself; CLOSED (refused, e.g. 503 at the client cap): retry later.
    document.body.dataset.stream = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting';
    if (source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 5000);
    }
  });
}
